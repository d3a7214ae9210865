import { uuidv7 } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import { record, asAdmin } from './helpers.js';
import type { IngestAnswer } from './helpers.js';
import {
  ADMIN,
  ISSUER,
  TD,
  aliceScenario,
  assertion,
  devLogin,
  exchange,
  makeAgent,
  makeIdentityApp,
  register,
  token,
} from './identity-helpers.js';
import type { FastifyInstance } from 'fastify';

const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;
const plannerId = `spiffe://${TD}/agent/planner/instance/19c2`;

function act(overrides: Record<string, unknown> = {}) {
  return record({
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: researcherId, kind: 'agent_instance', agent: 'researcher' },
    time: new Date().toISOString(),
    ...overrides,
  });
}

function post(app: FastifyInstance, body: unknown, bearer?: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    payload: JSON.stringify(body),
  });
}

async function logRecords(app: FastifyInstance, type: string) {
  return (await app.inject({ headers: asAdmin, url: `/v1/events?type=${type}&limit=1000` })).json()
    .events as Record<
    string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary record JSON
    any
  >[];
}

describe('verified attribution at ingest', () => {
  it('verifies a record sent under the researcher credential of alice → planner → researcher', async () => {
    const { app } = await makeIdentityApp();
    const { researcherToken } = await aliceScenario(app);
    const r = act();
    const res = await post(app, r, researcherToken);
    expect(res.statusCode).toBe(200);
    expect(res.json<IngestAnswer>().accepted[0]!.attribution.level).toBe('verified');
    const stored = (await app.inject({ headers: asAdmin, url: `/v1/events/${r['id']}` })).json();
    expect(stored.delegation.map((h: { from: string; to: string }) => [h.from, h.to])).toEqual([
      ['user:alice', plannerId],
      [plannerId, researcherId],
    ]);
    expect(stored.credential.iss).toBe(ISSUER);
  });

  it('refuses a record claiming another actor, stores nothing of it, and alerts naming the real holder', async () => {
    const { app, log } = await makeIdentityApp();
    const { researcherToken } = await aliceScenario(app);
    const before = log.size;
    const forged = act({ actor: { id: plannerId, kind: 'agent_instance' } });
    const res = await post(app, forged, researcherToken);
    expect(res.statusCode).toBe(422);
    expect(res.json<IngestAnswer>().rejected[0]!.code).toBe('attribution_mismatch');
    expect(
      (await app.inject({ headers: asAdmin, url: `/v1/events/${forged['id']}` })).statusCode,
    ).toBe(404);
    const alerts = await logRecords(app, 'security.alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.actor.id).toBe(researcherId);
    expect(alerts[0]!.initiator.id).toBe('user:alice');
    expect(alerts[0]!.action.args.claimed_actor).toBe(plannerId);
    expect(log.size).toBe(before + 1); // the alert only
  });

  it('refuses a record claiming another initiator', async () => {
    const { app } = await makeIdentityApp();
    const { researcherToken } = await aliceScenario(app);
    const res = await post(
      app,
      act({ initiator: { id: 'user:bob', kind: 'human' } }),
      researcherToken,
    );
    expect(res.json<IngestAnswer>().rejected[0]!.code).toBe('attribution_mismatch');
  });

  it('refuses a record timed outside the credential window', async () => {
    const { app } = await makeIdentityApp();
    const { researcherToken } = await aliceScenario(app);
    const res = await post(app, act({ time: '2020-01-01T00:00:00Z' }), researcherToken);
    expect(res.json<IngestAnswer>().rejected[0]!.code).toBe('attribution_mismatch');
  });

  it('writes at most one alert per credential and window, however many records contradict it', async () => {
    const { app } = await makeIdentityApp();
    const { researcherToken } = await aliceScenario(app);
    const forged = Array.from({ length: 50 }, () =>
      act({ actor: { id: plannerId, kind: 'agent_instance' } }),
    );
    await post(app, forged, researcherToken);
    await post(
      app,
      forged.map((f) => ({ ...f, id: uuidv7() })),
      researcherToken,
    );
    expect(await logRecords(app, 'security.alert')).toHaveLength(1);
  });

  it('refuses a privileged action without a credential (attribution_required)', async () => {
    const { app } = await makeIdentityApp();
    const res = await post(app, act());
    expect(res.statusCode).toBe(422);
    expect(res.json<IngestAnswer>().rejected[0]!.code).toBe('attribution_required');
    const low = act({ action: { name: 'repo.list', resource: 'repo:acme/x' } });
    expect((await post(app, low)).json<IngestAnswer>().accepted[0]!.attribution.level).toBe(
      'asserted',
    );
  });

  it('attributes a shared service account as pooled', async () => {
    const { app } = await makeIdentityApp();
    const sa = await makeAgent('sa:ci-bot');
    await register(app, { id: sa.id, kind: 'service_account', shared: true, publicJwks: [sa.jwk] });
    const t = await token(app, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(sa),
      scope: 'deploy',
    });
    expect(t.status).toBe(200);
    const r = record({
      initiator: { id: sa.id, kind: 'service_account' },
      actor: { id: sa.id, kind: 'service_account', instance: 'runner-7' },
      time: new Date().toISOString(),
      action: { name: 'deploy.run', resource: 'svc:payments' },
    });
    const res = await post(app, r, t.body.access_token);
    expect(res.json<IngestAnswer>().accepted[0]!.attribution.level).toBe('pooled');
  });

  it('refuses a bad credential for the whole request with a 401 code and stores nothing', async () => {
    const { app, log } = await makeIdentityApp();
    const { researcherToken } = await aliceScenario(app);
    const before = log.size;
    const [h, p, s] = researcherToken.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    claims.sub = 'user:mallory';
    const altered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const cases: [string, string][] = [
      [altered, 'bad_signature'],
      ['not.a.jwt', 'malformed_token'],
      [`${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`, 'unsupported_alg'],
    ];
    for (const [bearer, code] of cases) {
      const res = await post(app, act(), bearer);
      expect(res.statusCode, code).toBe(401);
      expect(res.json().error.code).toBe(code);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    }
    const notBearer = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', authorization: 'Basic abc' },
      payload: JSON.stringify(act()),
    });
    expect(notBearer.json().error.code).toBe('invalid_credential');
    expect(log.size).toBe(before);
  });
});

