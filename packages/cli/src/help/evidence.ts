/** `provenant evidence --help`. */
export const evidenceHelp = `provenant evidence RECORD_ID [-o FILE] [--server URL [--token T]]

Writes the evidence bundle of one action (provenant.evidence/v1, JSON): every record of its
chain of responsibility with its inclusion proof, also in C2SP tlog-proof@v1 form, the signed
checkpoint they prove against, and the narrative and checks the records give. Anyone holding the
log's verifier key checks it offline: provenant verify --bundle FILE --key KEY.
  -o, --output FILE   where to write it (default: standard output)`;
