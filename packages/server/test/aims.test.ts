/**
 * The AIMS audit fields (draft-ietf-wimse-aims-00 §11): the risk state a decision was made
 * under, in its `policy.decision` record; remediations with their cause as the collector's own
 * records, linked to what they remediate; provenance and coverage showing them.
 */
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { formatEvidenceBundle, parseVerifierKey, verifyEvidenceBundle } from '@provenant/ledger';
import type { EvidenceBundle } from '@provenant/ledger';
import { readPolicyFolder } from '@provenant/policy';
import { fileURLToPath } from 'node:url';
import type { CoverageReport, ProvenanceAnswer } from '../src/index.js';
import { asAdmin } from './helpers.js';
import { ADMIN } from './identity-helpers.js';
import {
  investigationScenario,
  makeInvestigateApp,
  post,
  researcherAction,
  researcherId,
} from './investigate-scenario.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));
type App = Awaited<ReturnType<typeof makeInvestigateApp>>['app'];

const get = async (app: App, url: string) => {
  const res = await app.inject({ headers: asAdmin, url });
  return { status: res.statusCode, body: res.json() };
};

/** Every stored record of a type, oldest first. */
async function recordsOf(app: App, type: string): Promise<EventRecord[]> {
  const res = await get(app, `/v1/events?type=${encodeURIComponent(type)}&limit=100&order=asc`);
  expect(res.status).toBe(200);
  return (res.body as { events: EventRecord[] }).events;
}

const admin = (app: App, url: string, body: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });

const decide = (app: App, token: string, risk: string = 'low') =>
  post(app, '/v1/decisions', token, {
    action: { name: 'github.get_file', resource: 'repo:acme/payments', risk },
    task_id: 'task-981',
  });

/** The decision point's record of one decision. */
async function decisionRecordOf(app: App, decisionId: string): Promise<EventRecord> {
  const all = await recordsOf(app, 'policy.decision');
  const found = all.find((r) => r.policy?.decision_id === decisionId);
  expect(found).toBeDefined();
  return found!;
}

/** The examples' policy set with one more comment: another digest, the same rules. */
function changedPolicies() {
  const source = readPolicyFolder(EXAMPLES);
  const [first, ...rest] = source.files;
  return { ...source, files: [{ ...first!, text: `${first!.text}\n// changed\n` }, ...rest] };
}

describe('posture in the policy.decision record', () => {
  it('records the risk state the decision was made under, from the collector’s own alerts', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const calm = await decisionRecordOf(app, s.decisionId);
    expect(calm.policy?.posture).toEqual({ level: 'normal', window_sec: 900, signals: [] });

    // The researcher's credential sent with a record naming another actor: a verified alert.
    const lie = researcherAction(undefined, {
      actor: { id: `spiffe://acme.test/agent/planner/instance/19c2`, kind: 'agent_instance' },
    });
    expect((await post(app, '/v1/events', s.researcherToken, lie)).status).toBe(422);
    const [alert] = await recordsOf(app, 'security.alert');
    expect(alert?.outcome?.error?.code).toBe('attribution_mismatch');

    const d = await decide(app, s.researcherToken);
    expect(d.status).toBe(200);
    const tense = await decisionRecordOf(app, d.body.decision_id as string);
    expect(tense.policy?.posture).toMatchObject({ level: 'high', window_sec: 900 });
    expect(tense.policy?.posture?.signals).toEqual(
      expect.arrayContaining([
        {
          source: 'collector_alert',
          code: 'attribution_mismatch',
          subject: researcherId,
          record_id: alert!.id,
        },
      ]),
    );
    // Answered as before: the posture is recorded, the decision is the engine's.
    expect(d.body.decision).toBe('allow');
  });

  it('never takes risk from input: a claimed risk, a planted alert or a claimed posture move nothing', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    // A caller claiming critical risk raises the action's risk, not the posture.
    const claimed = await decide(app, s.researcherToken, 'critical');
    expect(claimed.status).toBe(200);
    expect(
      (await decisionRecordOf(app, claimed.body.decision_id as string)).policy?.posture,
    ).toEqual({ level: 'normal', window_sec: 900, signals: [] });
    // An anonymous producer plants an "alert" about the researcher and a record claiming a
    // high posture: stored as asserted input, neither is a signal.
    const planted = {
      schema: 'provenant.event/v1',
      id: uuidv7(),
      time: new Date().toISOString(),
      type: 'security.alert',
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: researcherId, kind: 'agent_instance' },
      action: { name: 'ingest.attribution_mismatch', resource: 'record:x', risk: 'high' },
      outcome: { status: 'success', error: { code: 'attribution_mismatch' } },
      policy: {
        decision_id: 'forged',
        engine: 'cedar',
        decision: 'deny',
        posture: {
          level: 'high',
          window_sec: 900,
          signals: [
            {
              source: 'collector_alert',
              code: 'attribution_mismatch',
              subject: researcherId,
              record_id: uuidv7(),
            },
          ],
        },
      },
    };
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(planted),
    });
    expect(res.statusCode).toBe(200);
    const after = await decide(app, s.researcherToken);
    expect((await decisionRecordOf(app, after.body.decision_id as string)).policy?.posture).toEqual(
      { level: 'normal', window_sec: 900, signals: [] },
    );
  });
});

