import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwksSource } from '@provenant/identity';
import { asAdmin, record } from './helpers.js';
import type { IngestAnswer } from './helpers.js';
import { ISSUER, TD, devLogin, makeIdentityApp, register, token } from './identity-helpers.js';
import type { FastifyInstance } from 'fastify';

const dir = mkdtempSync(join(tmpdir(), 'spiffe-server-'));
const PLANNER = `spiffe://${TD}/agent/planner/instance/19c2`;

function spireKey(kid: string): { kid: string; privateKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    privateKey,
    jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'jwt-svid' },
  };
}

async function spiffeApp(patterns: string[] = []) {
  const key = spireKey('spire-1');
  const file = join(dir, `bundle-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ keys: [key.jwk] }));
  const built = await makeIdentityApp({
    spiffe: [
      {
        trustDomain: TD,
        bundle: jwksSource(file, { use: 'jwt-svid' }),
        pathPatterns: patterns,
      },
    ],
  });
  const svid = (sub = PLANNER, aud: string = `${ISSUER}/v1/token`) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub, aud, iat: now, exp: now + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  };
  return { ...built, svid };
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function records(app: FastifyInstance, type: string) {
  const res = await app.inject({ headers: asAdmin, url: `/v1/events?type=${type}&limit=100` });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads record JSON
  return res.json().events as any[];
}

function ingest(app: FastifyInstance, body: unknown, credential: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
    payload: JSON.stringify(body),
  });
}

describe('JWT-SVIDs at the token endpoint', () => {
  it('authenticates client_credentials with an SVID and records the bundle key as evidence', async () => {
    const { app, svid } = await spiffeApp();
    await register(app, { id: PLANNER, kind: 'agent_instance', agent: 'planner' });
    const res = await token(app, {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await svid(),
    });
    expect(res.status).toBe(200);
    const issued = (await records(app, 'credential.issued')).at(-1);
    expect(issued.initiator).toEqual({ id: PLANNER, kind: 'agent_instance' });
    expect(issued.credential.authn).toEqual({
      method: 'jwt_svid',
      spiffe_id: PLANNER,
      trust_domain: TD,
      kid: 'spire-1',
    });
    // Records sent under it are verified, the SPIFFE id their actor.
    const r = record({
      time: new Date().toISOString(),
      initiator: { id: PLANNER, kind: 'agent_instance' },
      actor: { id: PLANNER, kind: 'agent_instance', agent: 'planner' },
    });
    const sent = await ingest(app, r, res.body.access_token!);
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json<IngestAnswer>().accepted[0]!.attribution.level).toBe('verified');
  });

  it('takes an SVID as the actor token: the delegation hop names the SPIFFE id', async () => {
    const { app, svid } = await spiffeApp(['/agent/*/instance/*']);
    await register(app, { id: 'user:alice', kind: 'human' });
    const alice = await devLogin(app, 'alice', 'repo:read');
    // Not registered: admitted by the path pattern.
    const summarizer = `spiffe://${TD}/agent/summarizer/instance/1`;
    const res = await token(app, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: alice.body.access_token!,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      actor_token: await svid(summarizer, ISSUER),
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });
    expect(res.status).toBe(200);
    const granted = (await records(app, 'delegation.granted')).at(-1);
    expect(granted.delegation).toEqual([
      expect.objectContaining({ from: 'user:alice', to: summarizer }),
    ]);
    expect(granted.credential.authn).toMatchObject({ spiffe_id: summarizer, kid: 'spire-1' });
    const r = record({
      time: new Date().toISOString(),
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: summarizer, kind: 'agent_instance', agent: 'summarizer' },
    });
    const sent = await ingest(app, r, res.body.access_token!);
    expect(sent.json<IngestAnswer>().accepted[0]!.attribution.level).toBe('verified');
  });

  it('answers a refused SVID with invalid_client and its precise code', async () => {
    const { app, svid } = await spiffeApp(['/agent/*/instance/*']);
    const res = await token(app, {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await svid(`spiffe://${TD}/db/primary`),
    });
    expect([res.status, res.body.error, res.body.provenant_code]).toEqual([
      401,
      'invalid_client',
      'spiffe_id_not_allowed',
    ]);
    const wrongAud = await token(app, {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await svid(PLANNER, 'spiffe://acme.test/some-other-service'),
    });
    expect(wrongAud.body.provenant_code).toBe('wrong_audience');
  });
});
