import { startWitness } from '@provenant/server';
import { intFlag, parseFlags } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import type { CommandContext } from '../main.js';

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
