import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { nestAct } from '@provenant/identity';
import { record } from './helpers.js';
import { ISSUER, aliceScenario, makeIdentityApp } from './identity-helpers.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/**
 * Every credential attack over HTTP: refused with a 4xx code, nothing stored, still serving.
 * The library tests (packages/identity) check each defence in isolation; these check the
 * collector wires them all.
 */
describe('credential attacks on POST /v1/events', async () => {
  const { app, log, identity } = await makeIdentityApp();
  const { researcherToken } = await aliceScenario(app);
  const key = identity.keys.current();
  const now = Math.floor(Date.now() / 1000);
  const claims = JSON.parse(Buffer.from(researcherToken.split('.')[1]!, 'base64url').toString());
  const sign = (
    payload: Record<string, unknown>,
    header: Record<string, unknown> = {},
    signingKey = key.privateKey,
  ) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt', ...header })
      .sign(signingKey as Parameters<SignJWT['sign']>[0]);
  const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const publicPem = createPublicKey(key.privateKey as never).export({
    format: 'pem',
    type: 'spki',
  });
  const hs256 = (() => {
    const h = b64({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' });
    const p = b64(claims);
    const mac = createHmac('sha256', publicPem).update(`${h}.${p}`).digest('base64url');
    return `${h}.${p}.${mac}`;
  })();
  const [h0, , s0] = researcherToken.split('.');
  const altered = `${h0}.${b64({ ...claims, scope: 'repo:read repo:write admin' })}.${s0}`;

  const cases: [string, () => Promise<string> | string, string][] = [
    ['alg none', () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`, 'unsupported_alg'],
    ['HS256 signed with the public key as secret', () => hs256, 'unsupported_alg'],
    [
      'an unknown kid',
      () => sign({ ...claims, jti: randomUUID() }, { kid: 'no-such-key' }),
      'unknown_kid',
    ],
    [
      'a key from another issuer',
      () => sign({ ...claims, jti: randomUUID() }, {}, other.privateKey),
      'bad_signature',
    ],
    [
      'an expired credential',
      () => sign({ ...claims, jti: randomUUID(), iat: now - 7200, exp: now - 3600 }),
      'expired',
    ],
    [
      'nbf in the future',
      () => sign({ ...claims, jti: randomUUID(), nbf: now + 3600 }),
      'not_yet_valid',
    ],
    [
      'a wrong audience',
      () => sign({ ...claims, jti: randomUUID(), aud: 'someone-else' }),
      'wrong_audience',
    ],
    [
      'a wrong issuer',
      () => sign({ ...claims, jti: randomUUID(), iss: 'https://evil.test' }),
      'wrong_issuer',
    ],
    ['a payload altered after signing', () => altered, 'bad_signature'],
    // 1,000 levels no longer fit in the size bound, so it is refused before any parsing.
    [
      'an act chain nested 1,000 deep',
      () =>
        sign({
          ...claims,
          jti: randomUUID(),
          act: nestAct(Array.from({ length: 1000 }, (_, i) => `user:a${i}`)),
        }),
      'token_too_large',
    ],
    [
      'an act chain nested 100 deep',
      () =>
        sign({
          ...claims,
          jti: randomUUID(),
          act: nestAct(Array.from({ length: 100 }, (_, i) => `user:a${i}`)),
        }),
      'act_too_deep',
    ],
    ['a 200 KB credential', () => `${'a'.repeat(200_000)}.b.c`, 'token_too_large'],
  ];

  it.each(cases)('refuses %s', async (_name, make, code) => {
    const before = log.size;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await make()}` },
      payload: JSON.stringify(record({ time: new Date().toISOString() })),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe(code);
    expect(log.size).toBe(before);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('still accepts the genuine credential after every attack', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${researcherToken}` },
      payload: JSON.stringify(
        record({
          time: new Date().toISOString(),
          initiator: { id: 'user:alice', kind: 'human' },
          actor: { id: claims.act.sub, kind: 'agent_instance' },
        }),
      ),
    });
    expect(res.statusCode).toBe(200);
    expect(ISSUER).toBe(claims.iss);
  });
});
