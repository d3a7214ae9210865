import type { ChainCheck } from '@provenant/ledger';
import { parseFlags, serverUrl } from '../lib/args.js';
import { EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import type { CommandContext } from '../main.js';

interface Provenance {
  ok: boolean;
  truncated?: boolean;
  truncated_reason?: string | null;
  narrative: string[];
  checks: ChainCheck[];
  chain: { role: string; id: string; type: string; time: string; leaf_index: number }[];
}

/** Never echo control characters (terminal escapes) from records to a terminal. */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export async function explain(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    json: { type: 'boolean' },
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw usageError('explain needs one record id.');
  const base = serverUrl(values.server, ctx.env);
  const token = readCredential(base, values.token, values.data, ctx.env);
  const res = await httpGet(`${base}/v1/events/${encodeURIComponent(id)}/provenance`, token);
  const text = await res.text();
  const p = JSON.parse(text) as Provenance;
  if (values.json) {
    ctx.out(`${text}\n`);
    return p.ok ? EXIT.ok : EXIT.verificationFailed;
  }
  ctx.out(`${p.narrative.map((l) => clean(l)).join(';\n')}.\n\n`);
  for (const c of p.checks) ctx.out(`${c.ok ? '✓' : '✗'} ${clean(c.id)}: ${clean(c.detail)}\n`);
  const failed = p.checks.filter((c) => !c.ok).length;
  if (p.truncated)
    ctx.out(
      `\n✗ incomplete: the collector's search ${clean(p.truncated_reason ?? 'hit its bound')}; records of the chain may be missing.\n`,
    );
  ctx.out(
    failed === 0
      ? `\nAll ${p.checks.length} checks passed (${p.chain.length} records).\n`
      : `\n${failed} of ${p.checks.length} checks failed.\n`,
  );
  return failed === 0 && !p.truncated ? EXIT.ok : EXIT.verificationFailed;
}
