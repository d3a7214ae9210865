import { writeFileSync } from 'node:fs';
import { formatEvidenceBundle, parseVerifierKey, verifyEvidenceBundle } from '@provenant/ledger';
import type { EvidenceBundle } from '@provenant/ledger';
import { parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import type { CommandContext } from '../main.js';
import { clean } from './explain.js';

export const evidenceHelp = `provenant evidence RECORD_ID [-o FILE] [--server URL]

Writes the evidence bundle of one action (provenant.evidence/v1, JSON): every record of its
chain of responsibility with its inclusion proof, also in C2SP tlog-proof@v1 form, the signed
checkpoint they prove against, and the narrative and checks the records give. Anyone holding the
log's verifier key checks it offline: provenant verify --bundle FILE --key KEY.
  -o, --output FILE   where to write it (default: standard output)`;

export async function evidence(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    server: { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw usageError('evidence needs one record id.');
  const base = serverUrl(values.server, ctx.env);
  const bundle = (await (
    await httpGet(`${base}/v1/events/${encodeURIComponent(id)}/evidence`)
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

/** `provenant verify --bundle FILE --key KEY`: exit 0 only when authentic and every check passes. */
export function verifyBundle(
  text: string,
  key: string,
  json: boolean,
  ctx: CommandContext,
): number {
  let verifier;
  try {
    verifier = parseVerifierKey(key);
  } catch (e) {
    throw usageError(`The verifier key is not valid: ${(e as Error).message}`);
  }
  const v = verifyEvidenceBundle(text, verifier, key);
  const chainOk = v.checks.length > 0 && v.checks.every((c) => c.ok);
  const ok = v.authentic && chainOk;
  if (json) {
    ctx.out(
      `${JSON.stringify({ ok, authentic: v.authentic, failures: v.failures, checks: v.checks, narrative: v.narrative }, null, 2)}\n`,
    );
    return ok ? EXIT.ok : EXIT.verificationFailed;
  }
  for (const f of v.failures) ctx.err(`FAIL ${clean(f.where)}: ${f.code}: ${clean(f.message)}\n`);
  if (v.authentic) {
    ctx.out(
      `Bundle authentic: ${v.checks.filter((c) => c.id.startsWith('included:')).length} records proven against checkpoint ${v.checkpoint?.size} of ${verifier.name}.\n\n`,
    );
    ctx.out(`${v.narrative.map(clean).join(';\n')}.\n\n`);
    for (const c of v.checks) ctx.out(`${c.ok ? '✓' : '✗'} ${clean(c.id)}: ${clean(c.detail)}\n`);
    if (!chainOk) ctx.out(`\nThe chain fails ${v.checks.filter((c) => !c.ok).length} check(s).\n`);
  }
  return ok ? EXIT.ok : EXIT.verificationFailed;
}
