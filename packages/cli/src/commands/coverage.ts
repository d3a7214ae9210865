import { ACTION_CLASSES } from '@provenant/core/vocabulary';
import { writeFileSync } from 'node:fs';
import type { CoverageReport, RecordRef } from '@provenant/server';
import { parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import type { CommandContext } from '../main.js';
import { clean } from './explain.js';

const LEVELS = ['verified', 'pooled', 'asserted', 'unattributed'] as const;
const CLASSES = ACTION_CLASSES;
const COLORS: Record<(typeof LEVELS)[number], string> = {
  verified: '#2e7d32',
  pooled: '#f9a825',
  asserted: '#ef6c00',
  unattributed: '#c62828',
};

const pct = (share: number | null) => (share === null ? 'n/a' : `${(share * 100).toFixed(1)}%`);

export async function coverage(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    html: { type: 'string' },
  });
  const base = serverUrl(values.server, ctx.env);
  const token = readCredential(base, values.token, values.data, ctx.env);
  const params = new URLSearchParams();
  if (values.from !== undefined) params.set('from', values.from);
  if (values.to !== undefined) params.set('to', values.to);
  const query = params.size > 0 ? `?${params}` : '';
  const report = (await (
    await httpGet(`${base}/v1/reports/coverage${query}`, token)
  ).json()) as CoverageReport;
  if (values.html !== undefined) {
    try {
      writeFileSync(values.html, coverageHtml(report, base));
    } catch (e) {
      throw new CliError(
        'unwritable',
        `Cannot write ${values.html}: ${(e as Error).message}`,
        EXIT.unavailable,
      );
    }
    ctx.err(`wrote ${values.html}\n`);
  }
  ctx.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : coverageText(report));
  return EXIT.ok;
}

const refLine = (r: RecordRef) =>
  clean(
    `  ${r.time}  ${r.level.padEnd(12)} ${r.action ?? r.type} ${r.resource ?? ''}  ${r.actor ?? '(no actor)'}  ${r.id}`,
  );

export function coverageText(r: CoverageReport): string {
  const out: string[] = [];
  out.push(
    `Coverage ${r.from ?? 'beginning'} – ${r.to ?? 'now'}: ${r.records} records, ${r.actions} actions`,
    '',
    `${'class'.padEnd(14)}${LEVELS.map((l) => l.padStart(13)).join('')}${'total'.padStart(8)}`,
  );
  for (const c of CLASSES) {
    const row = r.by_class[c];
    out.push(
      `${c.padEnd(14)}${LEVELS.map((l) => String(row[l]).padStart(13)).join('')}${String(row.total).padStart(8)}`,
    );
  }
  const p = r.privileged;
  out.push(
    '',
    `Privileged actions: ${p.total}; verified ${p.verified}, with a decision ${p.with_decision}, ` +
      `both ${p.verified_with_decision} (${pct(p.share)})`,
    '',
    `Pooled service accounts: ${r.pooled_accounts.length}`,
  );
  for (const a of r.pooled_accounts) {
    out.push(
      clean(
        `  ${a.account}: ${a.records} records, ${a.instances} claimed instances, ${a.tasks} tasks${a.capped ? ' (capped)' : ''}`,
      ),
    );
  }
  out.push('', `Asserted or unattributed privileged actions: ${r.weak_privileged.count}`);
  out.push(...r.weak_privileged.items.map(refLine));
  const l = r.credential_lifetimes;
  out.push(
    '',
    `Credentials issued: ${l.count}; longest ${l.max_sec ?? 0}s; ≤5m ${l.buckets.le_5m}, ≤15m ${l.buckets.le_15m}, ≤1h ${l.buckets.le_1h}, >1h ${l.buckets.over_1h}`,
  );
  for (const c of l.over_1h.items)
    out.push(`${refLine(c)}  FLAG ${c.lifetime_sec}s jti ${clean(c.jti)}`);
  out.push('', `Actions without a decision: ${r.without_decision.count}`);
  out.push(...r.without_decision.items.map(refLine));
  // A collector older than the AIMS fields answers no `remediations`.
  const m = (r as Partial<CoverageReport>).remediations;
  if (m) {
    const causes = Object.entries(m.by_cause)
      .map(([cause, n]) => `${cause} ${n}`)
      .join(', ');
    out.push('', `Remediations: ${m.count}${m.capped ? ' (capped)' : ''}; ${causes}`);
    for (const i of m.items) {
      out.push(`${refLine(i)}  ${i.cause} of ${clean(i.remediates.map((t) => t.id).join(', '))}`);
    }
  }
  out.push('', 'Frameworks each measure evidences:');
  for (const [measure, refs] of Object.entries(r.frameworks)) {
    out.push(`  ${measure}: ${refs.join('; ')}`);
  }
  if ([r.weak_privileged, l.over_1h, r.without_decision].some((x) => x.count > x.items.length)) {
    out.push('', `(lists show at most ${r.list_limit} records each)`);
  }
  return `${out.join('\n')}\n`;
}

