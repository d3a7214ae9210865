/** `provenant witness --help`. */
export const witnessHelp = `provenant witness --log ORIGIN=KEY [--log ...] [--data DIR] [--port N] [--host HOST] [--name NAME]

Runs a C2SP tlog-witness: cosigns (tlog-cosignature/v1, Ed25519) a log's checkpoints only when
each extends the last one it cosigned, so a log that is rolled back or forked cannot get a
cosignature. Endpoint: POST <url>/add-checkpoint (GET <url>/key gives its verifier key).
  --log ORIGIN=KEY  a log to witness: its origin and checkpoint verifier key (GET /v1/log/key);
                    a bare KEY uses the key name as origin; repeat for several logs or keys
  --data DIR        witness key and state (env PROVENANT_WITNESS_DATA; default ./provenant-witness);
                    the key is made on first start (0600) and its verifier key printed
  --port N          TCP port (default 7420; 0 picks a free one)
  --host HOST       address to bind (default 127.0.0.1)
  --name NAME       key name of a new witness (default provenant-witness.local/<random>)
Give the collector "serve --witness URL=KEY" with the printed URL and verifier key.`;
