import { startWitness } from '@provenant/server';
import { intFlag, parseFlags } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import type { CommandContext } from '../main.js';

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

export async function witness(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    data: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    name: { type: 'string' },
    log: { type: 'string', multiple: true },
  });
  const logs = values.log ?? [];
  if (logs.length === 0) throw usageError('Give at least one --log ORIGIN=KEY to witness.');
  const dataDir = values.data ?? ctx.env['PROVENANT_WITNESS_DATA'] ?? 'provenant-witness';
  const port = intFlag(values.port, 'port', 0, 65535) ?? 7420;
  const host = values.host ?? '127.0.0.1';
  let running;
  try {
    running = await startWitness({
      dataDir,
      host,
      port,
      logs,
      ...(values.name === undefined ? {} : { name: values.name }),
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'invalid_verifier_key') throw usageError(`--log: ${(e as Error).message}`);
    throw e;
  }
  ctx.out(
    `Provenant witness listening on ${running.url}\n` +
      `  data: ${dataDir}\n` +
      `  witness: ${running.name}\n` +
      `  verifier key: ${running.verifierKey}\n` +
      `  logs: ${logs.length}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void running.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