/** The report's remediations (AIMS) as a section of the HTML report; none from an older collector. */
function remediationsHtml(r: CoverageReport): string {
  const m = (r as Partial<CoverageReport>).remediations;
  if (!m) return '';
  const causes = Object.entries(m.by_cause)
    .map(([cause, n]) => `${esc(cause)} ${n}`)
    .join(', ');
  const rows = m.items
    .map(
      (i) =>
        `<tr><td>${esc(i.time)}</td><td>${esc(i.type)}</td><td>${esc(i.cause)}</td><td>${esc(i.remediates.map((t) => t.id).join(', '))}</td></tr>`,
    )
    .join('');
  return `<h2>Remediations (${m.count}${m.capped ? '+' : ''})</h2>
<p>${causes}</p>
${rows === '' ? '<p>None.</p>' : `<table><tr><th>time</th><th>record</th><th>cause</th><th>remediates</th></tr>${rows}</table>`}`;
}

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** A horizontal stacked bar per row: one segment per level, widths by count. */
function stackedBars(rows: { label: string; counts: Record<string, number> }[]): string {
  const width = 520;
  const max = Math.max(1, ...rows.map((r) => Object.values(r.counts).reduce((a, b) => a + b, 0)));
  const h = 26;
  let y = 0;
  const parts: string[] = [];
  for (const row of rows) {
    let x = 110;
    parts.push(`<text x="0" y="${y + 17}">${esc(row.label)}</text>`);
    for (const level of LEVELS) {
      const n = row.counts[level] ?? 0;
      if (n === 0) continue;
      const w = (n / max) * width;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${h - 8}" fill="${COLORS[level]}"><title>${level}: ${n}</title></rect>`,
      );
      x += w;
    }
    parts.push(
      `<text x="${(x + 6).toFixed(1)}" y="${y + 17}">${Object.values(row.counts).reduce((a, b) => a + b, 0)}</text>`,
    );
    y += h;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 180}" height="${y}" role="img" font-size="13" font-family="sans-serif">${parts.join('')}</svg>`;
}

/**
 * A self-contained HTML report: inline CSS and SVG only. Record ids link to their provenance,
 * and every count to the collector's list of the records behind it (the report's `links`).
 */
export function coverageHtml(r: CoverageReport, server: string): string {
  const link = (id: string) =>
    `<a href="${esc(`${server}/v1/events/${encodeURIComponent(id)}/provenance`)}">${esc(id)}</a>`;
  const num = (measure: string, n: number, href?: string) => {
    const to = href ?? r.links?.[measure];
    return to === undefined
      ? String(n)
      : `<a href="${esc(`${server}${to}`)}" data-measure="${esc(measure)}">${n}</a>`;
  };
  const byClass = `<table><tr><th>class</th>${LEVELS.map((lv) => `<th>${lv}</th>`).join('')}<th>total</th></tr>${CLASSES.map(
    (c) =>
      `<tr><td>${c}</td>${LEVELS.map((lv) => `<td>${num(`by_class.${c}.${lv}`, r.by_class[c][lv])}</td>`).join('')}<td>${num(`by_class.${c}.total`, r.by_class[c].total)}</td></tr>`,
  ).join('')}</table>`;
  const table = (items: readonly RecordRef[], extra?: (i: number) => string) =>
    items.length === 0
      ? '<p>None.</p>'
      : `<table><tr><th>time</th><th>level</th><th>action</th><th>resource</th><th>actor</th><th>record</th>${extra ? '<th></th>' : ''}</tr>${items
          .map(
            (x, i) =>
              `<tr><td>${esc(x.time)}</td><td>${esc(x.level)}</td><td>${esc(x.action ?? x.type)}</td><td>${esc(x.resource ?? '')}</td><td>${esc(x.actor ?? '')}</td><td>${link(x.id)}</td>${extra ? `<td>${extra(i)}</td>` : ''}</tr>`,
          )
          .join('')}</table>`;
  const l = r.credential_lifetimes;
  const p = r.privileged;
  const legend = LEVELS.map(
    (lv) =>
      `<span><svg width="12" height="12"><rect width="12" height="12" fill="${COLORS[lv]}"/></svg> ${lv}</span>`,
  ).join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Provenant coverage</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}h2{margin-top:1.6em}</style>
