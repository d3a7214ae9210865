/**
 * A real OpenID provider for tests: `oidc-provider` (node-oidc-provider) in this process on a
 * random loopback port, with its development login form (any password), users with groups,
 * and confidential clients. Plus a small cookie-jar HTTP client that follows redirects the
 * way a browser does, so sign-in flows run end to end over HTTP.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';

/** The test users and the groups the provider says they are in. */
export const USERS: Readonly<Record<string, { email: string; name: string; groups: string[] }>> = {
  alice: { email: 'alice@acme.test', name: 'Alice Analyst', groups: ['analysts', 'staff'] },
  bob: { email: 'bob@acme.test', name: 'Bob Auditor', groups: ['auditors'] },
  carol: { email: 'carol@acme.test', name: 'Carol Nobody', groups: ['staff'] },
};

export interface TestClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly redirect_uris: string[];
  readonly post_logout_redirect_uris?: string[];
}

export interface RunningProvider {
  readonly issuer: string;
  readonly provider: Provider;
  close(): Promise<void>;
}

/** Starts the provider; `idTokenTtlSec` shortens ID tokens (default one hour). */
export async function startOpenIdProvider(
  clients: TestClient[],
  options: { idTokenTtlSec?: number } = {},
): Promise<RunningProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: 'test-rs256',
    alg: 'RS256',
    use: 'sig',
  };
  const configuration: Configuration = {
    clients: clients.map((c) => ({
      ...c,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk as never] },
    cookies: { keys: ['provenant-test-provider-cookie-key'] },
    // PKCE on every authorization request, confidential clients too.
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    // Groups in the ID token itself, as most enterprise providers are configured to do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    ttl: { IdToken: options.idTokenTtlSec ?? 3600 },
    findAccount: (_ctx, id) => {
      const user = USERS[id];
      if (user === undefined) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: user.groups,
        }),
      };
    },
    // First-party clients: every scope and claim is granted without a consent page.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const existing =
        ctx.oidc.result?.consent?.grantId ??
        ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  // The provider's development-only warnings are expected here.
  provider.on('server_error', (_ctx, e) => console.error('oidc-provider server_error', e));
  server.on('request', provider.callback());
  return {
    issuer,
    provider,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

/**
 * An HTTP client with a cookie jar (one host, any port: cookies do not isolate ports, as in a
 * browser) that follows redirects itself, so each hop can be inspected.
 */
export class CookieJarClient {
  readonly cookies: StoredCookie[] = [];
  /** Every URL visited, in order (redirect targets included). */
  readonly visited: string[] = [];

  /** One request, no redirect followed; cookies sent and stored. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const u = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(u.pathname);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html,application/json');
    this.visited.push(url);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.store(line, u.pathname);
    return res;
  }

  /** Follows redirects from `url` until an answer that is not one; GET after each redirect. */
  async follow(url: string, init: RequestInit = {}, maxHops = 20): Promise<Response> {
    let res = await this.request(url, init);
    let current = url;
    for (let i = 0; i < maxHops && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location')!, current).href;
      await res.body?.cancel();
      current = next;
      res = await this.request(next);
    }
    return res;
  }

  /** Follows until the redirect that would go to a URL starting with `prefix`; returns that URL. */
  async followUntil(url: string, prefix: string, maxHops = 20): Promise<string> {
    let current = url;
    for (let i = 0; i < maxHops; i++) {
      const res = await this.request(current);
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (location === null) throw new Error(`${current} answered ${res.status}, no redirect.`);
      current = new URL(location, current).href;
      if (current.startsWith(prefix)) return current;
    }
    throw new Error('Too many redirects.');
  }

  cookie(name: string): string | undefined {
    return this.cookies.find((c) => c.name === name)?.value;
  }

  private cookieHeader(path: string): string {
    return this.cookies
      .filter(
        (c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(line: string, requestPath: string): void {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    let path = requestPath.slice(0, requestPath.lastIndexOf('/')) || '/';
    let expired = false;
    for (const a of attrs) {
      const [k, v] = a.split('=');
      if (k!.toLowerCase() === 'path' && v) path = v;
      if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      if (k!.toLowerCase() === 'expires' && v && Date.parse(v) <= Date.now()) expired = true;
    }
    const at = this.cookies.findIndex((c) => c.name === name && c.path === path);
    if (at >= 0) this.cookies.splice(at, 1);
    if (!expired) this.cookies.push({ name, value, path });
  }
}