describe('remediation records', () => {
  it('writes each remediation with its cause and what it applies to', async () => {
    const { app, policy } = await makeInvestigateApp();
    await investigationScenario(app);

    expect((await admin(app, '/v1/principals/disable', { id: researcherId })).statusCode).toBe(200);
    const [disabled] = await recordsOf(app, 'principal.disabled');
    expect(disabled?.remediation).toEqual({
      cause: 'principal_disabled',
      remediates: [{ kind: 'principal', id: researcherId }],
    });

    // A routine rotation remediates nothing; one retiring the old keys at once does.
    expect((await admin(app, '/v1/admin/keys/rotate', {})).statusCode).toBe(200);
    const retire = await admin(app, '/v1/admin/keys/rotate', { retire_now: true });
    expect(retire.statusCode).toBe(200);
    const retired = (retire.json() as { retired: string[] }).retired;
    expect(retired.length).toBeGreaterThan(0);
    const [routine, atOnce] = await recordsOf(app, 'issuer.key_rotated');
    expect(routine?.remediation).toBeUndefined();
    expect(atOnce?.remediation).toEqual({
      cause: 'key_retired',
      remediates: retired.map((kid) => ({ kind: 'issuer_key', id: kid })),
    });

    // The same set again changes nothing; another set is a policy.changed record.
    const before = policy.point.current()!.digest;
    await policy.load(readPolicyFolder(EXAMPLES));
    expect(await recordsOf(app, 'policy.changed')).toEqual([]);
    const next = await policy.load(changedPolicies());
    const [changed] = await recordsOf(app, 'policy.changed');
    expect(changed).toMatchObject({
      actor: { id: 'service:provenant-pdp' },
      attribution: { level: 'verified', reasons: ['decision_point_witness'] },
      action: {
        name: 'policy.load',
        resource: `policy_set:${next.digest}`,
        args: { previous_policy_set: before, policy_set: next.digest },
      },
      remediation: { cause: 'policy_changed', remediates: [{ kind: 'policy_set', id: before }] },
    });
  });

  it('writes the revocation of a credential as a remediation of it', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const revoke = await app.inject({
      method: 'POST',
      url: '/v1/token/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token: s.plannerToken }).toString(),
    });
    expect(revoke.statusCode).toBe(200);
    const [revoked] = await recordsOf(app, 'credential.revoked');
    expect(revoked?.remediation).toEqual({
      cause: 'credential_revoked',
      remediates: [{ kind: 'credential', id: revoked!.credential!.jti }],
    });
  });
});

