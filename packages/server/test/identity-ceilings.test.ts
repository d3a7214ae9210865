import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, createLocalJWKSet, type JWK } from 'jose';
import type { TrustedIssuer } from '@provenant/identity';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteRegistryStore } from '../src/identity/registry-sqlite.js';
import {
  ADMIN,
  assertion,
  devLogin,
  makeAgent,
  makeIdentityApp,
  register,
  token,
} from './identity-helpers.js';
import type { Agent } from './identity-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-ceilings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';
const IDP = 'https://accounts.example.com';

function idp() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'idp-1', alg: 'ES256' };
  const trusted: TrustedIssuer = {
    iss: IDP,
    jwks: createLocalJWKSet({ keys: [jwk] }),
    algorithms: ['ES256'],
    audience: 'provenant-client',
  };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).sign(privateKey);
  return { trusted, sign };
}

const setCeiling = (app: FastifyInstance, id: string, scopes: string[]) =>
  app.inject({
    method: 'POST',
    url: '/v1/principals/scopes',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ id, scopes }),
  });

const clientCredentials = async (app: FastifyInstance, agent: Agent, scope?: string) =>
  token(app, {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion(agent),
    ...(scope === undefined ? {} : { scope }),
  });

const idTokenExchange = async (
  app: FastifyInstance,
  idToken: string,
  actor: Agent,
  scope?: string,
) =>
  token(app, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: idToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    actor_token: await assertion(actor),
    actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    ...(scope === undefined ? {} : { scope }),
  });

describe('scope ceilings at the token endpoint', () => {
  it('refuses client_credentials beyond the ceiling an admin set, and records the ceiling', async () => {
    const { app, storage } = await makeIdentityApp();
    const planner = await makeAgent(PLANNER);
    await register(app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    expect((await setCeiling(app, PLANNER, ['repo:read'])).json()).toEqual({
      id: PLANNER,
      scopes: ['repo:read'],
    });
    const wide = await clientCredentials(app, planner, 'repo:read repo:admin');
    expect(wide).toMatchObject({
      status: 400,
      body: { error: 'invalid_scope', provenant_code: 'invalid_scope' },
    });
    expect((await clientCredentials(app, planner)).body.scope).toBe('repo:read');
    const records = (await storage.getEntries(0, 1000)).map(
      (e) => JSON.parse(e.canonical) as { type: string; action?: { args?: unknown } },
    );
    expect(
      records.filter((r) => r.type === 'scope.ceiling_set').map((r) => r.action?.args),
    ).toEqual([{ scopes: ['repo:read'] }]);
  });

  it('refuses dev-login beyond the ceiling set at registration', async () => {
    const { app } = await makeIdentityApp();
    await register(app, { id: 'user:alice', kind: 'human', scopes: ['repo:read'] });
    const wide = await devLogin(app, 'alice', 'repo:read repo:write');
    expect(wide).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect((await devLogin(app, 'alice', 'repo:read')).status).toBe(200);
  });

  it('grants no scope to a principal without a ceiling outside development', async () => {
    const { app } = await makeIdentityApp({ devLogin: false });
    const planner = await makeAgent(PLANNER);
    await register(app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    expect(await clientCredentials(app, planner, 'repo:read')).toMatchObject({
      status: 400,
      body: { error: 'invalid_scope' },
    });
    expect((await clientCredentials(app, planner)).body.scope).toBe('');
    await setCeiling(app, PLANNER, ['repo:read']);
    expect((await clientCredentials(app, planner, 'repo:read')).status).toBe(200);
  });

  it('refuses an ID-token sign-in beyond the ceiling', async () => {
    const { trusted, sign } = idp();
    const { app } = await makeIdentityApp({ devLogin: false, trustedIdTokenIssuers: [trusted] });
    const planner = await makeAgent(PLANNER);
    await register(app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    await register(app, { id: 'user:alice', kind: 'human', scopes: ['repo:read'] });
    const now = Math.floor(Date.now() / 1000);
    const idToken = (jti: string) =>
      sign({ iss: IDP, sub: 'alice', aud: 'provenant-client', iat: now, exp: now + 600, jti });
    expect(
      await idTokenExchange(app, await idToken('a'), planner, 'repo:read repo:write'),
    ).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    const ok = await idTokenExchange(app, await idToken('b'), planner, 'repo:read');
    expect(ok.status).toBe(200);
  });
});

describe('an ID token is usable once, across restarts', () => {
  it('refuses the same ID token the second time, also after the collector restarts', async () => {
    const { trusted, sign } = idp();
    const file = join(root, 'registry.db');
    const planner = await makeAgent(PLANNER);
    const first = await makeIdentityApp(
      { devLogin: false, trustedIdTokenIssuers: [trusted] },
      new SqliteRegistryStore(file),
    );
    await register(first.app, { id: PLANNER, kind: 'agent_instance', publicJwks: [planner.jwk] });
    await register(first.app, { id: 'user:alice', kind: 'human' });
    const now = Math.floor(Date.now() / 1000);
    // No jti: identified by iss, sub, iat and nonce.
    const idToken = await sign({
      iss: IDP,
      sub: 'alice',
      aud: 'provenant-client',
      iat: now,
      exp: now + 600,
      nonce: 'n-1',
    });
    expect((await idTokenExchange(first.app, idToken, planner)).status).toBe(200);
    expect(await idTokenExchange(first.app, idToken, planner)).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant', provenant_code: 'token_replayed' },
    });
    await first.identity.close();

    const second = await makeIdentityApp(
      { devLogin: false, trustedIdTokenIssuers: [trusted] },
      new SqliteRegistryStore(file),
    );
    expect(await idTokenExchange(second.app, idToken, planner)).toMatchObject({
      status: 400,
      body: { provenant_code: 'token_replayed' },
    });
    await second.identity.close();
  });
});