</head><body>
<h1>Attribution coverage</h1>
<p>${esc(r.from ?? 'beginning')} – ${esc(r.to ?? 'now')}: ${num('records', r.records)} records, ${num('actions', r.actions)} actions.</p>
<h2>Actions by attribution level per class</h2>
<p>${legend}</p>
${stackedBars(CLASSES.map((c) => ({ label: c, counts: Object.fromEntries(LEVELS.map((lv) => [lv, r.by_class[c][lv]])) })))}
${byClass}
<h2>Privileged actions</h2>
<p>${num('privileged.total', p.total)} privileged actions; ${num('privileged.verified', p.verified)} verified, ${num('privileged.with_decision', p.with_decision)} with a recorded decision, <strong>${num('privileged.verified_with_decision', p.verified_with_decision)} both (${pct(p.share)})</strong>.</p>
<h2>Pooled service accounts</h2>
${r.pooled_accounts.length === 0 ? '<p>None.</p>' : `<table><tr><th>account</th><th>records</th><th>claimed instances</th><th>tasks</th></tr>${r.pooled_accounts.map((a) => `<tr><td>${esc(a.account)}</td><td>${num('pooled_accounts', a.records, a.href)}</td><td>${num('pooled_accounts', a.instances, a.href)}${a.capped ? '+' : ''}</td><td>${num('pooled_accounts', a.tasks, a.href)}</td></tr>`).join('')}</table>`}
<h2>Asserted or unattributed privileged actions (${num('weak_privileged', r.weak_privileged.count)})</h2>
${table(r.weak_privileged.items)}
<h2>Credential lifetimes (${num('credential_lifetimes', l.count)} issued)</h2>
<p>≤ 5 min ${num('credential_lifetimes.le_5m', l.buckets.le_5m)}, ≤ 15 min ${num('credential_lifetimes.le_15m', l.buckets.le_15m)}, ≤ 1 hour ${num('credential_lifetimes.le_1h', l.buckets.le_1h)}, &gt; 1 hour ${num('credential_lifetimes.over_1h', l.buckets.over_1h)}</p>
${stackedBars([
  { label: '≤ 5 min', counts: { verified: l.buckets.le_5m } },
  { label: '≤ 15 min', counts: { verified: l.buckets.le_15m } },
  { label: '≤ 1 hour', counts: { pooled: l.buckets.le_1h } },
  { label: '> 1 hour', counts: { unattributed: l.buckets.over_1h } },
])}
${table(l.over_1h.items, (i) => `${l.over_1h.items[i]!.lifetime_sec}s`)}
<h2>Actions without a decision (${num('without_decision', r.without_decision.count)})</h2>
${table(r.without_decision.items)}
${remediationsHtml(r)}
<h2>Frameworks</h2>
<table><tr><th>measure</th><th>evidences</th></tr>${Object.entries(r.frameworks)
    .map(([m, refs]) => `<tr><td>${esc(m)}</td><td>${refs.map(esc).join('<br>')}</td></tr>`)
    .join('')}</table>
<p><small>Lists show at most ${r.list_limit} records each; record ids link to their provenance, and each count to the collector's list of the records behind it.</small></p>
</body></html>
`;
}
