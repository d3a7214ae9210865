import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ProvenantError } from '@provenant/core';
import { jwksSource } from '../src/index.js';

interface TestKey {
  kid: string;
  jwk: JWK;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
}

async function key(kid: string, use?: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } as JWK;
  if (use !== undefined) jwk.use = use;
  return { kid, jwk, privateKey };
}

const sign = (k: TestKey) =>
  new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: 'ES256', kid: k.kid })
    .setExpirationTime('5m')
    .sign(k.privateKey);

/** The jose error name of a refusal, or 'ok'. */
async function outcome(token: string, getKey: Parameters<typeof jwtVerify>[1]): Promise<string> {
  try {
    await jwtVerify(token, getKey as never);
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

function writeSet(file: string, keys: JWK[]): void {
  // Replaced whole, as an operator's tooling (or SPIRE's bundle publisher) does.
  writeFileSync(`${file}.tmp`, JSON.stringify({ keys }));
  renameSync(`${file}.tmp`, file);
}

describe('jwksSource (FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwks-source-'));

  it('stops verifying a key removed from the file at the next refresh', async () => {
    const a = await key('a');
    const b = await key('b');
    const file = join(dir, 'rotate.json');
    writeSet(file, [a.jwk, b.jwk]);
    let now = 1_000_000;
    const source = jwksSource(file, { refreshMs: 10_000, clock: () => now });
    const tokenA = await sign(a);
    expect(await outcome(tokenA, source.getKey)).toBe('ok');

    writeSet(file, [b.jwk]);
    // Before the refresh interval the set held is the old one …
    now += 5_000;
    expect(await outcome(tokenA, source.getKey)).toBe('ok');
    // … after it, the key rotated out is gone.
    now += 5_000;
    expect(await outcome(tokenA, source.getKey)).toBe('JWKSNoMatchingKey');
    expect(await outcome(await sign(b), source.getKey)).toBe('ok');
    expect(source.keys().map((k) => k.kid)).toEqual(['b']);
    expect([source.has('a'), source.has('b')]).toEqual([false, true]);
  });

  it('picks up a new key at once when a token names it (once per cooldown)', async () => {
    const a = await key('a');
    const c = await key('c');
    const file = join(dir, 'new-key.json');
    writeSet(file, [a.jwk]);
    let now = 0;
    const source = jwksSource(file, { refreshMs: 3_600_000, cooldownMs: 1_000, clock: () => now });
    const tokenC = await sign(c);
    expect(await outcome(tokenC, source.getKey)).toBe('JWKSNoMatchingKey');
    writeSet(file, [a.jwk, c.jwk]);
    // Within the cooldown, no re-read.
    expect(await outcome(tokenC, source.getKey)).toBe('JWKSNoMatchingKey');
    now += 1_000;
    expect(await outcome(tokenC, source.getKey)).toBe('ok');
  });

  it('keeps only the keys of the configured use, as signature keys', async () => {
    const jwt = await key('jwt', 'jwt-svid');
    const x509 = await key('x509', 'x509-svid');
    const file = join(dir, 'bundle.json');
    writeFileSync(
      file,
      JSON.stringify({ keys: [jwt.jwk, x509.jwk], spiffe_sequence: 1, spiffe_refresh_hint: 60 }),
    );
    const source = jwksSource(file, { use: 'jwt-svid' });
    expect(source.keys().map((k) => [k.kid, k.use])).toEqual([['jwt', 'sig']]);
    expect(await outcome(await sign(jwt), source.getKey)).toBe('ok');
    expect(await outcome(await sign(x509), source.getKey)).toBe('JWKSNoMatchingKey');
  });

  it('keeps the last good set when a re-read fails, and says why', async () => {
    const a = await key('a');
    const file = join(dir, 'broken.json');
    writeSet(file, [a.jwk]);
    const source = jwksSource(file);
    writeFileSync(file, '{"keys": [');
    await source.refresh();
    expect(source.status().error).toMatch(/not JSON/);
    expect(await outcome(await sign(a), source.getKey)).toBe('ok');
    writeSet(file, [a.jwk]);
    await source.refresh();
    expect(source.status().error).toBeUndefined();
  });

  it('refuses a file that is missing, not a key set, or holds a private key', async () => {
    const a = await key('a');
    const file = join(dir, 'bad.json');
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ProvenantError);
        return (e as ProvenantError).code + ': ' + (e as Error).message;
      }
      return 'accepted';
    };
    expect(refused(() => jwksSource(join(dir, 'none.json')))).toMatch(/^config_invalid: Cannot/);
    writeFileSync(file, '[]');
    expect(refused(() => jwksSource(file))).toMatch(/^config_invalid: .*not a JWK Set/);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(file, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    expect(refused(() => jwksSource(file))).toMatch(/private or secret key/);
    writeFileSync(file, JSON.stringify({ keys: [a.jwk] }));
    expect(refused(() => jwksSource(file, { use: 'jwt-svid' }))).toMatch(/no key for "jwt-svid"/);
  });
});

describe('jwksSource (URL)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function serve(body: () => unknown): Promise<{ url: string; fetches: () => number }> {
    let fetches = 0;
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body()));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/bundle`, fetches: () => fetches };
  }

  it('stops verifying a key the endpoint dropped once the set is fetched again', async () => {
    const a = await key('a', 'jwt-svid');
    const b = await key('b', 'jwt-svid');
    let published = [a.jwk, b.jwk];
    const endpoint = await serve(() => ({ keys: published }));
    const source = jwksSource(endpoint.url, { use: 'jwt-svid', cooldownMs: 0 });
    const tokenA = await sign(a);
    expect(await outcome(tokenA, source.getKey)).toBe('ok');
    expect(endpoint.fetches()).toBe(1);
    published = [b.jwk];
    await source.refresh();
    expect(await outcome(tokenA, source.getKey)).toBe('JWKSNoMatchingKey');
    expect(await outcome(await sign(b), source.getKey)).toBe('ok');
    expect(source.status().keys).toBe(1);
  });

  it('drops the keys of another use from a fetched bundle', async () => {
    const jwt = await key('jwt', 'jwt-svid');
    const x509 = await key('x509', 'x509-svid');
    const endpoint = await serve(() => ({ keys: [jwt.jwk, x509.jwk] }));
    const source = jwksSource(endpoint.url, { use: 'jwt-svid' });
    expect(await outcome(await sign(x509), source.getKey)).toBe('JWKSNoMatchingKey');
    expect(await outcome(await sign(jwt), source.getKey)).toBe('ok');
    expect(source.keys().map((k) => k.kid)).toEqual(['jwt']);
  });
});
