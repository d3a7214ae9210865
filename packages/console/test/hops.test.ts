import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actorHops } from '../src/view/hops.ts';
import type { Hop } from '../src/view/hops.ts';

type Rec = Record<string, unknown> & {
  id: string;
  time: string;
  credential?: { jti: string; [k: string]: unknown };
  outcome?: { status: string };
  policy?: Record<string, unknown>;
};

/** The answer as the tests change it. */
interface Answer {
  checks: { id: string; ok: boolean; detail: string }[];
  evidence: { entries: { role: string; record: Rec }[] };
}

/** A provenance answer a real collector gave for alice → planner → researcher → github.get_file. */
const ANSWER = JSON.parse(
  readFileSync(new URL('./fixtures/provenance-alice.json', import.meta.url), 'utf8'),
) as Answer;

/** A deep copy of the answer to change. */
const answer = () => structuredClone(ANSWER);
const entry = (a: Answer, role: string) => a.evidence.entries.find((e) => e.role === role)!;
const marks = (h: Hop | undefined) => h?.marks.map((m) => `${m.kind}:${m.tone}`) ?? [];

describe('actorHops', () => {
  it('draws the actors, human → agent → sub-agent → tool call, never the witnesses', () => {
    const hops = actorHops(ANSWER);
    expect(hops.map((h) => [h.role, h.name])).toEqual([
      ['human', 'alice'],
      ['agent', 'planner/19c2'],
      ['sub-agent', 'researcher/7f3a'],
      ['tool call', 'github.get_file'],
    ]);
    expect(hops.at(-1)?.resource).toBe('repo:acme/payments');
    expect(hops.map((h) => h.id).join(' ')).not.toContain('service:provenant');
  });

  it('puts each witness record on the hop it speaks for, as marks', () => {
    const hops = actorHops(ANSWER);
    const recordOf = (role: string, i = 0) =>
      ANSWER.evidence.entries.filter((e) => e.role === role)[i]!.record.id;
    expect(hops[0]!.marks).toMatchObject([
      { kind: 'credential', tone: 'ok', recordId: recordOf('credential') },
    ]);
    expect(hops[0]!.marks[0]!.text).toBe('credential issued (dev_login)');
    expect(hops[1]!.marks).toMatchObject([
      { kind: 'delegation', tone: 'ok', recordId: recordOf('delegation', 0) },
    ]);
    expect(hops[1]!.marks[0]!.text).toBe('delegation granted (repo:read repo:write)');
    expect(hops[2]!.marks).toMatchObject([
      { kind: 'delegation', tone: 'ok', recordId: recordOf('delegation', 1) },
    ]);
    expect(marks(hops[3])).toEqual(['decision:ok', 'outcome:ok', 'attribution:ok']);
    expect(hops[3]!.marks[0]).toMatchObject({
      text: 'decision: allowed',
      recordId: recordOf('decision'),
    });
    expect(hops[3]!.marks[0]!.detail).toContain('permit-researcher-github-reads');
  });

  it('marks a denied decision and a denied outcome red on the tool call', () => {
    const a = answer();
    entry(a, 'decision').record.policy!['decision'] = 'deny';
    entry(a, 'action').record.outcome = { status: 'denied' };
    const tool = actorHops(a).at(-1);
    expect(tool?.marks.slice(0, 2).map((m) => [m.text, m.tone])).toEqual([
      ['decision: denied', 'bad'],
      ['outcome: denied', 'bad'],
    ]);
  });

  it('shows an error outcome red and a pending one amber', () => {
    const a = answer();
    entry(a, 'action').record.outcome = { status: 'error' };
    expect(actorHops(a).at(-1)?.marks[1]).toMatchObject({ kind: 'outcome', tone: 'bad' });
    entry(a, 'action').record.outcome = { status: 'pending' };
    expect(actorHops(a).at(-1)?.marks[1]).toMatchObject({ kind: 'outcome', tone: 'pending' });
  });

  it('says a hop is unproven when the issuer never granted it (red for a credentialed action)', () => {
    const a = answer();
    a.evidence.entries = a.evidence.entries.filter((e) => e.role !== 'delegation');
    const hops = actorHops(a);
    expect(hops.map((h) => h.name)).toEqual([
      'alice',
      'planner/19c2',
      'researcher/7f3a',
      'github.get_file',
    ]);
    expect(marks(hops[1])).toEqual(['missing:bad']);
    expect(hops[2]!.marks[0]!.text).toBe('no delegation record');
  });

  it('draws an asserted action from its claims, with warnings instead of evidence', () => {
    const a = answer();
    const action = entry(a, 'action').record;
    delete action.credential;
    delete action.policy;
    action['delegation'] = undefined;
    action['attribution'] = { level: 'asserted', reasons: [] };
    a.evidence.entries = [entry(a, 'action')];
    const hops = actorHops(a);
    expect(hops.map((h) => [h.role, h.name])).toEqual([
      ['human', 'alice'],
      ['agent', 'researcher/7f3a'],
      ['tool call', 'github.get_file'],
    ]);
    expect(marks(hops[0])).toEqual(['missing:warn']);
    expect(marks(hops[1])).toEqual(['missing:warn']);
    expect(marks(hops[2])).toEqual(['missing:warn', 'outcome:ok', 'attribution:warn']);
    expect(hops[2]!.marks[2]!.text).toBe('attribution: asserted');
    expect(hops[1]!.marks[0]!.detail).toBe(
      'The record names this actor acting for alice; no credential proves it.',
    );
  });

  it('draws a claimed delegation chain without a credential as claims, not as evidence', () => {
    const a = answer();
    delete entry(a, 'action').record.credential;
    a.evidence.entries = [entry(a, 'action')];
    const hops = actorHops(a);
    expect(hops.map((h) => h.name)).toEqual([
      'alice',
      'planner/19c2',
      'researcher/7f3a',
      'github.get_file',
    ]);
    expect(hops.slice(0, 3).map(marks)).toEqual([
      ['missing:warn'],
      ['missing:warn'],
      ['missing:warn'],
    ]);
    expect(hops[2]!.marks[0]!.detail).toBe(
      'The record says planner/19c2 delegated to this actor; no credential proves it.',
    );
  });

  it('shows a decision the action cites but the decision point never recorded', () => {
    const a = answer();
    a.evidence.entries = a.evidence.entries.filter((e) => e.role !== 'decision');
    expect(actorHops(a).at(-1)?.marks[0]).toMatchObject({
      kind: 'missing',
      tone: 'bad',
      text: 'decision not recorded',
    });
  });

  it('puts a revocation on the hop whose credential was revoked, red when before the action', () => {
    const a = answer();
    const planner = a.evidence.entries.filter((e) => e.role === 'delegation')[0]!.record;
    const action = entry(a, 'action').record;
    a.evidence.entries.push({
      role: 'revocation',
      record: {
        id: 'r-1',
        type: 'credential.revoked',
        time: new Date(Date.parse(action.time) - 1000).toISOString(),
        credential: { jti: planner.credential!.jti },
      },
    });
    const hops = actorHops(a);
    expect(hops[1]!.marks.at(-1)).toMatchObject({
      kind: 'revocation',
      tone: 'bad',
      text: 'credential revoked before the action',
      recordId: 'r-1',
    });
  });

  it('names each remediation on the hop it remediates, red when before the action', () => {
    const a = answer();
    const action = entry(a, 'action').record;
    const planner = 'spiffe://acme.test/agent/planner/instance/19c2';
    const at = (deltaMs: number) => new Date(Date.parse(action.time) + deltaMs).toISOString();
    const remediation = (
      id: string,
      type: string,
      time: string,
      cause: string,
      target: string,
    ) => ({
      role: 'remediation',
      record: {
        id,
        type,
        time,
        actor: { id: 'service:provenant-collector', kind: 'service' },
        remediation: { cause, remediates: [{ kind: 'x', id: target }] },
      },
    });
    a.evidence.entries.push(
      remediation('m-1', 'principal.disabled', at(1000), 'principal_disabled', planner),
      remediation('m-2', 'issuer.key_rotated', at(2000), 'key_retired', 'kid-1'),
      remediation('m-3', 'policy.changed', at(-1000), 'policy_changed', 'sha256:ab'),
    );
    const hops = actorHops(a);
    expect(hops[1]!.marks.at(-1)).toMatchObject({
      kind: 'remediation',
      tone: 'warn',
      text: 'principal disabled after',
      recordId: 'm-1',
    });
    expect(hops[2]!.marks.at(-1)).toMatchObject({
      kind: 'remediation',
      text: 'issuer key retired after',
      recordId: 'm-2',
    });
    const replaced = hops[3]!.marks.find((m) => m.kind === 'remediation');
    expect(replaced).toMatchObject({
      tone: 'bad',
      text: 'policy set replaced before the action',
      recordId: 'm-3',
    });
    expect(replaced?.detail).toContain('remediation policy_changed of sha256:ab');
  });

  it('shows the posture the decision was made under in its mark', () => {
    const a = answer();
    entry(a, 'decision').record.policy = {
      ...entry(a, 'decision').record.policy,
      posture: {
        level: 'high',
        window_sec: 900,
        signals: [
          { source: 'collector_alert', code: 'attribution_mismatch', subject: 'x', record_id: 'y' },
        ],
      },
    };
    expect(actorHops(a).at(-1)!.marks[0]!.detail).toMatch(
      /; posture high \(attribution_mismatch in the last 15 min\)$/,
    );
  });

  it('puts alerts and failed checks on the hop they are about', () => {
    const a = answer();
    a.evidence.entries.push({
      role: 'alert',
      record: {
        id: 'al-1',
        type: 'security.alert',
        time: ANSWER.evidence.entries[0]!.record.time,
        action: { name: 'detect.scope_exceeded' },
      },
    });
    a.checks = [
      ...a.checks,
      { id: 'hop_granted:2', ok: false, detail: 'grant differs' },
      { id: 'decision_matches', ok: false, detail: 'the decision differs in: resource' },
      { id: 'no_alerts', ok: false, detail: 'one alert' },
    ];
    const hops = actorHops(a);
    expect(marks(hops[2])).toEqual(['delegation:ok', 'check:bad']);
    expect(hops[2]!.marks[1]!.detail).toBe('grant differs');
    expect(marks(hops[3])).toEqual([
      'decision:ok',
      'outcome:ok',
      'attribution:ok',
      'alert:bad',
      'check:bad',
    ]);
    expect(hops[3]!.marks[3]).toMatchObject({
      text: 'alert: detect.scope_exceeded',
      recordId: 'al-1',
    });
  });

  it('draws an agent acting in its own name with the credential it was issued', () => {
    const a = answer();
    const action = entry(a, 'action').record;
    const researcher = {
      id: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      kind: 'agent_instance',
    };
    action['initiator'] = researcher;
    delete action['delegation'];
    const own = entry(a, 'credential');
    own.record['credential'] = { jti: 'j-own', grant: 'client_credentials', sub: researcher.id };
    a.evidence.entries = [own, entry(a, 'decision'), entry(a, 'action')];
    const hops = actorHops(a);
    expect(hops.map((h) => [h.role, h.name])).toEqual([
      ['agent', 'researcher/7f3a'],
      ['tool call', 'github.get_file'],
    ]);
    expect(hops[0]!.marks[0]).toMatchObject({
      kind: 'credential',
      tone: 'ok',
      text: 'credential issued (client_credentials)',
    });
  });

  it('starts at the actor when the record names no initiator', () => {
    const a = answer();
    const action = entry(a, 'action').record;
    delete action['initiator'];
    delete action['delegation'];
    delete action.credential;
    a.evidence.entries = [entry(a, 'action')];
    const hops = actorHops(a);
    expect(hops.map((h) => h.role)).toEqual(['agent', 'tool call']);
    expect(hops[0]!.marks[0]).toMatchObject({ kind: 'missing', text: 'no initiator named' });
  });

  it('draws nothing without an action record', () => {
    expect(actorHops({ checks: [], evidence: { entries: [] } })).toEqual([]);
  });
});
