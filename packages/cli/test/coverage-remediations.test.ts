import type { CoverageReport } from '@provenant/server';
import { describe, expect, it } from 'vitest';
import { coverageHtml, coverageText } from '../src/commands/coverage.js';

const levels = { verified: 0, pooled: 0, asserted: 0, unattributed: 0, total: 0 };
const base = {
  from: null,
  to: null,
  records: 4,
  actions: 0,
  by_class: { privileged: levels, irreversible: levels, external: levels, other: levels },
  privileged: { total: 0, verified: 0, with_decision: 0, verified_with_decision: 0, share: null },
  pooled_accounts: [],
  weak_privileged: { count: 0, items: [] },
  credential_lifetimes: {
    count: 0,
    max_sec: null,
    buckets: { le_5m: 0, le_15m: 0, le_1h: 0, over_1h: 0 },
    over_1h: { count: 0, items: [] },
  },
  without_decision: { count: 0, items: [] },
  list_limit: 100,
  frameworks: {},
} as unknown as CoverageReport;

const remediations: CoverageReport['remediations'] = {
  count: 1,
  capped: false,
  by_cause: { principal_disabled: 1, credential_revoked: 0, key_retired: 0, policy_changed: 0 },
  items: [
    {
      id: '01a23f63-537a-74bc-b494-abdca72de81f',
      time: '2026-12-04T05:00:00.000Z',
      type: 'principal.disabled',
      level: 'verified',
      actor: 'service:provenant-collector',
      action: 'principals.disable',
      resource: 'user:<bob>',
      cause: 'principal_disabled',
      remediates: [{ kind: 'principal', id: 'user:<bob>' }],
    },
  ],
};

describe('provenant coverage: remediations', () => {
  it('lists the remediations by cause in the text and the HTML report, escaped', () => {
    const report = { ...base, remediations };
    const text = coverageText(report);
    expect(text).toContain(
      'Remediations: 1; principal_disabled 1, credential_revoked 0, key_retired 0, policy_changed 0',
    );
    expect(text).toMatch(/principals\.disable .* principal_disabled of user:<bob>/);
    const html = coverageHtml(report, 'http://127.0.0.1:7410');
    expect(html).toContain('<h2>Remediations (1)</h2>');
    expect(html).toContain('user:&lt;bob&gt;');
    expect(html).not.toContain('user:<bob>');
  });

  it('leaves the section out for a collector that answers no remediations', () => {
    expect(coverageText(base)).not.toContain('Remediations');
    expect(coverageHtml(base, 'http://127.0.0.1:7410')).not.toContain('Remediations');
  });
});
