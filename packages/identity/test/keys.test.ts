import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CredentialVerifier,
  IssuerKeyRing,
  MemoryRevocationStore,
  keyRingIssuer,
} from '../src/index.js';
import { RETIRED_KEY_GRACE_SEC } from '../src/keys.js';
import { ALICE, AUD, FrozenClock, ISS, rejection, signWith } from './helpers.js';

const claims = (sec: number) => ({
  iss: ISS,
  sub: ALICE,
  aud: AUD,
  iat: sec,
  exp: sec + 300,
  jti: `j${sec}`,
  scope: '',
});

describe('IssuerKeyRing', () => {
  it('generates an Ed25519 key named by its RFC 7638 thumbprint, and ES256 on request', async () => {
    const ring = IssuerKeyRing.generate(1000);
    const k = ring.current();
    expect(k.alg).toBe('EdDSA');
    expect(k.publicJwk).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      alg: 'EdDSA',
      use: 'sig',
      kid: k.kid,
    });
    expect(k.publicJwk).not.toHaveProperty('d');
    expect(k.kid).toBe(await calculateJwkThumbprint(k.publicJwk));
    const ec = IssuerKeyRing.generate(1000, 'ES256').current();
    expect(ec.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(ec.kid).toBe(await calculateJwkThumbprint(ec.publicJwk));
  });

  it('keeps a retired key published until every token it signed has expired', () => {
    const t0 = 1_800_000_000_000;
    const ring = IssuerKeyRing.generate(t0);
    const old = ring.current();
    const next = ring.rotate(t0 + 10_000);
    expect(ring.current()).toBe(next);
    expect(old.retiredAt).toBe(t0 + 10_000);
    const kids = (now: number) => ring.jwks(now, 3600).keys.map((k) => k.kid);
    expect(kids(t0 + 10_000)).toEqual([old.kid, next.kid]);
    const end = t0 + 10_000 + (3600 + RETIRED_KEY_GRACE_SEC) * 1000;
    expect(kids(end - 1)).toEqual([old.kid, next.kid]);
    expect(kids(end)).toEqual([next.kid]);
    ring.prune(end, 3600);
    expect(ring.all()).toHaveLength(1);
  });

  it('verifies tokens of the retired key through rotation, and refuses them after its window', async () => {
    const clock = new FrozenClock();
    const ring = IssuerKeyRing.generate(clock.ms);
    const verifier = new CredentialVerifier({
      issuers: [keyRingIssuer(ISS, ring, 3600, clock.now)],
      audience: AUD,
      clock: clock.now,
      revocations: new MemoryRevocationStore(),
      cacheSize: 0,
    });
    const old = ring.current();
    const before = await signWith(old, { ...claims(clock.sec), exp: clock.sec + 3600 });
    ring.rotate(clock.ms);
    const after = await signWith(ring.current(), claims(clock.sec));
    await verifier.verify(before);
    await verifier.verify(after);
    clock.advance(3600 + RETIRED_KEY_GRACE_SEC);
    // Even a token signed with the retired key that claims to be fresh is refused now.
    const late = await signWith(old, claims(clock.sec));
    expect((await rejection(verifier.verify(late))).code).toBe('unknown_kid');
  });

  it('publishes a JWKS that standard verifiers accept', async () => {
    const ring = IssuerKeyRing.generate(Date.now());
    const token = await signWith(ring.current(), claims(Math.floor(Date.now() / 1000)));
    const { payload } = await jwtVerify(token, createLocalJWKSet(ring.jwks(Date.now(), 3600)), {
      audience: AUD,
    });
    expect(payload.sub).toBe(ALICE);
  });

  it('round-trips through JSON, private keys included', async () => {
    const ring = IssuerKeyRing.generate(5);
    ring.rotate(10, 'ES256');
    const json = JSON.parse(JSON.stringify(ring.toJSON())) as unknown;
    const back = IssuerKeyRing.fromJSON(json);
    expect(back.all().map((k) => [k.kid, k.alg, k.createdAt, k.retiredAt])).toEqual(
      ring.all().map((k) => [k.kid, k.alg, k.createdAt, k.retiredAt]),
    );
    // The restored private key signs tokens the original public key verifies.
    const token = await signWith(back.current(), claims(1));
    await jwtVerify(token, createLocalJWKSet(ring.jwks(10, 3600)), { currentDate: new Date(1000) });
  });

  it('refuses a persisted ring that is not one, or whose kid is not its key', () => {
    const json = IssuerKeyRing.generate(5).toJSON();
    expect(() => IssuerKeyRing.fromJSON({ version: 2, keys: json.keys })).toThrow(TypeError);
    expect(() => IssuerKeyRing.fromJSON({ version: 1, keys: [] })).toThrow(TypeError);
    expect(() => IssuerKeyRing.fromJSON(null)).toThrow(TypeError);
    expect(() =>
      IssuerKeyRing.fromJSON({ version: 1, keys: [{ ...json.keys[0], kid: 'other' }] }),
    ).toThrow(/thumbprint/);
    expect(() =>
      IssuerKeyRing.fromJSON({
        version: 1,
        keys: [{ ...json.keys[0], privateJwk: { kty: 'oct', k: 'AA' } }],
      }),
    ).toThrow(TypeError);
  });
});
