/**
 * Attacks on the collector's alerts (issue 14, item 3): anonymous records trying to make the
 * collector write a `verified` alert that names an innocent principal (framing), and a flood
 * from one source trying to use up the alert budget so a real alert is dropped (suppression).
 */
import { uuidv7 } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AlertLimiter, DEFAULT_ALERT_BUDGET } from '../src/identity/attributor.js';
import { TD, aliceScenario } from './identity-helpers.js';
import { act, makeDetectingApp, postRecords, researcherId, readAsAdmin } from './ingest-helpers.js';
import { makeInvestigateApp } from './investigate-scenario.js';

type Stored = EventRecord & { attribution: { level: string; reasons: string[] } };

async function alerts(app: FastifyInstance): Promise<Stored[]> {
  const page = (await readAsAdmin(app, '/v1/events?type=security.alert&limit=1000')).json();
  return page.events as Stored[];
}

/** Five delegation hops: more than the detector allows, so each such record raises an alert. */
const deepChain = (claimedActor: string) =>
  act({
    actor: { id: claimedActor, kind: 'agent_instance' },
    delegation: [1, 2, 3, 4, 5].map((i) => ({
      from: `spiffe://${TD}/agent/a${i}/instance/1`,
      to: `spiffe://${TD}/agent/a${i + 1}/instance/1`,
    })),
  });

/** A privileged action without a decision: the verified agent's real alert. */
const undecided = () =>
  act({
    action: {
      name: 'github.delete_repo',
      resource: 'repo:acme/payments',
      class: { privileged: true, irreversible: true, external: true },
    },
  });

describe('framing: records below verified never make a verified alert naming someone', () => {
  it('anonymous records claiming an agent acted for many people name their source, unverified', async () => {
    const { app } = await makeDetectingApp();
    await aliceScenario(app);
    for (const user of ['bob', 'carol', 'dave']) {
      const res = await postRecords(
        app,
        act({ initiator: { id: `user:${user}`, kind: 'human' } }),
        {
          client: '203.0.113.9',
        },
      );
      expect(res.json().accepted[0].attribution.level).toBe('asserted');
    }
    const found = await alerts(app);
    expect(found.map((a) => a.action?.name)).toEqual(['detect.instance_many_initiators']);
    const [alert] = found;
    expect(alert!.attribution.level).toBe('asserted');
    expect(alert!.attribution.reasons).toEqual(['collector_detection', 'unverified_input']);
    // Neither the agent nor any user the records claim is named as who acted.
    expect(alert!.actor).toBeUndefined();
    expect(alert!.initiator).toBeUndefined();
    const args = alert!.action!.args as Record<string, string>;
    expect(args['source']).toMatch(/^anonymous:[0-9a-f]{16}$/);
    expect(args['source']).not.toContain('203.0.113.9');
    expect(args['source_authenticated']).toBe('false');
    expect(args['claimed_actor']).toBe(researcherId);
    expect(args['detail']).toMatch(/^Unverified input \(asserted\) from anonymous:/);
  });

  it("anonymous claims never count toward a verified agent's own windows", async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    // Two anonymous claims that the researcher acted for bob and carol …
    for (const user of ['bob', 'carol']) {
      await postRecords(app, act({ initiator: { id: `user:${user}`, kind: 'human' } }), {
        client: '203.0.113.9',
      });
    }
    // … and the researcher's one verified action for alice: three initiators if mixed.
    const res = await postRecords(app, act(), { bearer: s.researcherToken });
    expect(res.json().accepted[0].attribution.level).toBe('verified');
    expect(await alerts(app)).toEqual([]);
  });

  it('the same anonymous source is one source whatever principals it claims', async () => {
    const { app } = await makeDetectingApp();
    await aliceScenario(app);
    await postRecords(app, deepChain('spiffe://acme.test/agent/x/instance/1'), {
      client: '198.51.100.7',
    });
    await postRecords(app, deepChain('spiffe://acme.test/agent/y/instance/1'), {
      client: '198.51.100.7',
    });
    await postRecords(app, deepChain('spiffe://acme.test/agent/z/instance/1'), {
      client: '198.51.100.8',
    });
    const sources = (await alerts(app)).map(
      (a) => (a.action!.args as Record<string, string>)['source'],
    );
    expect(sources).toHaveLength(3);
    expect(sources[0]).toBe(sources[1]);
    expect(sources[2]).not.toBe(sources[0]);
  });

  it('an anonymous record citing a decision never made names its source, not alice', async () => {
    const { app } = await makeInvestigateApp();
    await aliceScenario(app);
    const r = act({
      policy: { decision_id: uuidv7(), engine: 'cedar', decision: 'allow' },
    });
    expect((await postRecords(app, r, { client: '203.0.113.9' })).statusCode).toBe(200);
    const [alert] = await alerts(app);
    expect(alert!.action?.name).toBe('ingest.decision_not_found');
    expect(alert!.attribution).toEqual({
      level: 'asserted',
      reasons: ['collector_alert', 'unverified_input'],
    });
    expect(alert!.initiator).toBeUndefined();
    expect(alert!.actor).toBeUndefined();
    expect((alert!.action!.args as Record<string, string>)['claimed_initiator']).toBe('user:alice');
  });

  it('a verified record still raises a verified alert naming its principals', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    await postRecords(app, undecided(), { bearer: s.researcherToken });
    const [alert] = await alerts(app);
    expect(alert!.attribution).toEqual({ level: 'verified', reasons: ['collector_detection'] });
    expect(alert!.actor?.id).toBe(researcherId);
  });
});

