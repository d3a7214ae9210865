import { decodeJwt } from 'jose';
import type { FastifyInstance } from 'fastify';
import type { MemoryStorage } from '@provenant/ledger';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  assertion,
  devLogin,
  exchange,
  makeAgent,
  makeIdentityApp,
  register,
  token,
} from './identity-helpers.js';

const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';

async function admin(app: FastifyInstance, url: string, body: unknown, auth = ADMIN) {
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

/** The registry's own records in the log, as `type principal role|scopes`. */
async function registryRecords(storage: MemoryStorage): Promise<string[]> {
  const entries = await storage.getEntries(0, 10_000);
  return entries
    .map((e) => JSON.parse(e.canonical) as Record<string, never>)
    .filter((r) => ['role.granted', 'role.revoked', 'scope.ceiling_set'].includes(r['type']))
    .map((r) => {
      const action = r['action'] as { resource: string; args: Record<string, unknown> };
      const what = action.args['role'] ?? (action.args['scopes'] as string[]).join(',');
      return `${r['type']} ${action.resource} ${String(what)}`;
    });
}

const rolesOf = (accessToken: string | undefined) => decodeJwt(accessToken!)['roles'];

describe('role grants in the registry', () => {
  it('grants a new workload producer and a new human nothing, each grant a record', async () => {
    const { app, storage } = await makeIdentityApp();
    const planner = await makeAgent(PLANNER);
    await register(app, { id: 'user:alice', kind: 'human' });
    await register(app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    expect(await registryRecords(storage)).toEqual([`role.granted ${PLANNER} producer`]);
    const issued = await token(app, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(planner),
    });
    expect(rolesOf(issued.body.access_token)).toEqual(['producer']);
    expect(rolesOf((await devLogin(app, 'alice', '')).body.access_token)).toEqual([]);
    const listed = await app.inject({
      url: '/v1/principals',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(listed.json().principals).toMatchObject([
      { id: PLANNER, roles: ['producer'] },
      { id: 'user:alice', roles: [] },
    ]);
  });

  it('puts a granted role in credentials, and never a revoked one', async () => {
    const { app, storage } = await makeIdentityApp();
    await register(app, { id: 'user:alice', kind: 'human' });
    const grant = await admin(app, '/v1/principals/roles/grant', {
      id: 'user:alice',
      role: 'analyst',
    });
    expect(grant).toEqual({
      status: 200,
      body: { id: 'user:alice', roles: ['analyst'], changed: true },
    });
    expect(rolesOf((await devLogin(app, 'alice', '')).body.access_token)).toEqual(['analyst']);
    // Granting again changes nothing and writes nothing.
    expect(
      (await admin(app, '/v1/principals/roles/grant', { id: 'user:alice', role: 'analyst' })).body,
    ).toMatchObject({ changed: false });
    const revoke = await admin(app, '/v1/principals/roles/revoke', {
      id: 'user:alice',
      role: 'analyst',
    });
    expect(revoke.body).toEqual({ id: 'user:alice', roles: [], changed: true });
    expect(rolesOf((await devLogin(app, 'alice', '')).body.access_token)).toEqual([]);
    expect(await registryRecords(storage)).toEqual([
      'role.granted user:alice analyst',
      'role.revoked user:alice analyst',
    ]);
  });

  it('keeps roles when a principal is registered again, and revokes a default role', async () => {
    const { app } = await makeIdentityApp();
    const planner = await makeAgent(PLANNER);
    await register(app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    await admin(app, '/v1/principals/roles/revoke', { id: PLANNER, role: 'producer' });
    await register(app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    const issued = await token(app, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(planner),
    });
    expect(rolesOf(issued.body.access_token)).toEqual([]);
    // A delegation to an actor without producer carries no role either.
    await register(app, { id: 'user:alice', kind: 'human' });
    await admin(app, '/v1/principals/roles/grant', { id: 'user:alice', role: 'admin' });
    const alice = (await devLogin(app, 'alice', '')).body.access_token!;
    expect(rolesOf((await exchange(app, alice, planner)).body.access_token)).toEqual([]);
  });

  it("stops counting a workload's revoked role on its live credential at once", async () => {
    const { app, identity } = await makeIdentityApp();
    const planner = await makeAgent(PLANNER);
    await register(app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    const live = (
      await token(app, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(planner),
      })
    ).body.access_token!;
    expect((await identity.verifier.verify(live)).roles).toEqual(['producer']);
    await admin(app, '/v1/principals/roles/revoke', { id: PLANNER, role: 'producer' });
    expect(rolesOf(live)).toEqual(['producer']); // the claim is what it was …
    expect((await identity.verifier.verify(live)).roles).toEqual([]); // … but it counts no more
  });

  it('refuses a grant without the admin token, of an unknown role or principal', async () => {
    const { app, storage } = await makeIdentityApp();
    await register(app, { id: 'user:alice', kind: 'human' });
    const url = '/v1/principals/roles/grant';
    expect((await admin(app, url, { id: 'user:alice', role: 'admin' }, 'wrong')).status).toBe(401);
    expect(await admin(app, url, { id: 'user:alice', role: 'root' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_principal' } },
    });
    expect((await admin(app, url, { id: 'user:bob', role: 'admin' })).status).toBe(404);
    expect(
      (await admin(app, '/v1/principals', { id: 'user:x', kind: 'human', roles: ['admin'] }))
        .status,
    ).toBe(400);
    expect(await registryRecords(storage)).toEqual([]);
  });
});
