import { describe, expect, it } from 'vitest';
import {
  ClientAuthError,
  MemoryPrincipalDirectory,
  MemoryReplayCache,
  verifyClientAssertion,
} from '../src/index.js';
import {
  FrozenClock,
  TOKEN_ENDPOINT,
  assertion,
  clientKeys,
  registerWorkload,
  rejection,
  type Client,
} from './helpers.js';

const ID = 'spiffe://acme.test/agent/planner/instance/19c2';

function setup(alg: 'EdDSA' | 'ES256' = 'EdDSA') {
  const clock = new FrozenClock();
  const client = clientKeys(ID, alg);
  const directory = new MemoryPrincipalDirectory();
  registerWorkload(directory, client, { kind: 'agent_instance' });
  const replay = new MemoryReplayCache({ clock: clock.now });
  const verify = (a: string) =>
    verifyClientAssertion(a, {
      tokenEndpoint: TOKEN_ENDPOINT,
      directory,
      replay,
      clock: clock.now,
    });
  return { clock, client, directory, replay, verify };
}

async function refused(promise: Promise<unknown>, code: string, reason?: string) {
  const e = await rejection(promise);
  expect(e).toBeInstanceOf(ClientAuthError);
  expect(e.code).toBe(code);
  if (reason !== undefined) expect(e.reason).toBe(reason);
}