describe('issuer', () => {
  it('records every issue and exchange as a witness record, never the token itself', async () => {
    const { app, storage } = await makeIdentityApp();
    const s = await aliceScenario(app);
    const issued = await logRecords(app, 'credential.issued');
    const granted = await logRecords(app, 'delegation.granted');
    expect(issued).toHaveLength(1);
    expect(granted).toHaveLength(2);
    const last = granted[1]!;
    expect(last.delegation).toEqual([
      expect.objectContaining({ from: plannerId, to: researcherId, scope: ['repo:read'] }),
    ]);
    expect(last.credential.parent_jti).toBe(granted[0]!.credential.jti);
    expect(last.credential.ancestors).toEqual([
      issued[0]!.credential.jti,
      granted[0]!.credential.jti,
    ]);
    const all = (await storage.getEntries(0, 1000)).map((e) => e.canonical).join('\n');
    for (const t of [s.aliceToken, s.plannerToken, s.researcherToken]) {
      expect(all).not.toContain(t.split('.')[2]);
    }
  });

  it('refuses scope widening in an exchange and issues nothing', async () => {
    const { app, log } = await makeIdentityApp();
    const s = await aliceScenario(app);
    const before = log.size;
    const other = await makeAgent('spiffe://acme.test/agent/x/instance/1');
    await register(app, { id: other.id, kind: 'agent_instance', publicJwks: [other.jwk] });
    const before2 = log.size;
    const wide = await exchange(app, s.researcherToken, other, 'repo:write');
    expect(wide.status).toBe(400);
    expect(wide.body.error).toBe('invalid_scope');
    expect(log.size).toBe(before2);
    expect(before2).toBe(before + 2); // only the registration and its default producer grant
  });

  it('refuses everything derived from a revoked credential, at the issuer and at ingest', async () => {
    const { app } = await makeIdentityApp();
    const s = await aliceScenario(app);
    const revoke = await app.inject({
      method: 'POST',
      url: '/v1/token/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ token: s.plannerToken }).toString(),
    });
    expect(revoke.statusCode).toBe(200);
    expect(await logRecords(app, 'credential.revoked')).toHaveLength(1);
    const res = await post(app, act(), s.researcherToken);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('revoked');
    const again = await exchange(app, s.plannerToken, s.researcher, 'repo:read');
    expect(again.status).toBe(400);
  });

  it('refuses a replayed client assertion', async () => {
    const { app } = await makeIdentityApp();
    const sa = await makeAgent('sa:bot');
    await register(app, { id: sa.id, kind: 'service_account', shared: true, publicJwks: [sa.jwk] });
    const a = await assertion(sa);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: a,
    };
    expect((await token(app, form)).status).toBe(200);
    const replay = await token(app, form);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
  });

  it('answers malformed token requests with RFC 6749 errors', async () => {
    const { app } = await makeIdentityApp();
    const wrongType = await app.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/json' },
      payload: '{"grant_type":"client_credentials"}',
    });
    expect(wrongType.json().error).toBe('invalid_request');
    expect((await token(app, { grant_type: 'password' })).body.error).toBe(
      'unsupported_grant_type',
    );
    const dup = await app.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials&grant_type=client_credentials',
    });
    expect(dup.json().error).toBe('invalid_request');
    const big = await token(app, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'x'.repeat(1_000_000),
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      actor_token: 'y',
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });
    expect(big.status).toBe(400);
    expect(await devLogin(app, 'nobody', 'x')).toMatchObject({ status: 400 });
  });

  it('publishes JWKS and RFC 8414 metadata', async () => {
    const { app } = await makeIdentityApp();
    const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(jwks.keys[0].d).toBeUndefined();
    const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
    expect(meta.issuer).toBe(ISSUER);
    expect(meta.token_endpoint).toBe(`${ISSUER}/v1/token`);
    expect(meta.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:token-exchange');
  });
});

