import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../packages/cli/src/index.js';
import { CookieJarClient } from '../../packages/server/test/oidc-provider.js';
import {
  freePort,
  signInAtProvider,
  startSignInSetup,
} from '../../packages/server/test/signin-fixture.js';
import { startOpenIdProvider } from '../../packages/server/test/oidc-provider.js';
import { startCollectorProcess } from './process.js';
import type { SignInSetup } from '../../packages/server/test/signin-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-signin-cli-'));
let setup: SignInSetup;

beforeAll(async () => {
  setup = await startSignInSetup(join(root, 'data'));
}, 60_000);

afterAll(async () => {
  await setup?.close();
  rmSync(root, { recursive: true, force: true });
});

/**
 * Runs `provenant login` in this process. `browse` plays the user's browser: it gets the URL
 * the CLI printed and must take it to the CLI's loopback listener.
 */
async function login(
  home: string,
  browse: (url: string) => Promise<void>,
): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let printed: (url: string) => void;
  const url = new Promise<string>((resolve) => (printed = resolve));
  const status = main(['login', '--collector', setup.collector.url, '--timeout', '60'], {
    env: { XDG_CONFIG_HOME: home },
    out: (t) => (out += t),
    err: (t) => {
      err += t;
      const m = /^ {2}(http\S+)$/m.exec(err);
      if (m) printed(m[1]!);
    },
  });
  const browsed = url.then(browse);
  const code = await status;
  await browsed;
  return { status: code, out, err };
}

/** The user signs in at the provider; answers the collector's redirect to the CLI's listener. */
async function toLoopback(jar: CookieJarClient, url: string, user: string): Promise<string> {
  const redirectUri = new URL(url).searchParams.get('redirect_uri')!;
  return signInAtProvider(jar, setup.op, url, user, redirectUri);
}

