import {
  formatEvidenceBundle,
  parseTlogProof,
  parseVerifierKey,
  verifyEvidenceBundle,
} from '@provenant/ledger';
import type { EvidenceBundle, LogStorage } from '@provenant/ledger';
import { uuidv7 } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import { coverageReport } from '../src/investigate/coverage.js';
import type { CoverageReport, ProvenanceAnswer, TraceNode } from '../src/index.js';
import { makeApp, postJson, record, asAdmin } from './helpers.js';
import {
  TRACE,
  investigationScenario,
  makeInvestigateApp,
  post,
  researcherAction,
} from './investigate-scenario.js';

/** Index of the n-th (1-based) occurrence of `what`. */
const nth = (text: string, what: string, n: number) => {
  let at = -1;
  for (let i = 0; i < n; i++) at = text.indexOf(what, at + 1);
  return at;
};

const get = async (app: Awaited<ReturnType<typeof makeInvestigateApp>>['app'], url: string) => {
  const res = await app.inject({ headers: asAdmin, url });
  return { status: res.statusCode, body: res.json() };
};

describe('GET /v1/events/{id}/provenance', () => {
  it('joins the issuer, decision point and executor records of an action, every check passing', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const res = await get(app, `/v1/events/${s.actionId}/provenance`);
    expect(res.status).toBe(200);
    const p = res.body as ProvenanceAnswer;
    expect(p.checks.filter((c) => !c.ok)).toEqual([]);
    expect(p.ok).toBe(true);
    expect(p.chain.map((c) => c.role)).toEqual([
      'credential',
      'delegation',
      'delegation',
      'decision',
      'action',
    ]);
    const ids = p.checks.map((c) => c.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'window',
        'hop_granted:1',
        'hop_granted:2',
        'scopes_narrow:1',
        'scopes_narrow:2',
        'not_revoked',
        'decision',
        'decision_matches',
        'outcome',
        `included:${s.actionId}`,
      ]),
    );
    expect(p.checks.filter((c) => c.id.startsWith('included:'))).toHaveLength(5);
    const text = p.narrative.join('\n');
    expect(text).toContain('alice asked planner/19c2 with repo:read repo:write');
    expect(text).toContain('planner/19c2 delegated repo:read to researcher/7f3a');
    expect(text).toMatch(/cedar policy-set sha256:[0-9a-f]{64} allowed it by permit-/);
    expect(text).toMatch(
      /researcher\/7f3a called github\.get_file on repo:acme\/payments at .* → success/,
    );
  });

  it('fails the decision check of an action that cites no decision, and flags a revocation', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const bare = researcherAction();
    expect((await post(app, '/v1/events', s.researcherToken, bare)).status).toBe(200);
    const revoke = await app.inject({
      method: 'POST',
      url: '/v1/token/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token: s.plannerToken }).toString(),
    });
    expect(revoke.statusCode).toBe(200);
    const p = (await get(app, `/v1/events/${bare.id}/provenance`)).body as ProvenanceAnswer;
    expect(p.ok).toBe(false);
    expect(p.checks.find((c) => c.id === 'decision')).toMatchObject({ ok: false });
    // Revoked after the action: shown, but the action was still authorised when it ran.
    expect(p.checks.find((c) => c.id === 'not_revoked')).toMatchObject({ ok: true });
    expect(p.chain.map((c) => c.role)).toContain('revocation');
    expect(p.narrative.join('\n')).toMatch(/revoked at/);
  });

  it('marks an asserted action as unattributed to any credential', async () => {
    const { app } = await makeApp();
    const r = record({ action: { name: 'github.get_file', resource: 'repo:acme/payments' } });
    expect((await postJson(app, r)).statusCode).toBe(200);
    const p = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${String(r['id'])}/provenance` })
    ).json();
    expect(p.ok).toBe(false);
    expect(p.checks.find((c: { id: string }) => c.id === 'credential')).toMatchObject({
      ok: false,
    });
    expect(p.checks.find((c: { id: string }) => c.id === 'attribution').detail).toContain(
      'asserted',
    );
  });

  it('ignores witness records forged by a producer claiming to be the issuer', async () => {
    const { app } = await makeApp();
    const jti = uuidv7();
    const now = Math.floor(Date.now() / 1000);
    const forged = record({
      type: 'credential.issued',
      time: new Date().toISOString(),
      actor: { id: 'service:provenant-issuer', kind: 'service' },
      action: undefined,
      trace: undefined,
      credential: {
        jti,
        iss: 'http://issuer.test',
        iat: now - 5,
        exp: now + 60,
        sub: 'user:alice',
      },
    });
    const act = record({
      time: new Date().toISOString(),
      action: { name: 'github.get_file', resource: 'repo:acme/payments' },
      credential: { jti, iss: 'http://issuer.test', iat: now - 5, exp: now + 60 },
    });
    expect((await postJson(app, [forged, act])).statusCode).toBe(200);
    const p = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${String(act['id'])}/provenance` })
    ).json();
    expect(p.chain.map((c: { role: string }) => c.role)).toEqual(['action']);
    expect(p.checks.find((c: { id: string }) => c.id === 'credential')).toMatchObject({
      ok: false,
    });
  });

  it('answers bad input with stable codes', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    expect((await get(app, '/v1/events/nope/provenance')).body.error.code).toBe(
      'invalid_parameter',
    );
    const missing = await get(app, '/v1/events/0192f3c4-5b6a-7c00-8d3e-4f5a6b7c8d9e/provenance');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
    const decision = await get(app, `/v1/events?type=policy.decision`);
    const witness = await get(app, `/v1/events/${decision.body.events[0].id}/provenance`);
    expect([witness.status, witness.body.error.code]).toEqual([422, 'not_an_action']);
    const extra = await get(app, `/v1/events/${s.actionId}/evidence?x=1`);
    expect([extra.status, extra.body.error.code]).toEqual([400, 'invalid_parameter']);
  });
});

