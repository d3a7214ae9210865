import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import type { RunningCollector } from '../src/index.js';
import { openLoginState, seal } from '../src/signin/login-state.js';
import { LOGIN_COOKIE } from '../src/routes/signin.js';
import { SESSION_COOKIE } from '../src/signin/sessions.js';
import { CookieJarClient } from './oidc-provider.js';
import type { RunningProvider } from './oidc-provider.js';
import {
  OTHER_CLIENT,
  OTHER_REDIRECT,
  signInAtProvider,
  startSignInSetup,
} from './signin-fixture.js';
import type { SignInSetup } from './signin-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-signin-'));

let setup: SignInSetup;
let op: RunningProvider;
let collector: RunningCollector;

beforeAll(async () => {
  setup = await startSignInSetup(join(root, 'data'));
  ({ op, collector } = setup);
}, 60_000);

afterAll(async () => {
  await setup?.close();
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  setup.clockOffset = 0;
  setup.tamper = undefined;
});

/** Signs `login` in at the provider and stops at the redirect back to the collector's callback. */
function untilCallback(jar: CookieJarClient, login: string, returnTo = '/'): Promise<string> {
  return signInAtProvider(
    jar,
    op,
    `${collector.url}/v1/auth/login?return_to=${encodeURIComponent(returnTo)}`,
    login,
    `${collector.url}/v1/auth/callback`,
  );
}

async function session(jar: CookieJarClient): Promise<Response> {
  return jar.request(`${collector.url}/v1/auth/session`, {
    headers: { accept: 'application/json' },
  });
}

async function errorCode(res: Response): Promise<string> {
  const text = await res.text();
  const html = /data-code="([a-z_]+)"/.exec(text)?.[1];
  return html ?? (JSON.parse(text) as { error: { code: string } }).error.code;
}

