/** `provenant verify --help`. */
export const verifyHelp = `provenant verify (--data DIR | --postgres URL | --server URL [--token T] | --bundle FILE) [--key KEY | --key-file FILE] [--witness KEY... [--witness-policy K]] [--json] [--quiet]

Checks a whole log without trusting the server: the checkpoint signature, every leaf hash
recomputed from the stored records, the root, and consistency with the last checkpoint this
machine saw of the same log (kept in $PROVENANT_HOME/known, default ~/.provenant/known).
  --data DIR        a ledger folder, read offline and read-only
  --postgres URL    a PostgreSQL ledger (read-only transactions, no migration), e.g. a
                    restored backup before any collector serves it; needs --key
  --server URL      a running collector (read through its tlog-tiles routes)
  --bundle FILE     an evidence bundle (provenant evidence): checked fully offline — the
                    checkpoint signature, every record's leaf, every inclusion proof and
                    tlog-proof, and the narrative's joins; exit 1 names what failed
  --key KEY         the log's verifier key (note form name+id+key); required with --server
  --key-file FILE   read the verifier key from a file
  --known-dir DIR   where seen checkpoints are kept
  --witness KEY     a witness verifier key (cosignature/v1) whose cosignature the checkpoint
                    must carry; repeat for several. The checkpoint is the one the collector
                    publishes with its cosignatures (GET /v1/log/checkpoint, or the file
                    cosigned-checkpoint with --data); the log is checked up to its size.
                    Not with --bundle: a bundle carries no cosignatures
  --witness-policy K  how many of the --witness keys must have cosigned (default all)
  --json            print the result as JSON
Exit codes: 0 verified, 1 verification failed, 2 usage error, 3 cannot read the log.`;