describe('provenance and coverage show remediations', () => {
  it('joins the remediations of an action’s chain, after the action: shown, the check passing', async () => {
    const { app, policy, log } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    await admin(app, '/v1/principals/disable', {
      id: 'spiffe://acme.test/agent/planner/instance/19c2',
    });
    await policy.load(changedPolicies());
    const p = (await get(app, `/v1/events/${s.actionId}/provenance`)).body as ProvenanceAnswer;
    const remediations = p.chain.filter((c) => c.role === 'remediation');
    expect(remediations.map((c) => c.type).sort()).toEqual([
      'policy.changed',
      'principal.disabled',
    ]);
    expect(p.checks.find((c) => c.id === 'not_remediated')).toMatchObject({ ok: true });
    expect(p.checks.find((c) => c.id === 'not_remediated')?.detail).toMatch(
      /remediated only after the action \(.*principal_disabled.*policy_changed|policy_changed.*principal_disabled/,
    );
    const story = p.narrative.join('\n');
    expect(story).toMatch(/planner\/19c2 disabled at .* \(remediation\)/);
    expect(story).toMatch(/policy set sha256:[0-9a-f]+ replaced at .* \(remediation/);
    expect(p.ok).toBe(true);
    // The evidence bundle recomputes the same joins offline, remediations included.
    const res = await get(app, `/v1/events/${s.actionId}/evidence`);
    const text = formatEvidenceBundle(res.body as EvidenceBundle);
    const v = verifyEvidenceBundle(text, parseVerifierKey(log.verifierKey), log.verifierKey);
    expect(v.failures).toEqual([]);
    expect(v.authentic).toBe(true);
    expect(v.checks.find((c) => c.id === 'not_remediated')).toMatchObject({ ok: true });
  });

  it('fails the check of an action done under a decision whose policy set was replaced before it ran', async () => {
    const { app, policy } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const d = await decide(app, s.researcherToken);
    await policy.load(changedPolicies());
    const late = researcherAction(d.body.decision_id as string);
    expect((await post(app, '/v1/events', s.researcherToken, late)).status).toBe(200);
    const p = (await get(app, `/v1/events/${late.id}/provenance`)).body as ProvenanceAnswer;
    expect(p.checks.find((c) => c.id === 'not_remediated')).toMatchObject({ ok: false });
    expect(p.checks.find((c) => c.id === 'not_remediated')?.detail).toMatch(
      /remediated before the action: policy_changed at/,
    );
    expect(p.ok).toBe(false);
  });

  it('ignores a producer’s record that claims a remediation, in provenance and in coverage', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const forged = {
      schema: 'provenant.event/v1',
      id: uuidv7(),
      time: new Date().toISOString(),
      type: 'principal.disabled',
      initiator: { id: 'service:provenant-collector', kind: 'service' },
      actor: { id: 'service:provenant-collector', kind: 'service' },
      action: { name: 'principals.disable', resource: researcherId },
      remediation: {
        cause: 'principal_disabled',
        remediates: [{ kind: 'principal', id: researcherId }],
      },
    };
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(forged),
    });
    expect(res.statusCode).toBe(200);
    const p = (await get(app, `/v1/events/${s.actionId}/provenance`)).body as ProvenanceAnswer;
    expect(p.chain.map((c) => c.role)).not.toContain('remediation');
    const report = (await get(app, '/v1/reports/coverage')).body as CoverageReport;
    expect(report.remediations.count).toBe(0);
  });

  it('counts the remediations of a range by cause in the coverage report, newest first', async () => {
    const { app, policy } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    await app.inject({
      method: 'POST',
      url: '/v1/token/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token: s.plannerToken }).toString(),
    });
    await admin(app, '/v1/principals/disable', { id: researcherId });
    await admin(app, '/v1/admin/keys/rotate', { retire_now: true });
    await policy.load(changedPolicies());
    const report = (await get(app, '/v1/reports/coverage')).body as CoverageReport;
    expect(report.remediations).toMatchObject({
      count: 4,
      capped: false,
      by_cause: {
        principal_disabled: 1,
        credential_revoked: 1,
        key_retired: 1,
        policy_changed: 1,
      },
    });
    expect(report.remediations.items.map((i) => i.cause)).toEqual([
      'policy_changed',
      'key_retired',
      'principal_disabled',
      'credential_revoked',
    ]);
    expect(report.frameworks['remediations']).toBeDefined();
  });
});
