/**
 * A collector that signs humans in through a real OpenID provider (oidc-provider, see
 * oidc-provider.ts), both on loopback: what the sign-in tests of the server, the CLI and the
 * console start. The collector's clock and a man in the middle on the provider's token answers
 * are settable, for the expiry and tampering cases.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startCollector } from '../src/index.js';
import type { CollectorConfig, RunningCollector } from '../src/index.js';
import { checkSignInConfig, parseRoleMappings } from '../src/signin/config.js';
import { startOpenIdProvider } from './oidc-provider.js';
import type { RunningProvider, CookieJarClient } from './oidc-provider.js';

export const CLIENT_ID = 'provenant';
export const CLIENT_SECRET = 'console-client-secret-0123456789';
export const OTHER_CLIENT = { id: 'other-app', secret: 'other-app-secret-0123456789' };
export const OTHER_REDIRECT = 'http://127.0.0.1:9/other-app/callback';

export interface SignInSetup {
  readonly op: RunningProvider;
  readonly collector: RunningCollector;
  /** Milliseconds the collector's clock runs ahead of the real one. */
  clockOffset: number;
  /** Rewrites the provider's token answers on their way to the collector. */
  tamper: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The provider with the collector's client (and another app's), then the collector. */
export async function startSignInSetup(
  dataDir: string,
  extra: Partial<Omit<CollectorConfig, 'dataDir' | 'host' | 'port' | 'signIn'>> = {},
): Promise<SignInSetup> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const op = await startOpenIdProvider([
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${base}/v1/auth/callback`],
      post_logout_redirect_uris: [`${base}/`],
    },
    {
      client_id: OTHER_CLIENT.id,
      client_secret: OTHER_CLIENT.secret,
      redirect_uris: [OTHER_REDIRECT],
    },
  ]);
  const setup = { clockOffset: 0, tamper: undefined } as {
    clockOffset: number;
    tamper: SignInSetup['tamper'];
  };
  let collector: RunningCollector;
  try {
    collector = await startCollector({
      ...extra,
      dataDir,
      host: '127.0.0.1',
      port,
      signIn: {
        config: checkSignInConfig({
          issuer: op.issuer,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          rolesClaim: 'groups',
          roleMap: parseRoleMappings(['analysts=analyst', 'auditors=auditor']),
          userClaim: 'sub',
          scopes: ['openid', 'email', 'profile', 'groups'],
        }),
        clock: () => Date.now() + setup.clockOffset,
        fetch: async (url, init) => {
          const res = await fetch(url, init);
          const tamper = setup.tamper;
          if (tamper === undefined || !String(url).endsWith('/token') || !res.ok) return res;
          const body = tamper((await res.json()) as Record<string, unknown>);
          return new Response(JSON.stringify(body), {
            status: res.status,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          });
        },
      },
    });
  } catch (e) {
    await op.close();
    throw e;
  }
  return Object.assign(setup, {
    op,
    collector,
    close: async () => {
      await collector.close();
      await op.close();
    },
  });
}

/**
 * Signs `login` in at the provider, starting from `start` (the collector's login or authorize
 * URL), and stops at the redirect that would go to `until`; answers that URL.
 */
export async function signInAtProvider(
  jar: CookieJarClient,
  op: RunningProvider,
  start: string,
  login: string,
  until: string,
): Promise<string> {
  const loginPage = await jar.followUntil(start, `${op.issuer}/interaction/`);
  const html = await (await jar.request(loginPage)).text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`No login form at ${loginPage}.`);
  const res = await jar.request(new URL(action, loginPage).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString(),
  });
  await res.body?.cancel();
  if (res.status !== 303) throw new Error(`The provider's login answered ${res.status}.`);
  return jar.followUntil(new URL(res.headers.get('location')!, loginPage).href, until);
}
