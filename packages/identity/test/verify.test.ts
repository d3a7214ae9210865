import { createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  CredentialVerifier,
  IssuerKeyRing,
  MemoryRevocationStore,
  keyRingIssuer,
} from '../src/index.js';
import { toOAuthError } from '../src/errors.js';
import { ALICE, AUD, ISS, PLANNER, RESEARCHER, rejection, signWith, world } from './helpers.js';

describe('CredentialVerifier', () => {
  it('verifies a delegated credential and reports its chain', async () => {
    const w = world();
    const alice = await w.alice(['repo:read', 'repo:write']);
    const planner = await w.delegate(alice, PLANNER);
    const researcher = await w.delegate(planner, RESEARCHER, ['repo:read']);
    const v = await w.verifier.verify(researcher.token);
    expect(v.subject).toBe(ALICE);
    expect(v.actors).toEqual([RESEARCHER, PLANNER]);
    expect(v.chain).toEqual([ALICE, PLANNER, RESEARCHER]);
    expect(v.scope).toEqual(['repo:read']);
    expect(v.ancestors).toEqual([alice.claims.jti, planner.claims.jti]);
    expect(v.jti).toBe(researcher.claims.jti);
    expect(v.claims.act).toEqual({ sub: RESEARCHER, act: { sub: PLANNER } });
    expect(v.tokenDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(v)).not.toContain(researcher.token);
  });

  it('accepts a credential within the skew of its exp, and refuses it after', async () => {
    const w = world();
    const alice = await w.alice();
    w.clock.advance(300 + 29);
    await w.verifier.verify(alice.token);
    w.clock.advance(1);
    expect((await rejection(w.verifier.verify(alice.token))).code).toBe('expired');
  });

  it('requires jti, sub, iat and exp', async () => {
    const w = world();
    for (const claim of ['jti', 'sub', 'iat', 'exp']) {
      const claims: Record<string, unknown> = {
        iss: ISS,
        sub: ALICE,
        aud: AUD,
        iat: w.clock.sec,
        exp: w.clock.sec + 60,
        jti: 'j1',
        scope: '',
      };
      delete claims[claim];
      const e = await rejection(w.verifier.verify(await signWith(w.keys.current(), claims)));
      expect(e).toBeInstanceOf(CredentialError);
      expect([e.code, e.claim]).toEqual(['missing_claim', claim]);
    }
  });

  it('refuses claims of the wrong type', async () => {
    const w = world();
    const base = {
      iss: ISS,
      sub: ALICE,
      aud: AUD,
      iat: w.clock.sec,
      exp: w.clock.sec + 60,
      jti: 'j1',
      scope: 'a',
    };
    for (const [claim, value] of [
      ['sub', 42],
      ['jti', ''],
      ['scope', 'bad"scope'],
      ['act', { act: { sub: PLANNER } }],
      ['act', 'planner'],
      ['ancestors', 'j0'],
      ['may_act', { nope: 1 }],
      ['iat', 1.5],
      ['id_token', 'idt-1'],
      ['id_token', null],
      ['id_token', { iss: 'https://idp.example' }],
      ['id_token', { iss: 'https://idp.example', jti: '' }],
      ['id_token', { iss: 'https://idp.example', jti: 'idt-1', extra: 1 }],
      ['id_token', { iss: 'https://idp.example', jti: 'x'.repeat(1025) }],
    ] as const) {
      const e = await rejection(
        w.verifier.verify(await signWith(w.keys.current(), { ...base, [claim]: value })),
      );
      expect([claim, e.code]).toEqual([claim, 'malformed_token']);
    }
  });

  it('refuses tokens that are not compact JWS', async () => {
    const w = world();
    for (const token of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      '!!.??.**',
      `${Buffer.from('[]').toString('base64url')}.e30.sig`,
    ]) {
      expect((await rejection(w.verifier.verify(token))).code).toBe('malformed_token');
    }
    expect((await rejection(w.verifier.verify(42 as unknown as string))).code).toBe(
      'malformed_token',
    );
  });

  it('accepts a credential whose aud lists the audience among others', async () => {
    const w = world();
    const v = await w.verifier.verify(
      await signWith(w.keys.current(), {
        iss: ISS,
        sub: ALICE,
        aud: ['x', AUD],
        iat: w.clock.sec,
        exp: w.clock.sec + 60,
        jti: 'j',
        scope: 'a b a',
      }),
    );
    expect(v.scope).toEqual(['a', 'b']);
  });

  it('refuses a trusted issuer configured with a shared-secret or none algorithm', () => {
    const w = world();
    for (const alg of ['HS256', 'none']) {
      expect(
        () =>
          new CredentialVerifier({
            issuers: [{ ...w.trusted, algorithms: [alg as 'EdDSA'] }],
            audience: AUD,
            revocations: new MemoryRevocationStore(),
          }),
      ).toThrow(TypeError);
    }
  });

  it('names a kid missing from a published JWKS unknown_kid, and unreadable keys keys_unavailable', async () => {
    const w = world();
    const token = (await w.alice()).token;
    const other = IssuerKeyRing.generate(w.clock.ms);
    const verifierWith = (jwks: Parameters<typeof createLocalJWKSet>[0] | null) =>
      new CredentialVerifier({
        issuers: [
          {
            iss: ISS,
            algorithms: ['EdDSA'],
            jwks:
              jwks === null
                ? () => Promise.reject(new Error('connect ECONNREFUSED'))
                : createLocalJWKSet(jwks),
          },
        ],
        audience: AUD,
        clock: w.clock.now,
        revocations: w.revocations,
      });
    const unknown = await rejection(verifierWith(other.jwks(w.clock.ms, 3600)).verify(token));
    expect(unknown.code).toBe('unknown_kid');
    await verifierWith(w.keys.jwks(w.clock.ms, 3600)).verify(token);
    const down = await rejection(verifierWith(null).verify(token));
    expect(down.code).toBe('keys_unavailable');
    expect(toOAuthError(down)?.status).toBe(503);
  });

  it('with a directory, refuses credentials of disabled or unknown principals', async () => {
    const w = world();
    const verifier = new CredentialVerifier({
      issuers: [keyRingIssuer(ISS, w.keys, 3600, w.clock.now)],
      audience: AUD,
      clock: w.clock.now,
      revocations: w.revocations,
      directory: w.directory,
    });
    const planner = await w.delegate(await w.alice(), PLANNER);
    await verifier.verify(planner.token);
    w.directory.disable(PLANNER);
    expect((await rejection(verifier.verify(planner.token))).code).toBe('principal_disabled');
    w.directory.delete(PLANNER);
    expect((await rejection(verifier.verify(planner.token))).code).toBe('principal_unknown');
    const alice = await signWith(w.keys.current(), {
      iss: ISS,
      sub: ALICE,
      aud: AUD,
      iat: w.clock.sec,
      exp: w.clock.sec + 60,
      jti: 'j',
      scope: '',
    });
    await verifier.verify(alice);
    w.directory.disable(ALICE);
    expect((await rejection(verifier.verify(alice))).code).toBe('principal_disabled');
  });
});

