/** `provenant explain --help`. */
export const explainHelp = `provenant explain RECORD_ID [--server URL [--token T]] [--json]

Shows the chain of responsibility of one action: the initiator's first credential, each
delegation grant, the policy decision, the action and its outcome, and security alerts about it,
joined from the issuer's, the decision point's and the executor's records; then every check with
its result (✓/✗): credential window, each hop granted by the issuer, scopes narrowing, not
revoked before the action, decision matching actor/action/resource, outcome recorded, and every
record included under the latest signed checkpoint.
  --json   print the collector's whole answer (with the evidence bundle)
Exit 0 when every check passes, 1 when one fails, 3 when the server cannot be read.`;