describe('sign-in through a real OpenID provider (oidc-provider)', () => {
  it('signs an analyst in end to end: PKCE S256, state, nonce, session cookie, return path', async () => {
    const jar = new CookieJarClient();
    const login = await jar.request(`${collector.url}/v1/auth/login?return_to=%2F%23%2Fevents`);
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin).toBe(op.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${collector.url}/v1/auth/callback`);
    const setCookie = login.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(
      /provenant_signin=[^;]+; Path=\/v1\/auth; Max-Age=600; HttpOnly; SameSite=Lax/,
    );

    const callback = await untilCallback(jar, 'alice', '/#/events');
    const landed = await jar.request(callback);
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe('/#/events');
    expect(landed.headers.getSetCookie().join('\n')).toMatch(
      /provenant_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict/,
    );
    // The login attempt is spent.
    expect(jar.cookie(LOGIN_COOKIE)).toBeUndefined();
    const who = await session(jar);
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({
      subject: 'user:alice',
      roles: ['analyst'],
      name: 'Alice Analyst',
    });
  });

  it('maps groups to roles: an auditor is an auditor; a user with no mapped group is refused', async () => {
    const bob = new CookieJarClient();
    expect((await bob.request(await untilCallback(bob, 'bob'))).status).toBe(303);
    expect(await (await session(bob)).json()).toMatchObject({
      subject: 'user:bob',
      roles: ['auditor'],
    });

    const carol = new CookieJarClient();
    const refused = await carol.request(await untilCallback(carol, 'carol'));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('text/html');
    const page = await refused.text();
    expect(page).toContain('role_required');
    expect(page).toContain('user:carol holds no group that maps to a Provenant role');
    expect(carol.cookie(SESSION_COOKIE)).toBeUndefined();
    expect((await session(carol)).status).toBe(401);
  });

  it('reports a sign-in the user cancelled at the provider (access_denied)', async () => {
    const jar = new CookieJarClient();
    const loginPage = await jar.followUntil(
      `${collector.url}/v1/auth/login`,
      `${op.issuer}/interaction/`,
    );
    // The provider's "cancel": its interaction ends with error=access_denied to our callback.
    const callback = await jar.followUntil(
      `${loginPage}/abort`,
      `${collector.url}/v1/auth/callback`,
    );
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const res = await jar.request(callback, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('signin_refused');
    expect((await session(jar)).status).toBe(401);
  });

  it('refuses a callback whose state is not the one this browser started', async () => {
    const jar = new CookieJarClient();
    const callback = new URL(await untilCallback(jar, 'alice'));
    callback.searchParams.set('state', 'not-the-state-we-sent');
    const res = await jar.request(callback.href);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('signin_state_mismatch');
    expect((await session(jar)).status).toBe(401);
  });

  it('refuses a callback without the sign-in cookie (another browser, or expired)', async () => {
    const jar = new CookieJarClient();
    const callback = await untilCallback(jar, 'alice');
    const res = await new CookieJarClient().request(callback);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('signin_state_missing');
    // And one that outlived its ten minutes.
    setup.clockOffset = 11 * 60_000;
    const late = await jar.request(callback);
    expect(await errorCode(late)).toBe('signin_state_missing');
  });

  it('refuses a replayed authorization code: the provider will not redeem it twice', async () => {
    const jar = new CookieJarClient();
    const callback = await untilCallback(jar, 'alice');
    const cookie = jar.cookie(LOGIN_COOKIE)!;
    expect((await jar.request(callback)).status).toBe(303);
    // An attacker holding the callback URL and the sealed cookie tries again.
    const attacker = new CookieJarClient();
    const res = await attacker.request(callback, {
      headers: { cookie: `${LOGIN_COOKIE}=${cookie}`, accept: 'application/json' },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('signin_code_rejected');
    expect(attacker.cookie(SESSION_COOKIE)).toBeUndefined();
  });

  it('sends the PKCE verifier: the same code without it is refused by the provider', async () => {
    const jar = new CookieJarClient();
    const callback = new URL(await untilCallback(jar, 'alice'));
    const state = openLoginState(collector.signIn!.key, jar.cookie(LOGIN_COOKIE), Date.now())!;
    await expect(
      collector.signIn!.rp.finish(callback, { ...state, verifier: undefined }),
    ).rejects.toMatchObject({ code: 'signin_code_rejected' });
    // A wrong verifier is refused the same way (fresh code: the provider revoked the last one).
    const again = new CookieJarClient();
    const second = new URL(await untilCallback(again, 'alice'));
    const s2 = openLoginState(collector.signIn!.key, again.cookie(LOGIN_COOKIE), Date.now())!;
    await expect(
      collector.signIn!.rp.finish(second, { ...s2, verifier: state.verifier }),
    ).rejects.toMatchObject({ code: 'signin_code_rejected' });
  });

  it('refuses a tampered ID token (claims changed, signature kept)', async () => {
    setup.tamper = (body) => {
      const [h, p, s] = String(body['id_token']).split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      claims['groups'] = ['auditors'];
      return {
        ...body,
        id_token: [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.'),
      };
    };
    const jar = new CookieJarClient();
    const res = await jar.request(await untilCallback(jar, 'alice'), {
      headers: { accept: 'application/json' },
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('signin_id_token_invalid');
    expect(body.error.message).toMatch(/signature/i);
    expect((await session(jar)).status).toBe(401);
  });

  it('refuses an ID token issued to another client (wrong audience), nonce and all', async () => {
    const jar = new CookieJarClient();
    const start = await jar.request(`${collector.url}/v1/auth/login`);
    const authorize = new URL(start.headers.get('location')!);
    const nonce = authorize.searchParams.get('nonce')!;
    // The same user signs in to another application with the same nonce: a genuine ID token,
    // signed by the provider, but for "other-app".
    const other = await otherAppIdToken(nonce);
    setup.tamper = (body) => ({ ...body, id_token: other });
    const callback = await signInAtProvider(
      jar,
      op,
      authorize.href,
      'alice',
      `${collector.url}/v1/auth/callback`,
    );
    const res = await jar.request(callback, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(401);
    expect(body.error.code).toBe('signin_id_token_invalid');
    expect(body.error.message).toMatch(/"aud"/);
  });

  it('refuses an expired ID token', async () => {
    const jar = new CookieJarClient();
    const callback = await untilCallback(jar, 'alice');
    // The collector's clock is two hours on: the provider's one-hour ID token has expired.
    setup.clockOffset = 2 * 3600_000;
    const cookie = jar.cookie(LOGIN_COOKIE)!;
    // (The login cookie would have expired too; re-seal it for the new clock.)
    const state = openLoginState(collector.signIn!.key, cookie, Date.now())!;
    const resealed = seal(collector.signIn!.key, 'login', {
      ...state,
      expiresAt: Date.now() + setup.clockOffset + 60_000,
    });
    const res = await new CookieJarClient().request(callback, {
      headers: { cookie: `${LOGIN_COOKIE}=${resealed}`, accept: 'application/json' },
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('signin_id_token_invalid');
    expect(body.error.message).toMatch(/"exp"|timestamp/);
  });

  it('ends a console session when it expires', async () => {
    const jar = new CookieJarClient();
    expect((await jar.request(await untilCallback(jar, 'alice'))).status).toBe(303);
    expect((await session(jar)).status).toBe(200);
    setup.clockOffset = 8 * 3600_000 + 1000;
    const res = await session(jar);
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('session_required');
  });

  it('signs out: the session ends and the provider offers RP-initiated logout', async () => {
    const jar = new CookieJarClient();
    expect((await jar.request(await untilCallback(jar, 'alice'))).status).toBe(303);
    // Sign-out changes state: the session's CSRF token (GET /v1/session) and the console's origin.
    const { csrf_token } = (await (await jar.request(`${collector.url}/v1/session`)).json()) as {
      csrf_token: string;
    };
    const logout = `${collector.url}/v1/auth/logout`;
    const origin = { origin: collector.url };
    const noToken = await jar.request(logout, { method: 'POST', headers: origin });
    expect(noToken.status).toBe(403);
    expect(await errorCode(noToken)).toBe('csrf_failed');
    const crossSite = await jar.request(logout, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'x-csrf-token': csrf_token },
    });
    expect(crossSite.status).toBe(403);
    expect((await session(jar)).status).toBe(200);
    const out = await jar.request(logout, {
      method: 'POST',
      headers: { ...origin, 'x-csrf-token': csrf_token },
    });
    expect(out.status).toBe(200);
    const body = (await out.json()) as { signed_out: boolean; end_session_url: string };
    expect(body.signed_out).toBe(true);
    const end = new URL(body.end_session_url);
    expect(end.origin + end.pathname).toBe(`${op.issuer}/session/end`);
    expect(end.searchParams.get('client_id')).toBe('provenant');
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${collector.url}/`);
    expect(jar.cookie(SESSION_COOKIE)).toBeUndefined();
    expect((await session(jar)).status).toBe(401);
    // The provider accepts the logout request (a confirmation page, as it should).
    const page = await jar.request(end.href);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('logoutForm');
  });

  it('refuses a return path on another origin', async () => {
    const res = await fetch(`${collector.url}/v1/auth/login?return_to=//evil.example/`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'invalid_parameter',
    );
  });
});

describe('a collector without a provider', () => {
  it('answers the sign-in routes with signin_not_configured', async () => {
    const plain = await startCollector({
      dataDir: join(root, 'plain'),
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const res = await fetch(`${plain.url}/v1/auth/login`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'signin_not_configured',
      );
    } finally {
      await plain.close();
    }
  });
});

/** A genuine ID token for alice issued to "other-app" with `nonce`, through its own code flow. */
async function otherAppIdToken(nonce: string): Promise<string> {
  const jar = new CookieJarClient();
  const verifier = 'v'.repeat(64);
  const auth = new URL(`${op.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: OTHER_CLIENT.id,
    response_type: 'code',
    scope: 'openid groups',
    redirect_uri: OTHER_REDIRECT,
    state: 'other-state',
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const back = new URL(await signInAtProvider(jar, op, auth.href, 'alice', OTHER_REDIRECT));
  const token = await fetch(`${op.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${OTHER_CLIENT.id}:${OTHER_CLIENT.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: OTHER_REDIRECT,
      code_verifier: verifier,
    }).toString(),
  });
  return ((await token.json()) as { id_token: string }).id_token;
}