describe('the verification cache', () => {
  it('does not look the key up again for a token it has verified', async () => {
    const w = world();
    const alice = await w.alice();
    const first = await w.verifier.verify(alice.token);
    expect(w.keyLookups()).toBe(1);
    const second = await w.verifier.verify(alice.token);
    expect(w.keyLookups()).toBe(1);
    expect(second).toEqual(first);
    expect(
      Object.isFrozen(second) && Object.isFrozen(second.claims) && Object.isFrozen(second.actors),
    ).toBe(true);
  });

  // Speed belongs in `npm run bench` (bench/identity-policy.js); here, only that 1,000 repeats
  // are all answered from the cache: no key lookup, the same frozen answer.
  it('answers 1,000 repeated verifications from the cache without a key lookup', async () => {
    const w = world();
    const planner = await w.delegate(await w.alice(), PLANNER);
    const first = await w.verifier.verify(planner.token);
    const lookups = w.keyLookups();
    for (let i = 0; i < 1000; i++) expect(await w.verifier.verify(planner.token)).toBe(first);
    expect(w.keyLookups()).toBe(lookups);
  });

  it('refuses a cached token once it is revoked', async () => {
    const w = world();
    const alice = await w.alice();
    await w.verifier.verify(alice.token);
    await w.issuer.revoke(alice.claims.jti);
    expect((await rejection(w.verifier.verify(alice.token))).code).toBe('revoked');
  });

  it('refuses a cached token once it has expired, rather than serving it', async () => {
    const w = world();
    const alice = await w.alice();
    await w.verifier.verify(alice.token);
    w.clock.advance(330);
    expect((await rejection(w.verifier.verify(alice.token))).code).toBe('expired');
  });

  it('stays bounded, forgetting the least recently used token', async () => {
    const w = world({ verifierOptions: { cacheSize: 2 } });
    const [a, b, c] = [await w.alice(), await w.alice(), await w.alice()];
    for (const t of [a, b, c]) await w.verifier.verify(t.token);
    expect(w.keyLookups()).toBe(3);
    await w.verifier.verify(c.token);
    await w.verifier.verify(b.token);
    expect(w.keyLookups()).toBe(3);
    await w.verifier.verify(a.token); // evicted
    expect(w.keyLookups()).toBe(4);
  });

  it('does not cache refusals', async () => {
    const w = world();
    const token = await signWith(w.keys.current(), {
      iss: ISS,
      sub: ALICE,
      aud: 'other',
      iat: w.clock.sec,
      exp: w.clock.sec + 60,
      jti: 'j',
    });
    await rejection(w.verifier.verify(token));
    await rejection(w.verifier.verify(token));
    expect(w.keyLookups()).toBe(2);
  });
});
