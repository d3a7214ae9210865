/**
 * Forged witness records (issue 14, item 3): a producer, or an anonymous client, posts its own
 * `credential.issued` / `delegation.granted`. Coverage and provenance count only the
 * collector's own witness records, so the forgery changes neither.
 */
import { uuidv7 } from '@provenant/core';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { CoverageReport } from '../src/index.js';
import { aliceScenario } from './identity-helpers.js';
import { postRecords, readAsAdmin } from './ingest-helpers.js';
import { makeInvestigateApp, researcherAction } from './investigate-scenario.js';

async function coverage(app: FastifyInstance): Promise<CoverageReport> {
  return (await readAsAdmin(app, '/v1/reports/coverage')).json() as CoverageReport;
}

/**
 * A grant record as a producer forges it. Anonymous, it may claim any credential (`lifetimeSec`);
 * with a credential, the collector stamps the sender's own on it, so it claims none.
 */
function forgedGrant(type: string, actor: { id: string; kind: string }, lifetimeSec?: number) {
  const iat = Math.floor(Date.now() / 1000) - 5;
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type,
    initiator: { id: 'user:alice', kind: 'human' },
    actor,
    ...(lifetimeSec === undefined
      ? {}
      : { credential: { jti: uuidv7(), iss: 'http://issuer.test', iat, exp: iat + lifetimeSec } }),
  };
}

const ISSUER = { id: 'service:provenant-issuer', kind: 'service' };
const agent = (id: string) => ({ id, kind: 'agent_instance' });

describe('forged witness records', () => {
  it('a producer’s or an anonymous credential.issued is not counted in coverage', async () => {
    const { app } = await makeInvestigateApp();
    const s = await aliceScenario(app);
    const before = await coverage(app);
    // The issuer's own grants of the scenario are counted.
    expect(before.credential_lifetimes.count).toBeGreaterThanOrEqual(3);
    expect(before.credential_lifetimes.buckets.over_1h.count ?? 0).toBe(0);

    const anonymous = forgedGrant('credential.issued', ISSUER, 86_400);
    expect((await postRecords(app, anonymous)).json().accepted).toHaveLength(1);
    const producer = forgedGrant('delegation.granted', agent(s.researcher.id));
    const res = (await postRecords(app, producer, { bearer: s.researcherToken })).json();
    expect(res.accepted[0].attribution.level).toBe('verified');

    const after = await coverage(app);
    expect(after.credential_lifetimes.count).toBe(before.credential_lifetimes.count);
    expect(after.credential_lifetimes.buckets).toEqual(before.credential_lifetimes.buckets);
  });

  it('provenance joins only the issuer’s grants, not a producer’s copy of its own', async () => {
    const { app } = await makeInvestigateApp();
    const s = await aliceScenario(app);
    // The researcher's credential stamps its own jti on the copy: the same jti as the real grant.
    const copy = forgedGrant('delegation.granted', agent(s.researcher.id));
    expect((await postRecords(app, copy, { bearer: s.researcherToken })).statusCode).toBe(200);
    const act = researcherAction();
    expect((await postRecords(app, act, { bearer: s.researcherToken })).statusCode).toBe(200);
    const p = (await readAsAdmin(app, `/v1/events/${act.id}/provenance`)).json() as {
      chain: { id: string; role: string }[];
    };
    expect(p.chain.map((c) => c.id)).not.toContain(copy.id);
    expect(p.chain.map((c) => c.role)).toEqual([
      'credential',
      'delegation',
      'delegation',
      'action',
    ]);
  });
});
