import type { FastifyInstance } from 'fastify';
import { asAdmin } from './helpers.js';
import { describe, expect, it } from 'vitest';
import { aliceScenario, devLogin, exchange, register } from './identity-helpers.js';
import { act, makeDetectingApp } from './ingest-helpers.js';

const post = (app: FastifyInstance, body: unknown, bearer: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(body),
  });

async function alerts(app: FastifyInstance) {
  const page = (
    await app.inject({ headers: asAdmin, url: '/v1/events?type=security.alert&limit=1000' })
  ).json();
  return (page.events as { action: { name: string; resource: string } }[]).map((e) => e.action);
}

describe('detections as records arrive', () => {
  it('alerts on a privileged action without a decision, naming the record', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    const r = act({
      action: {
        name: 'github.delete_repo',
        resource: 'repo:acme/payments',
        class: { privileged: true, irreversible: true, external: true },
      },
    });
    expect((await post(app, r, s.researcherToken)).statusCode).toBe(200);
    expect(await alerts(app)).toEqual([
      {
        name: 'detect.privileged_without_decision',
        resource: `record:${r.id}`,
        risk: 'high',
        args: expect.any(Object),
      },
    ]);
  });

  it('does not alert twice when the same record is re-sent', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    const r = act({
      action: {
        name: 'github.delete_repo',
        resource: 'repo:acme/payments',
        class: { privileged: true, irreversible: true, external: true },
      },
    });
    await post(app, r, s.researcherToken);
    await post(app, r, s.researcherToken);
    expect(await alerts(app)).toHaveLength(1);
  });

  it('alerts when one agent instance acts for more initiators than allowed (lateral movement)', async () => {
    const { app } = await makeDetectingApp();
    const s = await aliceScenario(app);
    await post(app, act(), s.researcherToken);
    for (const user of ['bob', 'carol']) {
      await register(app, { id: `user:${user}`, kind: 'human' });
      const human = (await devLogin(app, user, 'repo:read')).body.access_token!;
      const token = (await exchange(app, human, s.researcher, 'repo:read')).body.access_token!;
      await post(app, act({ initiator: { id: `user:${user}`, kind: 'human' } }), token);
    }
    expect((await alerts(app)).map((a) => a.name)).toEqual(['detect.instance_many_initiators']);
  });
});
