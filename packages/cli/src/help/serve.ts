/** `provenant serve --help`. */
export const serveHelp = `provenant serve [--data DIR] [--postgres URL [--cluster]] [--port N] [--host HOST] [--origin NAME] [--log-level LEVEL]
                [--allowed-hosts NAMES] [--tls-cert FILE --tls-key FILE] [--limit NAME=N]

Starts the collector on the embedded SQLite ledger, or on PostgreSQL with --postgres.
  --data DIR        ledger folder (env PROVENANT_DATA; default ./provenant-data); with
                    --postgres it keeps the keys and the admin token only
  --postgres URL    keep the ledger, registry and policy history in PostgreSQL, e.g.
                    postgres://user:pass@host/db (env PROVENANT_PG_URL; alias --pg); the schema is
                    migrated at start, and a newer schema than this version is refused
  --cluster         one of several collectors on the same --postgres (env PROVENANT_CLUSTER=1):
                    records are acknowledged once queued, with a signed promise of inclusion;
                    one collector, elected through PostgreSQL, sequences and signs checkpoints.
                    Every member needs the same log key, issuer keys and HMAC key in --data,
                    and the same --issuer-url (the address clients reach the cluster at)
  --port N          TCP port (env PROVENANT_PORT; default 7410; 0 picks a free one)
  --host HOST       address to bind (env PROVENANT_HOST; default 127.0.0.1)
  --origin NAME     checkpoint origin for a new log (default provenant.local/<random>)
  --log-level LEVEL fatal|error|warn|info|debug (default info)
  --issuer-url URL  iss of issued credentials (default http://HOST:PORT)
  --dev-login       enable the DEVELOPMENT sign-in (provenant dev-login USER, and the console's
                    sign-in: same origin, rate-limited); never in production
  --dev-login-roles R[,R]  the roles the console's dev sign-in may hand out (default
                    analyst,auditor; among producer, analyst, auditor, admin)
  --anonymous-ingest off|asserted
                    records sent without a credential: refused (off, 401; the default) or kept
                    attributed at most asserted (asserted; the default with --dev-login)
  --oidc-issuer URL the OpenID provider humans sign in with (its issuer identifier)
  --oidc-client-id ID  the collector's client at that provider: enables sign-in for the console
                    (GET /v1/auth/login) and the CLI (provenant login); register the redirect
                    URI <issuer-url>/v1/auth/callback there
  --oidc-client-secret-file FILE  the client's secret (confidential client; omit for a public one)
  --oidc-role VALUE=ROLE[,ROLE]  a provider group (or claim value) and the roles it grants:
                    producer, analyst, auditor, admin; repeat. A user with no mapped role is refused
  --oidc-roles-claim CLAIM  the claim holding groups (default groups; a.b reaches into objects)
  --oidc-user-claim sub|email|preferred_username  names the principal user:<value> (default sub)
  --oidc-scope "S ..."  scopes asked for (default "openid email profile"; add groups if needed)
  --oidc-jwks FILE|URL [--oidc-audience AUD]
                    trust the provider's ID tokens as token-exchange subject tokens with these
                    keys (without it, with --oidc-client-id, the discovered JWKS; audience
                    default: the client id)
  --spiffe-bundle TD=FILE|URL
                    trust the JWT-SVIDs of SPIFFE trust domain TD with the jwt-svid keys of its
                    bundle (JWKS form; a file re-read on change, a URL fetched again every 5
                    minutes): workloads authenticate with them as client assertions and actor
                    tokens; repeat per trust domain
  --spiffe-path TD=PATTERN
                    also accept unregistered SVIDs of TD whose path matches PATTERN (* one
                    segment, a final ** the rest: /agent/*/instance/*); repeat. Without it only
                    SPIFFE ids registered as principals authenticate
  --id-jag-issuer ISS=FILE|URL
                    an enterprise IdP whose ID-JAGs (oauth-id-jag+jwt) sign a human in through the
                    JWT bearer grant (RFC 7523 jwt-bearer at POST /v1/token), with its JWKS file or
                    URL; each grant is accepted once (by jti); repeat for several
  --chain-trust ISS=FILE|URL
                    a trust domain whose JWT authorization grants (identity chaining) this
                    collector accepts through the JWT bearer grant, with its JWKS file or URL
                    (another collector's <issuer-url>/.well-known/jwks.json); repeat
  --chain-audience URL
                    the authorization server (issuer identifier) of another trust domain this
                    collector issues JWT authorization grants for (token exchange with
                    requested_token_type urn:ietf:params:oauth:token-type:jwt); repeat
  --txn-trust-domain TD
                    Transaction Tokens (draft-ietf-oauth-transaction-tokens-10) of trust domain
                    TD: the token endpoint issues them (requested_token_type txn_token), and
                    ingest and decisions take the Txn-Token header, recording its
                    txn (never the token)
  --txn-token-service ISS=FILE|URL
                    also accept the Txn-Tokens of another Txn-Token Service of TD, its keys a
                    JWKS file or URL; repeat
  --resource URL    a protected resource (an MCP proxy's URL, e.g. https://mcp.example/mcp) this
                    collector issues audience-bound credentials for (RFC 8707 resource=); repeat.
                    Such a credential is accepted by that resource (and its token exchange
                    here), never by the collector's own API; any other resource is refused
  --client-metadata-allow-private
                    fetch clients' metadata documents (an MCP client's https client_id) from
                    loopback and private addresses too: tests and labs only (SSRF otherwise)
  --policies DIR    Cedar policy folder (*.cedar + schema.cedarschema + actions.json, the action
                    catalog) for the decision point; validated at start, reloaded on change (an
                    invalid change keeps the old set)
  --audit-rules FILE  audit rules (JSON): which arguments are kept, redacted or digested
  --authzen-pdp URL an external AuthZEN 1.0 PDP decides instead of local Cedar policies (not with
                    --policies): https, or http on loopback; its metadata is read from
                    URL/.well-known/authzen-configuration. Unreachable or malformed: deny
  --authzen-pdp-token-file FILE  the bearer token presented to that PDP (for a Provenant
                    collector as the PDP: its admin token, which makes this collector a trusted PEP)
  --fail-open-low-risk  allow low-risk actions when the decision point fails (default: deny)
  --decision-validity S  seconds a decision backs the records citing it (default 300)
  --witness URL=KEY a witness (provenant witness, or any C2SP tlog-witness) and its verifier key;
                    repeat for several. Checkpoints are sent after commits; GET /v1/log/checkpoint
                    then serves the newest one the policy is met for, with its cosignatures
  --witness-policy K  how many witnesses must cosign (k of n; default all)
  --allowed-hosts NAMES  Host names answered besides the listener's own (loopback names, the
                    bound address, the --issuer-url host), comma-separated: NAME (any port) or
                    NAME:PORT. Any other Host is refused with 403 (DNS rebinding)
  --allowed-origins ORIGINS  browser origins (https://console.example) that may call besides the
                    collector's own; any other Origin is refused with 403
  --tls-cert FILE --tls-key FILE
                    serve HTTPS with this PEM certificate chain and key, with HSTS
  --limit NAME=N    a connection, admission or size limit (repeatable; docs/OPERATIONS.md), e.g.
                    max-bodies-in-flight=16, max-body-bytes-in-flight=8388608,
                    max-bodies-per-client=4, max-connections=1024, headers-timeout-ms=10000,
                    request-timeout-ms=60000, keep-alive-timeout-ms=65000, body-limit=8388608`;
