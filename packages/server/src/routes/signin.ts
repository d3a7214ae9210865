import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError, toWireError } from '../errors.js';
import { readCookie, setCookie } from '../signin/cookies.js';
import { parseCliAuthorization } from '../signin/cli-codes.js';
import { LOGIN_TTL_SEC } from '../signin/login-state.js';
import type { CliAuthorization, LoginState } from '../signin/login-state.js';
import type { SignInService } from '../signin/service.js';

/** The cookie binding a sign-in in progress to the browser that started it. */
export const LOGIN_COOKIE = 'provenant_signin';
const LOGIN_COOKIE_PATH = '/v1/auth';

/**
 * Human sign-in through the configured OpenID provider (signin/):
 * - GET /v1/auth/login?return_to=PATH — redirects to the provider (state, nonce, PKCE S256); the
 *   sealed login state rides in an HttpOnly cookie scoped to /v1/auth, living 10 minutes.
 * - GET /v1/auth/callback — checks the cookie against `state`, exchanges the code, validates the
 *   ID token, maps roles, starts the console session and redirects to `return_to`.
 * - GET /v1/auth/authorize — the CLI's authorization endpoint (`provenant login`, RFC 8252): the
 *   same sign-in, ending with a one-minute code sent to the CLI's loopback redirect, which it
 *   redeems at POST /v1/token (grant_type=authorization_code, PKCE) for a collector credential.
 * - POST /v1/auth/logout — ends the console session; answers the provider's end-session URL.
 * - GET /v1/auth/session — who the console session belongs to (401 without one).
 */
export function signInRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const service = (): SignInService => {
    if (!ctx.signIn) {
      throw new RequestError(
        'signin_not_configured',
        'This collector has no OpenID provider configured (serve --oidc-issuer --oidc-client-id).',
      );
    }
    return ctx.signIn;
  };

  /** Sends the browser to the provider, the sealed login state in the sign-in cookie. */
  const startLogin = async (
    request: FastifyRequest,
    reply: FastifyReply,
    login: (signIn: SignInService) => Promise<{ url: URL; sealed: string }>,
  ) => {
    try {
      const { url, sealed } = await login(service());
      setCookie(request, reply, LOGIN_COOKIE, sealed, {
        path: LOGIN_COOKIE_PATH,
        maxAgeSec: LOGIN_TTL_SEC,
        // Lax: the provider's redirect back is a cross-site top-level GET that must carry it.
        sameSite: 'Lax',
      });
      return await reply.header('cache-control', 'no-store').redirect(url.href, 302);
    } catch (e) {
      return refuse(request, reply, e);
    }
  };

  app.get('/v1/auth/login', (request, reply) =>
    startLogin(request, reply, (signIn) =>
      signIn.begin(safeReturnPath((request.query as Record<string, unknown>)['return_to'])),
    ),
  );

  // The CLI's authorization endpoint (RFC 8252 native app): the same sign-in at the provider,
  // ending with a one-minute code sent to the CLI's loopback listener instead of a session.
  app.get('/v1/auth/authorize', (request, reply) =>
    startLogin(request, reply, (signIn) =>
      signIn.begin('/', parseCliAuthorization(request.query as Record<string, unknown>)),
    ),
  );

  app.get('/v1/auth/callback', async (request, reply) => {
    let login: LoginState | undefined;
    try {
      const s = service();
      // The callback as the provider addressed it (the public URL, behind any proxy prefix).
      const current = new URL(s.callbackUrl);
      current.search = new URL(request.url, 'http://callback.invalid').search;
      const sealed = readCookie(request, LOGIN_COOKIE);
      // The attempt is spent whatever comes of it.
      setCookie(request, reply, LOGIN_COOKIE, '', {
        path: LOGIN_COOKIE_PATH,
        maxAgeSec: 0,
        sameSite: 'Lax',
      });
      login = s.openLogin(sealed);
      const user = await s.complete(current, login);
      void reply.header('cache-control', 'no-store');
      if (login.cli) {
        return await reply.redirect(
          cliRedirect(login.cli, { code: s.cliCode(user, login.cli), iss: s.baseUrl }),
          303,
        );
      }
      await s.sessions.start(request, reply, user);
      return await reply.redirect(login.returnTo, 303);
    } catch (e) {
      const wire = toWireError(e);
      if (ctx.signIn) request.log.info({ code: wire.body.error.code }, 'sign-in refused');
      if (login?.cli && wire.body.error.code !== 'internal_error') {
        // The CLI's redirect URI was checked when it asked: tell it why (RFC 6749 §4.1.2.1).
        return reply.header('cache-control', 'no-store').redirect(
          cliRedirect(login.cli, {
            error: wire.status === 503 ? 'temporarily_unavailable' : 'access_denied',
            error_description: `${wire.body.error.code}: ${wire.body.error.message}`,
            iss: ctx.signIn!.baseUrl,
          }),
          303,
        );
      }
      return refuse(request, reply, e);
    }
  });

  app.post('/v1/auth/logout', async (request, reply) => {
    const signIn = service();
    await signIn.sessions.end(request, reply);
    const endSession = await signIn.rp.endSessionUrl(`${signIn.baseUrl}/`);
    return reply
      .header('cache-control', 'no-store')
      .send({ signed_out: true, ...(endSession ? { end_session_url: endSession.href } : {}) });
  });

  app.get('/v1/auth/session', async (request, reply) => {
    const session = await service().sessions.current(request);
    if (session === undefined) {
      throw new RequestError('session_required', 'No console session: sign in at /v1/auth/login.');
    }
    return reply.header('cache-control', 'no-store').send({
      subject: session.subject,
      roles: session.roles,
      ...(session.name === undefined ? {} : { name: session.name }),
      expires_at: new Date(session.expiresAt).toISOString(),
    });
  });
}

function cliRedirect(cli: CliAuthorization, params: Record<string, string>): string {
  const url = new URL(cli.redirectUri);
  for (const [k, v] of Object.entries({ ...params, state: cli.state })) url.searchParams.set(k, v);
  return url.href;
}

/** A path on this collector (never another origin, nor a scheme-relative `//host`). */
export function safeReturnPath(value: unknown): string {
  if (value === undefined) return '/';
  if (
    typeof value !== 'string' ||
    value.length > 2000 ||
    !value.startsWith('/') ||
    value.startsWith('//') ||
    value.includes('\\') ||
    [...value].some((c) => c.charCodeAt(0) < 0x20)
  ) {
    throw new RequestError('invalid_parameter', '`return_to` must be a path on this collector.');
  }
  return value;
}

/** A refused sign-in: JSON for programs, a short page for a browser that navigated here. */
function refuse(request: FastifyRequest, reply: FastifyReply, e: unknown) {
  const wire = toWireError(e);
  if (wire.status >= 500 && wire.body.error.code === 'internal_error') throw e;
  if (wire.headers) void reply.headers(wire.headers);
  void reply.code(wire.status).header('cache-control', 'no-store');
  if (!(request.headers.accept ?? '').includes('text/html')) return reply.send(wire.body);
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .send(refusalPage(wire.body.error.code, wire.body.error.message));
}

function refusalPage(code: string, message: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused</title></head>
<body><h1>Sign-in refused</h1>
<p data-code="${esc(code)}"><code>${esc(code)}</code>: ${esc(message)}</p>
<p><a href="/">Back to the console</a></p>
</body></html>
`;
}