describe('principals registry', () => {
  it('needs the admin token', async () => {
    const { app } = await makeIdentityApp();
    const res = await app.inject({
      url: '/v1/principals',
      headers: { authorization: 'Bearer wrong' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('admin_required');
    expect((await app.inject({ url: '/v1/principals' })).statusCode).toBe(401);
  });

  it('records every change in the ledger and refuses a disabled principal', async () => {
    const { app } = await makeIdentityApp();
    const s = await aliceScenario(app);
    expect(await logRecords(app, 'principal.registered')).toHaveLength(3);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/principals/disable',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ id: researcherId }),
    });
    expect(res.statusCode).toBe(200);
    expect(await logRecords(app, 'principal.disabled')).toHaveLength(1);
    const again = await exchange(app, s.plannerToken, s.researcher, 'repo:read');
    expect(again.status).toBe(400);
    expect(again.body.provenant_code).toBe('principal_disabled');
  });

  it('rejects a malformed principal with invalid_principal', async () => {
    const { app } = await makeIdentityApp();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'not a uri', kind: 'wizard' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_principal');
  });
});

describe('issuer keys and human sign-in', () => {
  it('rotates the signing key and keeps trusting credentials the old key signed', async () => {
    const { app } = await makeIdentityApp();
    const s = await aliceScenario(app);
    const oldKid = JSON.parse(
      Buffer.from(s.researcherToken.split('.')[0]!, 'base64url').toString(),
    ).kid;
    const rotated = await app.inject({
      method: 'POST',
      url: '/v1/admin/keys/rotate',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(rotated.statusCode).toBe(200);
    const newKid = rotated.json().kid;
    expect(newKid).not.toBe(oldKid);
    const kids = (await app.inject({ url: '/.well-known/jwks.json' }))
      .json()
      .keys.map((k: { kid: string }) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect((await post(app, act(), s.researcherToken)).statusCode).toBe(200);
    const fresh = await devLogin(app, 'alice', 'repo:read');
    expect(
      JSON.parse(Buffer.from(fresh.body.access_token!.split('.')[0]!, 'base64url').toString()).kid,
    ).toBe(newKid);
    expect(await logRecords(app, 'issuer.key_rotated')).toHaveLength(1);
  });

  it('keeps the current key when the rotated key ring cannot be stored, and leaves no temp file', async () => {
    const { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'provenant-keys-'));
    const keysFile = join(dir, 'issuer-keys.json');
    try {
      const { app } = await makeIdentityApp({ keysFile });
      await aliceScenario(app);
      const jwks = async () =>
        (await app.inject({ url: '/.well-known/jwks.json' }))
          .json()
          .keys.map((k: { kid: string }) => k.kid);
      const before = await jwks();
      // The file cannot be replaced any more (a directory stands in its place).
      rmSync(keysFile);
      mkdirSync(keysFile);
      writeFileSync(join(keysFile, 'x'), 'x');
      const rotated = await app.inject({
        method: 'POST',
        url: '/v1/admin/keys/rotate',
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(rotated.statusCode).toBe(503);
      expect(rotated.json().error.code).toBe('storage_unavailable');
      expect(await jwks()).toEqual(before);
      const fresh = await devLogin(app, 'alice', 'repo:read');
      expect(
        JSON.parse(Buffer.from(fresh.body.access_token!.split('.')[0]!, 'base64url').toString())
          .kid,
      ).toBe(before.at(-1));
      expect(readdirSync(dir)).toEqual(['issuer-keys.json']);
      expect(await logRecords(app, 'issuer.key_rotated')).toHaveLength(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('signs a human in with an ID token from a trusted OIDC provider', async () => {
    const { generateKeyPair, exportJWK, createLocalJWKSet, SignJWT } = await import('jose');
    const idp = await generateKeyPair('ES256');
    const pub = { ...(await exportJWK(idp.publicKey)), kid: 'idp-1', alg: 'ES256' };
    const { app } = await makeIdentityApp({
      trustedIdTokenIssuers: [
        {
          iss: 'https://idp.test',
          jwks: createLocalJWKSet({ keys: [pub] }),
          algorithms: ['ES256'],
          audience: 'provenant-client',
        },
      ],
    });
    const planner = await makeAgent(plannerId);
    await register(app, { id: 'user:alice', kind: 'human' });
    await register(app, { id: plannerId, kind: 'agent_instance', publicJwks: [planner.jwk] });
    const now = Math.floor(Date.now() / 1000);
    const idToken = (iss: string) =>
      new SignJWT({ email: 'alice@acme.test' })
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
        .setIssuer(iss)
        .setSubject('alice')
        .setAudience('provenant-client')
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(idp.privateKey);
    const form = async (iss: string) => ({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await idToken(iss),
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      actor_token: await assertion(planner),
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: 'repo:read',
    });
    const ok = await token(app, await form('https://idp.test'));
    expect(ok.status).toBe(200);
    const claims = JSON.parse(
      Buffer.from(ok.body.access_token!.split('.')[1]!, 'base64url').toString(),
    );
    expect(claims.sub).toBe('user:alice');
    expect(claims.act).toEqual({ sub: plannerId });
    const untrusted = await token(app, await form('https://evil.test'));
    expect(untrusted.status).toBe(400);
    expect(untrusted.body.error).toBe('invalid_grant');
  });
});

describe('admin and revocation routes with bad input', () => {
  it('answers each with a stable code and changes nothing', async () => {
    const { app, log } = await makeIdentityApp();
    await aliceScenario(app);
    const before = log.size;
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const disable = (payload: string, headers = admin) =>
      app.inject({ method: 'POST', url: '/v1/principals/disable', headers, payload });
    expect((await disable('{}')).json().error.code).toBe('invalid_principal');
    expect((await disable('{not json')).json().error.code).toBe('malformed_json');
    expect((await disable(JSON.stringify({ id: 'user:nobody' }))).json().error.code).toBe(
      'not_found',
    );
    const noAdmin = { 'content-type': 'application/json' } as typeof admin;
    expect((await disable(JSON.stringify({ id: 'user:alice' }), noAdmin)).statusCode).toBe(401);
    const rotate = await app.inject({ method: 'POST', url: '/v1/admin/keys/rotate' });
    expect(rotate.statusCode).toBe(401);
    expect(rotate.json().error.code).toBe('admin_required');
    const revoke = (payload: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/token/revoke',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
    expect((await revoke('')).json().error).toBe('invalid_request');
    expect((await revoke('token=not.a.jwt')).json().error).toBe('invalid_request');
    expect(log.size).toBe(before);
  });
});
