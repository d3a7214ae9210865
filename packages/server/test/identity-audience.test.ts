/**
 * Credentials addressed to an agent (RFC 8693 `audience` / `resource`): the hop between two
 * agents that do not share a process (A2A). The holder addresses its credential to the remote
 * agent; only that agent can use it, by exchanging it for its own, which adds the hop.
 */
import { decodeJwt } from 'jose';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '@provenant/core';
import { asAdmin } from './helpers.js';
import {
  TD,
  aliceScenario,
  assertion,
  exchange,
  makeAgent,
  makeIdentityApp,
  register,
  token,
} from './identity-helpers.js';
import type { Agent } from './identity-helpers.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const plannerId = `spiffe://${TD}/agent/planner/instance/19c2`;
const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
type Json = any;

async function address(
  app: FastifyInstance,
  subjectToken: string,
  holder: Agent,
  params: Record<string, string>,
) {
  return token(app, {
    grant_type: EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: ACCESS,
    actor_token: await assertion(holder),
    actor_token_type: JWT,
    ...params,
  });
}

async function setup() {
  const { app } = await makeIdentityApp();
  const s = await aliceScenario(app);
  return { app, s };
}

const postRecord = (app: FastifyInstance, record: unknown, bearer: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(record),
  });

const toolCall = (actor: string) => ({
  schema: 'provenant.event/v1',
  id: uuidv7(),
  time: new Date().toISOString(),
  type: 'tool.called',
  initiator: { id: 'user:alice', kind: 'human' },
  actor: { id: actor, kind: 'agent_instance' },
  action: { name: 'github.get_file', resource: 'repo:acme/payments' },
  outcome: { status: 'success' },
});

describe('credentials addressed to an agent', () => {
  it('keeps the chain, names the agent as audience, and is witnessed with its parent', async () => {
    const { app, s } = await setup();
    const res = await address(app, s.plannerToken, s.planner, {
      audience: researcherId,
      resource: 'http://127.0.0.1:9999/a2a',
      scope: 'repo:read',
    });
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body.access_token!);
    const parent = decodeJwt(s.plannerToken);
    expect(claims).toMatchObject({
      sub: 'user:alice',
      aud: [researcherId, 'http://127.0.0.1:9999/a2a'],
      act: { sub: plannerId },
      may_act: { sub: researcherId },
      scope: 'repo:read',
      ancestors: [...(parent['ancestors'] as string[]), parent.jti],
      roles: [],
    });
    expect(claims.exp).toBeLessThanOrEqual(parent.exp!);
    const issued = (
      await app.inject({ headers: asAdmin, url: '/v1/events?type=credential.issued&limit=100' })
    ).json().events as Json[];
    const witness = issued.find((r) => r.credential.jti === claims.jti);
    expect(witness).toMatchObject({
      credential: {
        parent_jti: parent.jti,
        aud: [researcherId, 'http://127.0.0.1:9999/a2a'],
        grant: 'token_exchange',
      },
      delegation: [{ from: plannerId, to: researcherId }],
      attribution: { level: 'verified', reasons: ['issuer_witness'] },
    });
  });

  it('is refused by the collector itself: it is not for the collector', async () => {
    const { app, s } = await setup();
    const addressed = (await address(app, s.plannerToken, s.planner, { audience: researcherId }))
      .body.access_token!;
    const res = await postRecord(app, toolCall(plannerId), addressed);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('wrong_audience');
  });

  it('is exchanged by the agent it names, adding the hop, and provenance shows it', async () => {
    const { app, s } = await setup();
    const addressed = (await address(app, s.aliceToken, s.planner, { audience: researcherId })).body
      .access_token;
    // alice's own credential is held by alice, not the planner: refused.
    expect(addressed).toBeUndefined();
    const sent = (await address(app, s.plannerToken, s.planner, { audience: researcherId })).body
      .access_token!;
    const own = await exchange(app, sent, s.researcher, 'repo:read');
    expect(own.status).toBe(200);
    const claims = decodeJwt(own.body.access_token!);
    expect(claims.act).toEqual({ sub: researcherId, act: { sub: plannerId } });
    expect(claims.aud).toBe('provenant');
    const record = toolCall(researcherId);
    const res = await postRecord(app, record, own.body.access_token!);
    expect(res.statusCode).toBe(200);
    expect(res.json().accepted[0].attribution.level).toBe('verified');

    const p = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${record.id}/provenance` })
    ).json() as Json;
    expect(p.narrative).toContain(
      `planner/19c2 sent researcher/7f3a a credential for it alone (${decodeJwt(sent).jti}; audience ${researcherId})`,
    );
    const checks = Object.fromEntries((p.checks as Json[]).map((c) => [c.id, c.ok]));
    expect(checks).toMatchObject({
      credential: true,
      initiator_credential: true,
      'hop_granted:1': true,
      'hop_granted:2': true,
      'addressed:2': true,
      'scopes_narrow:3': true,
    });
    expect(checks['hops']).toBeUndefined();
  });

  it('cannot be exchanged by another agent than the one it names', async () => {
    const { app, s } = await setup();
    const other = await makeAgent(`spiffe://${TD}/agent/mallory/instance/0bad`);
    await register(app, {
      id: other.id,
      kind: 'agent_instance',
      agent: 'mallory',
      publicJwks: [other.jwk],
    });
    const sent = (await address(app, s.plannerToken, s.planner, { audience: researcherId })).body
      .access_token!;
    const stolen = await exchange(app, sent, other, 'repo:read');
    expect(stolen.status).toBe(400);
    expect(stolen.body).toMatchObject({ error: 'invalid_grant', provenant_code: 'wrong_audience' });
  });

  it('refuses an audience that is not another registered agent, or a holder that is not the caller', async () => {
    const { app, s } = await setup();
    const unknown = await address(app, s.plannerToken, s.planner, {
      audience: `spiffe://${TD}/agent/ghost/instance/1`,
    });
    expect(unknown.body).toMatchObject({
      error: 'invalid_target',
      provenant_code: 'audience_unknown',
    });
    const human = await address(app, s.plannerToken, s.planner, { audience: 'user:alice' });
    expect(human.body.provenant_code).toBe('audience_unknown');
    const self = await address(app, s.plannerToken, s.planner, { audience: plannerId });
    expect(self.body.provenant_code).toBe('audience_unknown');
    const notHolder = await address(app, s.plannerToken, s.researcher, {
      audience: researcherId,
    });
    expect(notHolder.body).toMatchObject({
      error: 'invalid_request',
      provenant_code: 'audience_not_holder',
    });
    const noAudience = await address(app, s.plannerToken, s.planner, {
      resource: 'http://127.0.0.1:9/a2a',
    });
    expect(noAudience.body.provenant_code).toBe('audience_required');
    const badResource = await address(app, s.plannerToken, s.planner, {
      audience: researcherId,
      resource: 'not a uri',
    });
    expect(badResource.body.provenant_code).toBe('invalid_resource');
    const wider = await address(app, s.researcherToken, s.researcher, {
      audience: plannerId,
      scope: 'repo:read repo:write',
    });
    expect(wider.body).toMatchObject({ error: 'invalid_scope' });
  });

  it('cannot be addressed again', async () => {
    const { app, s } = await setup();
    const sent = (await address(app, s.plannerToken, s.planner, { audience: researcherId })).body
      .access_token!;
    const again = await address(app, sent, s.researcher, { audience: plannerId });
    expect(again.body).toMatchObject({
      error: 'invalid_request',
      provenant_code: 'audience_not_allowed',
    });
  });
});
