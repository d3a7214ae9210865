import { randomUUID } from 'node:crypto';
import { MemoryStorage } from '@provenant/ledger';
import { Log, generateSignerKey, parseSignerKey } from '@provenant/ledger';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildApp, DEFAULT_LIMITS } from '../src/index.js';
import type { AnonymousIngest } from '../src/index.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { MemoryRegistryStore } from '../src/identity/registry.js';
import type { RegistryStore } from '../src/identity/registry.js';
import { IdentityService, defaultIdentityConfig } from '../src/identity/service.js';
import type { IdentityConfig } from '../src/identity/service.js';

export const ISSUER = 'http://issuer.test';
export { ADMIN_TOKEN as ADMIN } from './helpers.js';
import { ADMIN_TOKEN } from './helpers.js';
export const TD = 'acme.test';

export interface Agent {
  id: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function makeAgent(id: string): Promise<Agent> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const jwk = { ...pub, kid: await calculateJwkThumbprint(pub), alg: 'EdDSA' };
  return { id, privateKey, jwk };
}

export async function assertion(
  agent: Agent,
  overrides: { aud?: string; jti?: string; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: agent.jwk.kid! })
    .setIssuer(agent.id)
    .setSubject(agent.id)
    .setAudience(overrides.aud ?? `${ISSUER}/v1/token`)
    .setIssuedAt(now)
    .setExpirationTime(overrides.exp ?? now + 60)
    .setJti(overrides.jti ?? randomUUID())
    .sign(agent.privateKey);
}

export async function makeIdentityApp(
  config: Partial<IdentityConfig> = {},
  store: RegistryStore = new MemoryRegistryStore(),
  anonymousIngest: AnonymousIngest = 'asserted',
): Promise<{
  app: FastifyInstance;
  log: Log;
  identity: IdentityService;
  storage: MemoryStorage;
}> {
  const storage = new MemoryStorage();
  const log = await Log.open({
    storage,
    signer: parseSignerKey(generateSignerKey('identity.test/log').signerKey),
  });
  const identity = await IdentityService.create(store, {
    ...defaultIdentityConfig(ISSUER),
    devLogin: true,
    ...config,
  });
  const app = buildApp({
    log,
    storage,
    limits: DEFAULT_LIMITS,
    identity,
    alerts: new AlertLimiter(),
    adminToken: ADMIN_TOKEN,
    anonymousIngest,
  });
  return { app, log, identity, storage };
}

/**
 * A credential of the app's own issuer carrying `roles` (RFC 9068 `roles` claim), signed with
 * its current key, as the issuer signs one for a principal granted those roles.
 */
export async function credentialWithRoles(
  identity: IdentityService,
  roles: readonly string[],
  overrides: { sub?: string; exp?: number; iss?: string } = {},
): Promise<string> {
  const key = identity.keys.current();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: overrides.iss ?? identity.config.issuer,
    sub: overrides.sub ?? 'user:carol',
    aud: identity.config.audience,
    iat: now,
    exp: overrides.exp ?? now + 300,
    jti: randomUUID(),
    scope: 'repo:read',
    roles: [...roles],
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .sign(key.privateKey);
}

export async function register(app: FastifyInstance, principal: Record<string, unknown>) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ shared: false, disabled: false, ...principal }),
  });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.body}`);
}

/** Grants `role` to a registered principal through the admin route (a ledger record). */
export async function grantRole(app: FastifyInstance, id: string, role: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/principals/roles/grant',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ id, role }),
  });
  if (res.statusCode !== 200) throw new Error(`grant failed: ${res.body}`);
}

export async function token(app: FastifyInstance, form: Record<string, string>) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
  });
  return {
    status: res.statusCode,
    body: res.json() as Record<string, unknown> & {
      access_token?: string;
      error?: string;
      provenant_code?: string;
    },
  };
}

export const devLogin = (app: FastifyInstance, user: string, scope: string) =>
  token(app, {
    grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
    username: user,
    scope,
  });

export async function exchange(
  app: FastifyInstance,
  subjectToken: string,
  actor: Agent,
  scope?: string,
) {
  return token(app, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    actor_token: await assertion(actor),
    actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    ...(scope ? { scope } : {}),
  });
}

/** alice → planner → researcher, with registered keys; returns each credential of the chain. */
export async function aliceScenario(app: FastifyInstance) {
  const planner = await makeAgent(`spiffe://${TD}/agent/planner/instance/19c2`);
  const researcher = await makeAgent(`spiffe://${TD}/agent/researcher/instance/7f3a`);
  await register(app, { id: 'user:alice', kind: 'human' });
  await register(app, {
    id: planner.id,
    kind: 'agent_instance',
    agent: 'planner',
    publicJwks: [planner.jwk],
  });
  await register(app, {
    id: researcher.id,
    kind: 'agent_instance',
    agent: 'researcher',
    publicJwks: [researcher.jwk],
  });
  const alice = await devLogin(app, 'alice', 'repo:read repo:write');
  const plannerToken = await exchange(
    app,
    alice.body.access_token!,
    planner,
    'repo:read repo:write',
  );
  const researcherToken = await exchange(
    app,
    plannerToken.body.access_token!,
    researcher,
    'repo:read',
  );
  return {
    planner,
    researcher,
    aliceToken: alice.body.access_token!,
    plannerToken: plannerToken.body.access_token!,
    researcherToken: researcherToken.body.access_token!,
  };
}