describe('verifyClientAssertion', () => {
  it('authenticates a registered workload by its Ed25519 or P-256 key', async () => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      const s = setup(alg);
      expect((await s.verify(await assertion(s.client, s.clock))).id).toBe(ID);
    }
  });

  it('finds the key without a kid, or by its thumbprint when it was registered without one', async () => {
    const s = setup();
    await s.verify(await assertion(s.client, s.clock, { kid: null }));
    const bare: Client = { ...s.client, publicJwk: { ...s.client.publicJwk } };
    delete bare.publicJwk.kid;
    s.directory.put({ ...s.directory.get(ID)!, publicJwks: [bare.publicJwk] });
    const { calculateJwkThumbprint } = await import('jose');
    await s.verify(
      await assertion(s.client, s.clock, { kid: await calculateJwkThumbprint(bare.publicJwk) }),
    );
  });

  it('spends each jti once', async () => {
    const s = setup();
    const a = await assertion(s.client, s.clock, { jti: 'once' });
    await s.verify(a);
    await refused(s.verify(a), 'assertion_replayed');
    // Another assertion reusing the jti is refused as well.
    await refused(
      s.verify(await assertion(s.client, s.clock, { jti: 'once' })),
      'assertion_replayed',
    );
  });

  it('does not let another client burn a jti', async () => {
    const s = setup();
    const other = clientKeys('service:other');
    registerWorkload(s.directory, other, { kind: 'service' });
    await s.verify(await assertion(other, s.clock, { jti: 'shared' }));
    await s.verify(await assertion(s.client, s.clock, { jti: 'shared' }));
  });

  it('does not spend the jti of an assertion it refuses', async () => {
    const s = setup();
    await refused(
      s.verify(await assertion(s.client, s.clock, { jti: 'j', aud: 'https://elsewhere' })),
      'invalid_client',
      'wrong_audience',
    );
    await s.verify(await assertion(s.client, s.clock, { jti: 'j' }));
  });

  it('refuses expired, long-lived and future assertions', async () => {
    const s = setup();
    await refused(
      s.verify(await assertion(s.client, s.clock, { exp: s.clock.sec - 31 })),
      'assertion_expired',
    );
    await refused(
      s.verify(await assertion(s.client, s.clock, { exp: s.clock.sec + 3600 })),
      'invalid_client',
      'lifetime_too_long',
    );
    const future = await assertion(s.client, new FrozenClock(s.clock.ms + 120_000));
    await refused(s.verify(future), 'invalid_client', 'not_yet_valid');
  });

  it('refuses unknown clients, humans, keyless and disabled clients', async () => {
    const s = setup();
    await refused(
      s.verify(await assertion(clientKeys('service:nobody'), s.clock)),
      'invalid_client',
      'unknown_client',
    );
    s.directory.put({ id: 'user:eve', kind: 'human', shared: false, disabled: false });
    await refused(
      s.verify(await assertion(clientKeys('user:eve'), s.clock)),
      'invalid_client',
      'not_a_workload',
    );
    s.directory.put({ id: 'service:keyless', kind: 'service', shared: false, disabled: false });
    await refused(
      s.verify(await assertion(clientKeys('service:keyless'), s.clock)),
      'invalid_client',
      'no_registered_keys',
    );
    s.directory.disable(ID);
    await refused(s.verify(await assertion(s.client, s.clock)), 'principal_disabled');
  });

  it('refuses an assertion whose iss is not its sub, or that names another audience', async () => {
    const s = setup();
    await refused(
      s.verify(await assertion(s.client, s.clock, { sub: 'service:other' })),
      'invalid_client',
      'iss_sub_mismatch',
    );
    await refused(
      s.verify(await assertion(s.client, s.clock, { aud: 'http://127.0.0.1:7410' })),
      'invalid_client',
      'wrong_audience',
    );
  });

  it('takes the issuer identifier as audience too (RFC 7523 §3, the MCP SDK), once per jti', async () => {
    const s = setup();
    const ISSUER = 'http://127.0.0.1:7410';
    const verify = (a: string) =>
      verifyClientAssertion(a, {
        tokenEndpoint: TOKEN_ENDPOINT,
        issuer: ISSUER,
        directory: s.directory,
        replay: s.replay,
        clock: s.clock.now,
      });
    const a = await assertion(s.client, s.clock, { aud: ISSUER, jti: 'to-issuer' });
    expect((await verify(a)).id).toBe(ID);
    await refused(verify(a), 'assertion_replayed');
    expect((await verify(await assertion(s.client, s.clock, { jti: 'to-endpoint' }))).id).toBe(ID);
    // Only this server: another issuer, or the issuer with a path added, is refused.
    for (const aud of ['http://127.0.0.1:7411', `${ISSUER}/`, `${ISSUER}/v1`]) {
      await refused(
        verify(await assertion(s.client, s.clock, { aud, jti: `wrong-${aud}` })),
        'invalid_client',
        'wrong_audience',
      );
    }
  });

  it('refuses other algorithms and oversized or malformed assertions', async () => {
    const s = setup();
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    await refused(
      s.verify(`${b64({ alg: 'none' })}.${b64({ iss: ID, sub: ID })}.`),
      'invalid_client',
      'unsupported_alg',
    );
    await refused(
      s.verify(`${b64({ alg: 'HS256' })}.${b64({ iss: ID, sub: ID })}.c2ln`),
      'invalid_client',
      'unsupported_alg',
    );
    await refused(s.verify('x'.repeat(10_000)), 'invalid_client', 'token_too_large');
    await refused(s.verify('not a jwt'), 'invalid_client', 'malformed');
  });
});

describe('MemoryReplayCache', () => {
  it('forgets ids once they expire, and refuses to forget live ones when full', async () => {
    const clock = new FrozenClock();
    const cache = new MemoryReplayCache({ clock: clock.now, maxEntries: 2 });
    expect(await cache.useOnce('a', clock.sec + 10)).toBe(true);
    expect(await cache.useOnce('a', clock.sec + 10)).toBe(false);
    expect(await cache.useOnce('b', clock.sec + 100)).toBe(true);
    await expect(cache.useOnce('c', clock.sec + 10)).rejects.toThrow(/retry/);
    clock.advance(11);
    expect(await cache.useOnce('c', clock.sec + 10)).toBe(true); // 'a' expired and was dropped
    expect(cache.size).toBe(2);
    clock.advance(100);
    expect(await cache.useOnce('a', clock.sec + 10)).toBe(true); // an expired id may come back
    expect(cache.size).toBe(1);
  });
});