describe('evidence bundles', () => {
  async function bundle() {
    const { app, log } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const res = await get(app, `/v1/events/${s.actionId}/evidence`);
    expect(res.status).toBe(200);
    return { text: formatEvidenceBundle(res.body as EvidenceBundle), key: log.verifierKey };
  }
  const verify = (text: string, key: string) =>
    verifyEvidenceBundle(text, parseVerifierKey(key), key);

  it('verifies offline with only the verifier key, records in tlog-proof form too', async () => {
    const { text, key } = await bundle();
    const v = verify(text, key);
    expect(v.failures).toEqual([]);
    expect(v.authentic).toBe(true);
    expect(v.checks.every((c) => c.ok)).toBe(true);
    const b = JSON.parse(text) as EvidenceBundle;
    expect(b.entries).toHaveLength(5);
    for (const e of b.entries) {
      expect(e.tlog_proof.startsWith('c2sp.org/tlog-proof@v1\nindex ')).toBe(true);
      const t = parseTlogProof(e.tlog_proof);
      expect(t.index).toBe(e.proof.leaf_index);
      expect(t.checkpoint).toBe(b.checkpoint);
    }
  });

  it('fails on one flipped byte in a record, a proof hash, a tlog-proof or the checkpoint', async () => {
    const { text, key } = await bundle();
    const b = JSON.parse(text) as EvidenceBundle;
    const flipAt = (i: number) =>
      text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
    // Inside base64 a bit flip can leave the alphabet ('+' → '*'); change the letter instead, so
    // the hash stays well-formed and only the proof is wrong.
    const otherLetterAt = (i: number) =>
      text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
    const proofHashAt = text.indexOf('"', nth(text, '"hashes": [', 3) + 11) + 5;
    expect(verify(otherLetterAt(proofHashAt), key).failures.map((f) => f.code)).toContain(
      'inclusion_failed',
    );
    const cases: [string, number, string][] = [
      ['record resource', text.indexOf('repo:acme/payments') + 5, 'leaf_mismatch'],
      [
        'record time',
        text.indexOf(`"time": "${b.entries[1]!.record['time'] as string}`) + 12,
        'leaf_mismatch',
      ],
      ['tlog-proof', nth(text, '"tlog_proof": "', 2) + 60, 'bad_tlog_proof'],
      ['checkpoint', text.indexOf('"checkpoint": "') + 20, 'bad_checkpoint_signature'],
      ['narrative', text.indexOf('asked planner') + 2, 'narrative_mismatch'],
      ['role', text.indexOf('"role": "decision"') + 10, 'join_mismatch'],
      ['whitespace', text.indexOf('\n  "subject"'), 'malformed_bundle'],
    ];
    for (const [what, at, code] of cases) {
      const v = verify(flipAt(at), key);
      expect(v.authentic, what).toBe(false);
      expect(
        v.failures.map((f) => f.code),
        what,
      ).toContain(code);
    }
    // Every single byte, sampled: none leaves the bundle authentic.
    for (let i = 0; i < text.length; i += 97) expect(verify(flipAt(i), key).authentic).toBe(false);
  });

  it('refuses a bundle checked against another key', async () => {
    const { text } = await bundle();
    const other = (await makeInvestigateApp()).log.verifierKey;
    const v = verify(text, other);
    expect(v.failures.map((f) => f.code)).toEqual(
      expect.arrayContaining(['wrong_key', 'bad_checkpoint_signature']),
    );
  });
});