describe('provenant login through the identity provider (RFC 8252 loopback, PKCE)', () => {
  it('stores a collector credential with the mapped roles, 0600, keyed by collector URL', async () => {
    const home = join(root, 'alice');
    let page = '';
    const r = await login(home, async (url) => {
      const authorize = new URL(url);
      expect(authorize.href.startsWith(`${setup.collector.url}/v1/auth/authorize?`)).toBe(true);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('client_id')).toBe('provenant-cli');
      expect(authorize.searchParams.get('redirect_uri')).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
      );
      const jar = new CookieJarClient();
      const loopback = await toLoopback(jar, url, 'alice');
      expect(new URL(loopback).searchParams.get('iss')).toBe(setup.collector.url);
      page = await (await jar.request(loopback)).text();
    });
    expect(r.err).toContain('Open this URL in your browser');
    expect(r.status).toBe(0);
    expect(page).toContain('You are signed in to Provenant');
    expect(r.out).toContain(`Signed in to ${setup.collector.url} as user:alice (analyst)`);
    const file = join(home, 'provenant', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'provenant')).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<
      string,
      { access_token: string; subject: string; roles: string[]; expires_at: string }
    >;
    const entry = stored[setup.collector.url]!;
    expect(entry).toMatchObject({ subject: 'user:alice', roles: ['analyst'] });
    const claims = decodeJwt(entry.access_token);
    expect(claims).toMatchObject({ sub: 'user:alice', roles: ['analyst'] });
    expect(Date.parse(entry.expires_at)).toBe((claims.exp as number) * 1000);
    // The collector accepts it as a credential of its own.
    const verified = await setup.collector.identity.verifier.verify(entry.access_token);
    expect(verified.subject).toBe('user:alice');

    // Sign-out forgets it and revokes it at the collector.
    let out = '';
    const status = await main(['logout', '--collector', setup.collector.url], {
      env: { XDG_CONFIG_HOME: home },
      out: (t) => (out += t),
      err: () => {},
    });
    expect(status).toBe(0);
    expect(out).toContain('the credential is revoked');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({});
    await expect(
      setup.collector.identity.verifier.verify(entry.access_token),
    ).rejects.toMatchObject({ code: 'revoked' });
  });

  it('refuses a user whose groups map to no role: the CLI says why and stores nothing', async () => {
    const home = join(root, 'carol');
    const r = await login(home, async (url) => {
      const jar = new CookieJarClient();
      const loopback = new URL(await toLoopback(jar, url, 'carol'));
      expect(loopback.searchParams.get('error')).toBe('access_denied');
      await (await jar.request(loopback.href)).text();
    });
    expect(r.status).toBe(1);
    expect(r.err).toContain('role_required');
    expect(() => statSync(join(home, 'provenant', 'credentials.json'))).toThrow();
  });

  it('maps an auditor through the CLI too', async () => {
    const r = await login(join(root, 'bob'), async (url) => {
      const jar = new CookieJarClient();
      await (await jar.request(await toLoopback(jar, url, 'bob'))).text();
    });
    expect(r.status).toBe(0);
    expect(r.out).toContain('as user:bob (auditor)');
  });

  it('redeems a code once, for the verifier of its challenge and its redirect URI only', async () => {
    // The CLI's side by hand: its own verifier, and a loopback address nobody listens on.
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = 'http://127.0.0.1:9/callback';
    const authorize = `${setup.collector.url}/v1/auth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: 'provenant-cli',
      redirect_uri: redirectUri,
      state: 'cli-state',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString()}`;
    const back = new URL(await toLoopback(new CookieJarClient(), authorize, 'alice'));
    expect(back.searchParams.get('state')).toBe('cli-state');
    const redeem = (form: Record<string, string>) =>
      fetch(`${setup.collector.url}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: 'provenant-cli',
          code: back.searchParams.get('code')!,
          redirect_uri: redirectUri,
          code_verifier: verifier,
          ...form,
        }).toString(),
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as Record<string, string>,
      }));
    expect((await redeem({ code_verifier: 'x'.repeat(43) })).body['provenant_code']).toBe(
      'pkce_mismatch',
    );
    expect((await redeem({ code_verifier: '' })).body['provenant_code']).toBe('pkce_mismatch');
    expect(
      (await redeem({ redirect_uri: 'http://127.0.0.1:1/callback' })).body['provenant_code'],
    ).toBe('redirect_uri_mismatch');
    expect((await redeem({ code: 'forged' })).body).toMatchObject({
      error: 'invalid_grant',
      provenant_code: 'code_invalid',
    });
    expect((await redeem({ client_id: 'someone-else' })).body['error']).toBe('invalid_client');
    const first = await redeem({});
    expect(first.status).toBe(200);
    expect(decodeJwt(first.body['access_token']!)).toMatchObject({
      sub: 'user:alice',
      roles: ['analyst'],
    });
    const replay = await redeem({});
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ error: 'invalid_grant', provenant_code: 'code_replayed' });
  });

  it('refuses a redirect URI that is not loopback, before going anywhere', async () => {
    const res = await fetch(
      `${setup.collector.url}/v1/auth/authorize?` +
        new URLSearchParams({
          response_type: 'code',
          client_id: 'provenant-cli',
          redirect_uri: 'http://evil.example:8080/callback',
          state: 's',
          code_challenge: 'a'.repeat(43),
          code_challenge_method: 'S256',
        }).toString(),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'RFC 8252',
    );
  });
});

describe('provenant login, a collector that signs nobody in', () => {
  it('says so at once (the authorization endpoint is advertised, and answers 404)', async () => {
    const { startCollector } = await import('@provenant/server');
    const bare = await startCollector({ dataDir: join(root, 'bare'), host: '127.0.0.1', port: 0 });
    try {
      let err = '';
      const status = await main(['login', '--collector', bare.url, '--timeout', '5'], {
        env: { XDG_CONFIG_HOME: join(root, 'bare-home') },
        out: () => {},
        err: (t) => (err += t),
      });
      expect(status).not.toBe(0);
      expect(err).toContain('no identity provider configured');
    } finally {
      await bare.close();
    }
  });
});

describe('provenant serve --oidc-* (the real program)', () => {
  it('wires the flags: discovery, the client secret from its file, the role mapping', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const op = await startOpenIdProvider([
      {
        client_id: 'provenant-proc',
        client_secret: 'process-secret-0123456789',
        redirect_uris: [`${url}/v1/auth/callback`],
      },
    ]);
    const secretFile = join(root, 'oidc-secret');
    writeFileSync(secretFile, 'process-secret-0123456789\n', { mode: 0o600 });
    const proc = await startCollectorProcess(join(root, 'proc-data'), [
      '--port',
      String(port),
      '--oidc-issuer',
      op.issuer,
      '--oidc-client-id',
      'provenant-proc',
      '--oidc-client-secret-file',
      secretFile,
      '--oidc-scope',
      'openid profile groups',
      '--oidc-role',
      'auditors=auditor,analyst',
    ]);
    try {
      expect(proc.url).toBe(url);
      const meta = (await (
        await fetch(`${url}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, unknown>;
      expect(meta['authorization_endpoint']).toBe(`${url}/v1/auth/authorize`);
      expect(meta['grant_types_supported']).toContain('authorization_code');
      const jar = new CookieJarClient();
      const callback = await signInAtProvider(
        jar,
        op,
        `${url}/v1/auth/login`,
        'bob',
        `${url}/v1/auth/callback`,
      );
      expect(new URL(await jar.followUntil(callback, `${url}/`)).pathname).toBe('/');
      const who = await jar.request(`${url}/v1/auth/session`, {
        headers: { accept: 'application/json' },
      });
      expect(await who.json()).toMatchObject({
        subject: 'user:bob',
        roles: ['analyst', 'auditor'],
      });
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      await op.close();
    }
  });
});
