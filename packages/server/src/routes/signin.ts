import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError, toWireError } from '../errors.js';
import { readCookie, setCookie } from '../signin/cookies.js';
import { LOGIN_TTL_SEC } from '../signin/login-state.js';
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

  app.get('/v1/auth/login', async (request, reply) => {
    try {
      const signIn = service();
      const query = request.query as Record<string, unknown>;
      const returnTo = safeReturnPath(query['return_to']);
      const { url, sealed } = await signIn.begin(returnTo);
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
  });

  app.get('/v1/auth/callback', async (request, reply) => {
    const signIn = ctx.signIn;
    try {
      const s = service();
      const current = new URL(request.url, s.baseUrl);
      const sealed = readCookie(request, LOGIN_COOKIE);
      // The attempt is spent whatever comes of it.
      setCookie(request, reply, LOGIN_COOKIE, '', {
        path: LOGIN_COOKIE_PATH,
        maxAgeSec: 0,
        sameSite: 'Lax',
      });
      const { user, login } = await s.complete(current, sealed);
      await s.sessions.start(request, reply, user);
      return await reply.header('cache-control', 'no-store').redirect(login.returnTo, 303);
    } catch (e) {
      if (signIn) request.log.info({ code: toWireError(e).body.error.code }, 'sign-in refused');
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
    const session = service().sessions.current(request);
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
