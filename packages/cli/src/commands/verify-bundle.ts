import { parseVerifierKey, verifyEvidenceBundle } from '@provenant/ledger';
import { EXIT, usageError } from '../lib/errors.js';
import type { CommandContext } from '../main.js';
import { clean } from './explain.js';

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
