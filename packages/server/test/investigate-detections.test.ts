import { parseEventRecord } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DETECTION_CONFIG,
  Detector,
  detectionAlert,
} from '../src/investigate/detections.js';
import type { ProvenanceAnswer } from '../src/index.js';
import { COLLECTOR_PRINCIPAL } from '../src/identity/service.js';
import { prepareOwnRecord } from '../src/ingest/prepare.js';
import { record, asAdmin } from './helpers.js';
import { investigationScenario, makeInvestigateApp } from './investigate-scenario.js';

const T = Date.parse('2026-11-27T13:05:01Z');
const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';
const RESEARCHER = 'spiffe://acme.test/agent/researcher/instance/7f3a';

function action(overrides: Record<string, unknown> = {}): EventRecord {
  return {
    ...(record({
      time: new Date(T).toISOString(),
      attribution: { level: 'verified', reasons: [] },
      action: { name: 'github.get_file', resource: 'repo:acme/payments' },
      delegation: [
        { from: 'user:alice', to: PLANNER, jti: 'j2' },
        { from: PLANNER, to: RESEARCHER, jti: 'j3', scope: ['repo:read'] },
      ],
      credential: { jti: 'j3', iss: 'http://issuer.test', iat: T / 1000 - 10, exp: T / 1000 + 290 },
      policy: { decision_id: 'd1', engine: 'cedar', decision: 'allow' },
    }) as EventRecord),
    ...overrides,
  } as EventRecord;
}

const codes = (d: { code: string }[]) => d.map((x) => x.code);