describe('alert suppression: one source cannot use up another source’s alert budget', () => {
  it('a flood of anonymous alerts from one client leaves a real alert recorded', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    // 300 records, each a distinct alert (another claimed actor): more than the old global cap.
    const flood = Array.from({ length: 300 }, (_, i) =>
      deepChain(`spiffe://${TD}/agent/f${i}/instance/1`),
    );
    expect((await postRecords(app, flood, { client: '203.0.113.66' })).statusCode).toBe(200);
    const anonymous = await alerts(app);
    expect(anonymous).toHaveLength(DEFAULT_ALERT_BUDGET.perAnonymousSource);

    const real = undecided();
    expect((await postRecords(app, real, { bearer: s.researcherToken })).statusCode).toBe(200);
    const verified = (await alerts(app)).filter((a) => a.attribution.level === 'verified');
    expect(verified.map((a) => a.action?.resource)).toEqual([`record:${real.id}`]);
  });

  it('the limiter keeps each source to its own budget and anonymous sources to a shared cap', () => {
    const limiter = new AlertLimiter({
      windowMs: 60_000,
      perAuthenticatedSource: 3,
      perAnonymousSource: 2,
      anonymousTotal: 5,
      maxSources: 100,
    });
    const anon = (n: number) => ({ id: `anonymous:${n}`, authenticated: false });
    const agent = { id: researcherId, authenticated: true };
    const allowed = (source: { id: string; authenticated: boolean }, keys: number) =>
      Array.from({ length: keys }, (_, k) => limiter.allow(`k${k}`, 0, source)).filter(Boolean)
        .length;
    expect(allowed(anon(1), 10)).toBe(2);
    expect(allowed(anon(2), 10)).toBe(2);
    expect(allowed(anon(3), 10)).toBe(1); // the anonymous cap of 5 is reached
    expect(allowed(agent, 10)).toBe(3); // untouched by any anonymous source
    expect(limiter.allow('k0', 0, agent)).toBe(false); // the same alert once per window
    expect(limiter.allow('k0', 60_000, agent)).toBe(true); // a new window
    expect(limiter.suppressed).toBeGreaterThan(0);
  });
});
