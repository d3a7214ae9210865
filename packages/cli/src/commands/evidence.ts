import { writeFileSync } from 'node:fs';
import { formatEvidenceBundle } from '@provenant/ledger';
import type { EvidenceBundle } from '@provenant/ledger';
import { parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import type { CommandContext } from '../main.js';

export async function evidence(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw usageError('evidence needs one record id.');
  const base = serverUrl(values.server, ctx.env);
  const token = readCredential(base, values.token, values.data, ctx.env);
  const bundle = (await (
    await httpGet(`${base}/v1/events/${encodeURIComponent(id)}/evidence`, token)
  ).json()) as EvidenceBundle;
  const text = formatEvidenceBundle(bundle);
  if (values.output === undefined) {
    ctx.out(text);
    return EXIT.ok;
  }
  try {
    writeFileSync(values.output, text, { flag: 'w' });
  } catch (e) {
    throw new CliError(
      'unwritable',
      `Cannot write ${values.output}: ${(e as Error).message}`,
      EXIT.unavailable,
    );
  }
  ctx.err(
    `wrote ${values.output}: ${bundle.entries.length} records proven against the checkpoint of ${bundle.checkpoint.split('\n')[1] ?? '?'} entries\n`,
  );
  return EXIT.ok;
}
