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

/** A verifier trusting `ring` (one-hour tokens), without a cache. */
const ringVerifier = (ring: IssuerKeyRing, clock: FrozenClock) =>
  new CredentialVerifier({
    issuers: [keyRingIssuer(ISS, ring, 3600, clock.now)],
    audience: AUD,
    clock: clock.now,
    revocations: new MemoryRevocationStore(),
    cacheSize: 0,
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
    const next = ring.rotate(t0 + 10_000).key;
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
    const verifier = ringVerifier(ring, clock);
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

  it('refuses a token newly minted with a retired key: only those issued before the rotation verify', async () => {
    const clock = new FrozenClock();
    const ring = IssuerKeyRing.generate(clock.ms);
    const verifier = ringVerifier(ring, clock);
    const old = ring.current();
    const before = await signWith(old, claims(clock.sec));
    clock.advance(5);
    ring.rotate(clock.ms);
    clock.advance(1);
    // Whoever holds the old private key signs a fresh token with it after the rotation.
    const minted = await signWith(old, claims(clock.sec));
    expect(await rejection(verifier.verify(minted))).toMatchObject({
      code: 'key_retired',
      claim: 'iat',
    });
    // Back-dating it to before the rotation is what a leak still allows until the window ends:
    // `retireNow` is the answer to a leak (below).
    expect((await verifier.verify(before)).subject).toBe(ALICE);
    expect(ring.jwks(clock.ms, 3600).keys.map((k) => k.kid)).toContain(old.kid);
  });

  it('retireNow drops every older key: its tokens stop verifying and the JWKS stops listing it', async () => {
    const clock = new FrozenClock();
    const ring = IssuerKeyRing.generate(clock.ms);
    const verifier = ringVerifier(ring, clock);
    const first = ring.current();
    const issued = await signWith(first, claims(clock.sec));
    ring.rotate(clock.ms + 1000);
    const second = ring.current();
    clock.advance(10);
    const { key, dropped } = ring.rotate(clock.ms, { retireNow: true });
    expect(dropped).toEqual([first.kid, second.kid]);
    expect(ring.all()).toEqual([key]);
    expect(ring.jwks(clock.ms, 3600).keys.map((k) => k.kid)).toEqual([key.kid]);
    expect(JSON.stringify(ring.toJSON())).not.toContain(first.kid);
    expect((await rejection(verifier.verify(issued))).code).toBe('unknown_kid');
    await verifier.verify(await signWith(key, claims(clock.sec)));
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
    ring.rotate(10, { alg: 'ES256' });
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