describe('GET /v1/traces/{trace_id}', () => {
  it('returns the records of a trace as a causal tree by span and cause', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const res = await get(app, `/v1/traces/${TRACE}`);
    expect(res.status).toBe(200);
    const roots = res.body.roots as TraceNode[];
    expect(res.body.count).toBe(2);
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatchObject({ id: s.promptId, type: 'prompt.received', linked_by: 'none' });
    expect(roots[0]!.children[0]).toMatchObject({
      id: s.actionId,
      linked_by: 'span',
      action: 'github.get_file',
      outcome: 'success',
    });
  });

  it('answers a malformed or unknown trace id with stable codes', async () => {
    const { app } = await makeInvestigateApp();
    expect((await get(app, '/v1/traces/XYZ')).body.error.code).toBe('invalid_trace_id');
    expect((await get(app, `/v1/traces/${'0'.repeat(32)}`)).body.error.code).toBe(
      'invalid_trace_id',
    );
    const none = await get(app, `/v1/traces/${'a'.repeat(32)}`);
    expect([none.status, none.body.error.code]).toEqual([404, 'not_found']);
  });
});

describe('GET /v1/reports/coverage', () => {
  it('scores attribution by action class, decisions and weak privileged actions', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    expect((await post(app, '/v1/events', s.researcherToken, researcherAction())).status).toBe(200);
    const res = await get(app, '/v1/reports/coverage');
    expect(res.status).toBe(200);
    const r = res.body as CoverageReport;
    expect(r.actions).toBe(2); // the prompt is not an action
    expect(r.by_class.other).toMatchObject({ verified: 2, total: 2 });
    expect(r.without_decision.count).toBe(1);
    expect(r.without_decision.items[0]!.action).toBe('github.get_file');
    expect(r.credential_lifetimes.count).toBe(3);
    expect(r.credential_lifetimes.over_1h.count).toBe(0);
    expect(r.frameworks['privileged']).toContain('NIST CSF 2.0 PR.AA-05');
    const after = await get(
      app,
      `/v1/reports/coverage?from=${new Date(Date.now() + 3600_000).toISOString()}`,
    );
    expect(after.body.records).toBe(0);
  });

  it('pages through more records than one query returns', async () => {
    const { app } = await makeApp();
    const records = Array.from({ length: 2500 }, (_, i) =>
      record({
        time: `2026-11-27T13:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`,
        trace: undefined,
      }),
    );
    expect((await postJson(app, records)).statusCode).toBe(200);
    const all = (
      await app.inject({ headers: asAdmin, url: '/v1/reports/coverage' })
    ).json() as CoverageReport;
    expect(all.actions).toBe(2500);
    expect(all.by_class.privileged.asserted).toBe(2500);
    expect(all.weak_privileged).toMatchObject({ count: 2500 });
    expect(all.weak_privileged.items).toHaveLength(all.list_limit);
    const ranged = (
      await app.inject({
        headers: asAdmin,
        url: '/v1/reports/coverage?from=2026-11-27T13:00:00Z&to=2026-11-27T13:10:00Z',
      })
    ).json() as CoverageReport;
    expect(ranged.actions).toBe(600);
  });

  it('answers a bad range with stable codes', async () => {
    const { app } = await makeInvestigateApp();
    expect((await get(app, '/v1/reports/coverage?from=yesterday')).body.error.code).toBe(
      'invalid_parameter',
    );
    const range = await get(
      app,
      '/v1/reports/coverage?from=2026-11-27T13:00:00Z&to=2026-11-27T12:00:00Z',
    );
    expect([range.status, range.body.error.code]).toEqual([400, 'invalid_time_range']);
    expect((await get(app, '/v1/reports/coverage?level=x')).body.error.code).toBe(
      'invalid_parameter',
    );
  });

  it('counts pooled accounts, asserted privileged actions and long credentials from records without stored facts', async () => {
    const records: object[] = [];
    const acc = { add: (r: object) => records.push(r) };
    const base = record() as never;
    acc.add({ ...(base as object), attribution: { level: 'asserted', reasons: [] } } as never);
    for (const [instance, task] of [
      ['a', 't1'],
      ['b', 't1'],
      ['b', 't2'],
    ]) {
      acc.add({
        ...(record() as object),
        actor: { id: 'sa:shared-bot', kind: 'service_account', instance },
        task_id: task,
        attribution: { level: 'pooled', reasons: ['shared_account'] },
      } as never);
    }
    acc.add({
      ...(record({ type: 'credential.issued', action: undefined }) as object),
      credential: { jti: 'j1', iss: 'x', iat: 1000, exp: 1000 + 7200 },
      attribution: { level: 'verified', reasons: ['issuer_witness'] },
    } as never);
    // A storage without a coverage index (a schema-1 file opened read-only answers the same way):
    // the report counts each record's facts by core's rule.
    const entries = records.map((r, i) => {
      const rec = r as { id: string; type: string; attribution?: { level: string } };
      return {
        leafIndex: i,
        id: rec.id,
        canonical: JSON.stringify(r),
        leafHash: new Uint8Array(32),
        type: rec.type,
        timeUs: i,
        initiator: null,
        actor: (r as { actor?: { id: string } }).actor?.id ?? null,
        taskId: (r as { task_id?: string }).task_id ?? null,
        traceId: null,
        level: rec.attribution?.level ?? 'unattributed',
      };
    });
    const storage = {
      queryEntries: async (f: { afterLeafIndex?: number; limit: number }) =>
        entries.filter((e) => e.leafIndex > (f.afterLeafIndex ?? -1)).slice(0, f.limit),
    } as unknown as LogStorage;
    const r = await coverageReport(storage, { from: null, to: null });
    expect(r.privileged).toMatchObject({ total: 4, verified: 0, with_decision: 0, share: 0 });
    expect(r.weak_privileged.count).toBe(1);
    expect(r.pooled_accounts).toEqual([
      {
        account: 'sa:shared-bot',
        records: 3,
        instances: 2,
        tasks: 2,
        capped: false,
        href: '/v1/reports/coverage/records?measure=pooled_accounts&account=sa%3Ashared-bot',
      },
    ]);
    expect(r.credential_lifetimes.over_1h.items[0]).toMatchObject({
      jti: 'j1',
      lifetime_sec: 7200,
    });
    expect(r.by_class.irreversible).toMatchObject({ asserted: 1, pooled: 3, total: 4 });
  });
});
