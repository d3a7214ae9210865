import { parseFlags } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import { readTextFile } from '../lib/files.js';
import type { CommandContext } from '../main.js';

/**
 * `provenant verify`: the flags, then the bundle check or the log check, each imported only when
 * it runs, so checking a bundle loads no storage driver.
 */
export async function verify(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    data: { type: 'string' },
    postgres: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    key: { type: 'string' },
    'key-file': { type: 'string' },
    'known-dir': { type: 'string' },
    bundle: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    witness: { type: 'string', multiple: true },
    'witness-policy': { type: 'string' },
  });
  if (values.key !== undefined && values['key-file'] !== undefined) {
    throw usageError('Give --key or --key-file, not both.');
  }
  if (values.bundle === undefined) {
    const { verifyLogCommand } = await import('./verify-log.js');
    return verifyLogCommand(values, ctx);
  }
  if (values.data !== undefined || values.server !== undefined || values.postgres !== undefined) {
    throw usageError('--bundle is checked offline: give it without --data or --server.');
  }
  if (values.witness !== undefined || values['witness-policy'] !== undefined) {
    // A bundle carries no cosignatures: accepting --witness would check nothing it names.
    throw usageError('--witness applies to a log (--data or --server), not to --bundle.');
  }
  const key = values.key ?? (values['key-file'] ? readTextFile(values['key-file']) : undefined);
  if (key === undefined) {
    throw usageError('--bundle needs --key (the verifier key you trust, from GET /v1/log/key).');
  }
  const text = readTextFile(values.bundle);
  const { verifyBundle } = await import('./verify-bundle.js');
  return verifyBundle(text, key.trim(), values.json === true, ctx);
}