describe('Detector', () => {
  it('raises nothing for a well-formed, decided, in-window action', () => {
    expect(new Detector().inspect(action(), T)).toEqual([]);
  });

  it('flags an action outside the delegated scope', () => {
    const d = new Detector({
      ...DEFAULT_DETECTION_CONFIG,
      requiredScopes: [{ action: 'github.delete_*', scope: 'repo:admin' }],
    });
    const del = action({ action: { name: 'github.delete_repo', resource: 'repo:acme/payments' } });
    expect(codes(d.inspect(del, T))).toEqual(['scope_exceeded']);
    expect(d.inspect(action(), T)).toEqual([]);
  });

  it('flags a credential used outside its window or after its revocation', () => {
    const d = new Detector();
    const late = action({ time: new Date(T + 3600_000).toISOString() });
    expect(codes(d.inspect(late, T))).toEqual(['credential_outside_window']);
    const revocation = {
      ...(record({ type: 'credential.revoked', time: new Date(T - 1000).toISOString() }) as object),
      credential: { jti: 'j2', iss: 'http://issuer.test', iat: T / 1000 - 60, exp: T / 1000 + 240 },
    } as EventRecord;
    expect(d.inspect(revocation, T)).toEqual([]);
    expect(codes(d.inspect(action(), T))).toEqual(['used_after_revocation']);
  });

  it('flags a chain deeper than allowed and a privileged action without a decision', () => {
    const d = new Detector({ ...DEFAULT_DETECTION_CONFIG, maxChainDepth: 1 });
    const { policy: _p, ...undecided } = action({
      action: {
        name: 'github.delete_repo',
        resource: 'repo:acme/payments',
        class: { privileged: true, irreversible: true, external: true },
      },
    });
    expect(codes(d.inspect(undecided as EventRecord, T))).toEqual([
      'chain_too_deep',
      'privileged_without_decision',
    ]);
  });

  it('flags a pooled account used by more than N instances in a window, once per window', () => {
    const d = new Detector({
      ...DEFAULT_DETECTION_CONFIG,
      pooledInstances: { max: 2, windowMs: 60_000 },
    });
    const pooled = (instance: string) =>
      action({
        actor: { id: 'sa:shared', kind: 'service_account', instance },
        attribution: { level: 'pooled', reasons: ['shared_account'] },
      });
    expect(d.inspect(pooled('a'), T)).toEqual([]);
    expect(d.inspect(pooled('b'), T + 1)).toEqual([]);
    expect(codes(d.inspect(pooled('c'), T + 2))).toEqual(['pooled_account_fanout']);
    expect(d.inspect(pooled('d'), T + 3)).toEqual([]);
    // After the window the old instances no longer count.
    expect(d.inspect(pooled('e'), T + 120_000)).toEqual([]);
  });

  it('flags an agent instance acting for more than N initiators (lateral movement)', () => {
    const d = new Detector({
      ...DEFAULT_DETECTION_CONFIG,
      initiatorsPerInstance: { max: 2, windowMs: 60_000 },
    });
    const as = (user: string) =>
      action({ initiator: { id: user, kind: 'human' }, delegation: undefined });
    expect([...d.inspect(as('user:a'), T), ...d.inspect(as('user:b'), T)]).toEqual([]);
    expect(codes(d.inspect(as('user:c'), T))).toEqual(['instance_many_initiators']);
  });

  it('flags a burst of denials from one actor', () => {
    const d = new Detector({ ...DEFAULT_DETECTION_CONFIG, denials: { max: 3, windowMs: 60_000 } });
    const denied = () => action({ outcome: { status: 'denied' } });
    const found = [0, 1, 2, 3].flatMap((i) => d.inspect(denied(), T + i));
    expect(codes(found)).toEqual(['denial_burst']);
  });

  it('counts a denial once though the decision and the denied record both report it', () => {
    // The decision point's record of a deny and the agent's denied record citing it are one
    // denial: with the default threshold (more than 5), three denials are no burst.
    const d = new Detector();
    const denial = (i: number) => {
      const decision = action({
        type: 'policy.decision',
        actor: { id: 'service:provenant-pdp', kind: 'service' },
        policy: { decision_id: `deny-${i}`, engine: 'cedar', decision: 'deny' },
      });
      const denied = action({
        outcome: { status: 'denied' },
        policy: { decision_id: `deny-${i}`, engine: 'cedar', decision: 'deny' },
      });
      return [...d.inspect(decision, T + i), ...d.inspect(denied, T + i)];
    };
    expect([1, 2, 3, 4, 5].flatMap(denial)).toEqual([]);
    expect(codes(denial(6))).toEqual(['denial_burst']);
  });

  it('counts each retry under a cached deny decision as a denial of its own', () => {
    const d = new Detector({ ...DEFAULT_DETECTION_CONFIG, denials: { max: 2, windowMs: 60_000 } });
    const policy = { decision_id: 'deny-cached', engine: 'cedar', decision: 'deny' };
    const decision = action({ type: 'policy.decision', policy });
    expect(d.inspect(decision, T)).toEqual([]);
    expect(d.inspect(action({ outcome: { status: 'denied' }, policy }), T + 1)).toEqual([]);
    expect(d.inspect(action({ outcome: { status: 'denied' }, policy }), T + 2)).toEqual([]);
    expect(codes(d.inspect(action({ outcome: { status: 'denied' }, policy }), T + 3))).toEqual([
      'denial_burst',
    ]);
  });

  it('writes a valid security.alert about the record, which provenance then shows', async () => {
    const { app, log } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const stored = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${s.actionId}` })
    ).json() as EventRecord;
    const detection = { code: 'denial_burst' as const, message: 'test', record: stored };
    const { record: alert, attribution } = detectionAlert(
      detection,
      Date.now(),
      COLLECTOR_PRINCIPAL,
      {
        level: 'verified',
        source: { id: 'user:alice', authenticated: true },
        kindOf: () => 'human',
      },
    );
    expect(parseEventRecord(JSON.parse(JSON.stringify(alert))).ok).toBe(true);
    expect(attribution).toEqual({ level: 'verified', reasons: ['collector_detection'] });
    const p = prepareOwnRecord(alert, attribution);
    if (!p.ok) throw new Error(p.message);
    await log.append([p.entry]);
    const prov = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${s.actionId}/provenance` })
    ).json();
    const answer = prov as ProvenanceAnswer;
    expect(answer.chain.at(-1)).toMatchObject({ role: 'alert', type: 'security.alert' });
    expect(answer.checks.find((c) => c.id === 'no_alerts')).toMatchObject({ ok: false });
    const trace = (
      await app.inject({ headers: asAdmin, url: `/v1/traces/${stored.trace!.trace_id}` })
    ).json();
    expect(trace.roots[0].children[0].children[0]).toMatchObject({ type: 'security.alert' });
  });
});
