/** `provenant mcp-proxy --help`. */
export const mcpProxyHelp = `provenant mcp-proxy --identity FILE --collector URL [options] -- COMMAND [ARGS...]
provenant mcp-proxy --listen HOST:PORT --upstream URL --identity FILE --collector URL [options]

Puts Provenant in front of an MCP server, with no change to the client or the server: every
tools/call, resources/read and prompts/get is attributed (initiator, this proxy's agent
identity, chain), decided by the collector's policy decision point, then forwarded or refused
with a JSON-RPC error naming the decision id; intent, decision and outcome are recorded in one
trace. Everything else passes through unchanged.

stdio mode: the MCP client launches this command as if it were the server; the proxy launches
COMMAND (the real server) and relays. stdout carries only the protocol; logs go to stderr.

Streamable HTTP mode (--listen): the proxy serves MCP at http://HOST:PORT/mcp in front of the
--upstream Streamable HTTP server. Each request's Authorization: Bearer credential (a Provenant
credential) names its initiator; without a valid one the answer is 401 with WWW-Authenticate
resource_metadata, and the metadata is served at /.well-known/oauth-protected-resource.

  --identity FILE         this proxy's agent instance identity file ({ principal, jwk })
  --collector URL         the collector (default: $PROVENANT_URL, else http://127.0.0.1:7410)
  --initiator-token T     stdio: the credential of whom the calls are for
                          (default: $PROVENANT_INITIATOR_TOKEN)
  --listen HOST:PORT      HTTP: where to serve MCP (port 0: any free port)
  --upstream URL          HTTP: the upstream server's Streamable HTTP endpoint
  --allowed-hosts NAMES   HTTP: Host names answered besides the proxy's own (loopback names and
                          the --listen address), comma-separated NAME or NAME:PORT; any other
                          Host is answered 403 (DNS rebinding)
  --allowed-origins ORIGINS  HTTP: browser origins (https://app.example) that may call besides
                          the proxy's own; any other Origin is answered 403
  --txn-trust-domain TD   HTTP: verify each request's Txn-Token header (Transaction Tokens,
                          draft-ietf-oauth-transaction-tokens-10) for trust domain TD, signed by
                          the collector (its metadata's issuer and jwks_uri) or a
                          --txn-token-service; one that fails is answered 401 with its code, a
                          verified one goes with the call's decision and records (the collector,
                          given the same --txn-trust-domain, records its txn), never upstream
  --txn-token-service ISS=FILE|URL  HTTP: another Txn-Token Service of TD (its JWK Set)
  --config FILE           JSON mapping tool names to action, resource, class and risk
  --filter-tools          answer tools/list with only the tools policy allows
  --authzen-pdp URL       stdio: also be a COAZ-MCP PEP (AuthZEN, Draft 1) at this AuthZEN 1.0
                          PDP: every request is authorized there first (deny: JSON-RPC -32001,
                          PDP unreachable: -32603), then gated and recorded as usual
  --receipts              put a signed receipt (record id, log, the proxy's signed promise) in
                          each gated call's result _meta["io.provenant/receipt"]
  --spool DIR             durable spool for collector outages (default: memory only)`;
