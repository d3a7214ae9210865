/** `provenant digest-check --help`. */
export const digestCheckHelp = `provenant digest-check (--data DIR | --postgres URL --key-file FILE) RECORD_ID VALUE [--string] [--json]

Tests a value you know against what a record keeps of it, without the log ever storing the
value: its action.args_digest and outcome.result_digest (HMAC-SHA256 under the deployment key,
"hmac-sha256:<key id>:<hex>", when an audit rule redacts or digests; plain "sha256:" otherwise)
and every redacted argument ("hmac-sha256:<base64url>"). The key is DIR/audit-hmac.key unless
--key-file names another copy (a PostgreSQL deployment, or an older key).
  VALUE        the value as JSON, e.g. '{"pin":"4711"}' for a call's arguments
  --string     take VALUE as a plain string, not JSON
  --json       print every field tested as JSON
Exit 0 when some field matches, 1 when none does, 2 on a usage error, 3 when the ledger, the
record or the key cannot be read.`;
