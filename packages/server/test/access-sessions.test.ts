import { Log, MemoryStorage, generateSignerKey, parseSignerKey } from '@provenant/ledger';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildApp, DEFAULT_LIMITS } from '../src/index.js';
import { ADMIN_TOKEN } from './helpers.js';

/** inject() answers as http://localhost:80: the console's own origin here. */
const OWN = 'http://localhost:80';

async function consoleApp(roles: ('analyst' | 'auditor' | 'producer' | 'admin')[] = ['analyst']) {
  const storage = new MemoryStorage();
  const log = await Log.open({
    storage,
    signer: parseSignerKey(generateSignerKey('sessions.test/log').signerKey),
  });
  return buildApp({
    log,
    storage,
    limits: DEFAULT_LIMITS,
    adminToken: ADMIN_TOKEN,
    devSignIn: { roles },
  });
}

const devLogin = (app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/session/dev-login',
    headers: { 'content-type': 'application/json', origin: OWN, ...headers },
    payload: JSON.stringify(body),
  });

async function signedIn(app: FastifyInstance, user = 'dana') {
  const res = await devLogin(app, { user });
  expect(res.statusCode, res.body).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  const cookie = setCookie.split(';', 1)[0]!;
  return { cookie, setCookie, csrf: res.json().csrf_token as string };
}

describe('console sessions', () => {
  it('sets an HttpOnly SameSite=Strict cookie (Secure only over TLS) that reads with its roles', async () => {
    const app = await consoleApp(['analyst']);
    const { cookie, setCookie } = await signedIn(app);
    expect(setCookie).toMatch(/^provenant_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure');
    expect((await app.inject({ url: '/v1/events', headers: { cookie } })).statusCode).toBe(200);
    // analyst, not auditor: the export stays closed.
    const exp = await app.inject({ url: '/v1/export', headers: { cookie } });
    expect(exp.statusCode).toBe(403);
    expect(exp.json().error.code).toBe('role_required');
    const me = (await app.inject({ url: '/v1/session', headers: { cookie } })).json();
    expect(me).toMatchObject({
      signed_in: true,
      subject: 'user:dana',
      roles: ['analyst'],
      via: 'dev',
    });
    // A forged or unknown cookie is nobody.
    const forged = `provenant_session=${'A'.repeat(43)}`;
    expect((await app.inject({ url: '/v1/events', headers: { cookie: forged } })).statusCode).toBe(
      401,
    );
  });

  it('refuses a session POST without its CSRF token, or from another origin; signs out with both', async () => {
    const app = await consoleApp();
    const { cookie, csrf } = await signedIn(app);
    const logout = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/v1/session/logout', headers: { cookie, ...headers } });
    // A foreign origin is refused already by the transport guards (origin_not_allowed).
    for (const [headers, code] of [
      [{ origin: OWN }, 'csrf_failed'],
      [{ origin: OWN, 'x-csrf-token': 'x'.repeat(43) }, 'csrf_failed'],
      [{ origin: OWN, 'x-csrf-token': csrf.slice(0, -1) }, 'csrf_failed'],
      [{ origin: 'http://evil.example', 'x-csrf-token': csrf }, 'origin_not_allowed'],
      [{ 'x-csrf-token': csrf }, 'csrf_failed'],
      [{ origin: OWN, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }, 'csrf_failed'],
    ] as const) {
      const res = await logout(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().error.code, JSON.stringify(headers)).toBe(code);
      // Still signed in: the refused request changed nothing.
      expect((await app.inject({ url: '/v1/events', headers: { cookie } })).statusCode).toBe(200);
    }
    const out = await logout({ origin: OWN, 'x-csrf-token': csrf });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await app.inject({ url: '/v1/events', headers: { cookie } })).statusCode).toBe(401);
  });

  it('checks CSRF on every state-changing session request, not only sign-out', async () => {
    const app = await consoleApp(['producer']);
    const { cookie } = await signedIn(app);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { cookie, origin: OWN, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('csrf_failed');
  });
});

describe('the development sign-in', () => {
  it('hands out only the roles of its list', async () => {
    const app = await consoleApp(['analyst', 'auditor']);
    for (const roles of [['admin'], ['analyst', 'producer'], ['root']]) {
      const res = await devLogin(app, { user: 'dana', roles });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('role_not_allowed');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    const ok = await devLogin(app, { user: 'dana', roles: ['auditor'] });
    expect(ok.json().roles).toEqual(['auditor']);
    expect((await devLogin(app, { user: 'dana' })).json().roles).toEqual(['analyst', 'auditor']);
  });

  it('is same-origin only', async () => {
    const app = await consoleApp();
    for (const headers of [{ origin: 'http://evil.example' }, { origin: '' }]) {
      const res = await devLogin(app, { user: 'dana' }, headers);
      expect(res.statusCode).toBe(403);
      expect(['csrf_failed', 'origin_not_allowed']).toContain(res.json().error.code);
    }
  });

  it('is rate-limited per client', async () => {
    const app = await consoleApp();
    for (let i = 0; i < 10; i++)
      expect((await devLogin(app, { user: `u${i}` })).statusCode).toBe(200);
    const limited = await devLogin(app, { user: 'u10' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('sign_in_rate_limited');
    expect(limited.headers['retry-after']).toBe('60');
  });

  it('does not exist without --dev-login', async () => {
    const storage = new MemoryStorage();
    const log = await Log.open({
      storage,
      signer: parseSignerKey(generateSignerKey('sessions.test/log').signerKey),
    });
    const app = buildApp({ log, storage, limits: DEFAULT_LIMITS });
    expect((await devLogin(app, { user: 'dana' })).statusCode).toBe(404);
  });
});
