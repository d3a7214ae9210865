import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError, toWireError } from '../errors.js';
import { readCookie, setCookie } from '../signin/cookies.js';
import { fromOwnOrigin } from '../access/control.js';
import { SignInLimiter } from './session.js';
import type { AuthorizationRequest, AuthorizationService } from '../signin/authorization.js';
import { LOGIN_TTL_SEC } from '../signin/login-state.js';
import type { LoginState } from '../signin/login-state.js';
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
 * - GET /v1/auth/authorize — the authorization endpoint (signin/authorization.ts) of the CLI
 *   (`provenant login`, RFC 8252) and of MCP clients (a Client ID Metadata Document URL as
 *   client_id): the same sign-in — or, with no provider and `--dev-login`, the dev sign-in page,
 *   which posts to POST /v1/auth/authorize/dev-login — ending with a one-minute code sent to the
 *   client's redirect URI with `iss` (RFC 9207), which it redeems at POST /v1/token
 *   (grant_type=authorization_code, PKCE) for a collector credential.
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

  // Development only; more attempts than the console's, since each client authorization is one.
  const devLimiter = new SignInLimiter(30, 120);
  const authorizationService = (): AuthorizationService => {
    if (!ctx.authorization || (!ctx.signIn && ctx.identity?.config.devLogin !== true)) {
      throw new RequestError(
        'signin_not_configured',
        'This collector signs nobody in: configure an OpenID provider (serve --oidc-issuer --oidc-client-id), or --dev-login in development.',
      );
    }
    return ctx.authorization;
  };

  // The authorization endpoint: a refusal before the client and its redirect URI are checked is
  // shown here (never redirected: no open redirector); after, it goes to the client (RFC 6749
  // §4.1.2.1), with `iss`.
  app.get('/v1/auth/authorize', async (request, reply) => {
    try {
      const auth = authorizationService();
      const parsed = await auth.parse(request.query as Record<string, unknown>);
      if (!parsed.ok) {
        return await reply
          .header('cache-control', 'no-store')
          .redirect(auth.refusalResponse(parsed.refusal), 303);
      }
      if (ctx.signIn) {
        return await startLogin(request, reply, (signIn) => signIn.begin('/', parsed.request));
      }
      return await reply
        .code(200)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header(
          'content-security-policy',
          "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
        )
        .send(devSignInPage(parsed.request, auth.sealRequest(parsed.request)));
    } catch (e) {
      return refuse(request, reply, e);
    }
  });

  // The dev sign-in page's form (development only): names a registered human, who is then
  // taken as signed in. Same origin only, like the console's dev sign-in.
  app.post('/v1/auth/authorize/dev-login', async (request, reply) => {
    try {
      const auth = authorizationService();
      if (ctx.signIn || ctx.identity?.config.devLogin !== true) {
        throw new RequestError('not_found', 'This collector runs no development sign-in.');
      }
      if (!fromOwnOrigin(request)) {
        throw new RequestError(
          'csrf_failed',
          'The dev sign-in form posts from this collector only (Origin).',
        );
      }
      if (!devLimiter.allow(request.ip, (ctx.clock ?? Date.now)())) {
        throw new RequestError('sign_in_rate_limited', 'Too many sign-ins; retry in a minute.');
      }
      const form = formOf(request.body, request.headers['content-type']);
      const authorization = auth.openRequest(form.get('request') ?? '');
      if (authorization === undefined) {
        throw new RequestError(
          'signin_state_missing',
          'The sign-in form is expired or not ours; start again from the client.',
        );
      }
      const user = form.get('user') ?? '';
      const id = `user:${user}`;
      const known = /^[a-z0-9][a-z0-9._-]{0,63}$/.test(user)
        ? ctx.identity.directory.get(id)
        : undefined;
      if (known === undefined || known.kind !== 'human' || known.disabled) {
        return await reply.header('cache-control', 'no-store').redirect(
          auth.refusalResponse({
            redirectUri: authorization.redirectUri,
            ...(authorization.state === undefined ? {} : { state: authorization.state }),
            error: 'access_denied',
            description: `principal_unknown: ${id.slice(0, 80)} is not a registered, enabled human.`,
          }),
          303,
        );
      }
      request.log.info(
        { subject: id, client_id: authorization.clientId },
        'dev sign-in for a client',
      );
      return await reply
        .header('cache-control', 'no-store')
        .redirect(auth.codeResponse({ subject: id, roles: [] }, 'dev', authorization), 303);
    } catch (e) {
      return refuse(request, reply, e);
    }
  });

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
      if (login.authorization && ctx.authorization) {
        return await reply.redirect(
          ctx.authorization.codeResponse(user, 'oidc', login.authorization),
          303,
        );
      }
      await s.sessions.start(request, reply, user);
      return await reply.redirect(login.returnTo, 303);
    } catch (e) {
      const wire = toWireError(e);
      if (ctx.signIn) request.log.info({ code: wire.body.error.code }, 'sign-in refused');
      const asked = login?.authorization;
      if (asked && ctx.authorization && wire.body.error.code !== 'internal_error') {
        // The client's redirect URI was checked when it asked: tell it why (RFC 6749 §4.1.2.1).
        return reply.header('cache-control', 'no-store').redirect(
          ctx.authorization.refusalResponse({
            redirectUri: asked.redirectUri,
            ...(asked.state === undefined ? {} : { state: asked.state }),
            error: wire.status === 503 ? 'temporarily_unavailable' : 'access_denied',
            description: `${wire.body.error.code}: ${wire.body.error.message}`,
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

/** An application/x-www-form-urlencoded body (each field once), up to 8 KiB. */
function formOf(body: unknown, contentType: string | undefined): Map<string, string> {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const text = typeof body === 'string' ? body : '';
  if (type !== 'application/x-www-form-urlencoded' || text.length > 8192) {
    throw new RequestError(
      'invalid_parameter',
      'The form is not application/x-www-form-urlencoded (8 KiB at most).',
    );
  }
  const form = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) {
    if (form.has(k))
      throw new RequestError('invalid_parameter', `"${k.slice(0, 40)}" appears more than once.`);
    form.set(k, v);
  }
  return form;
}

/** The dev sign-in page of an authorization request: who signs in, for which client. */
function devSignInPage(request: AuthorizationRequest, sealed: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const client = request.clientName
    ? `${request.clientName} (${request.clientId})`
    : request.clientId;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Development sign-in</title></head>
<body><h1>Development sign-in</h1>
<p><strong>${esc(client)}</strong> asks for a Provenant credential${request.resource ? ` for <code>${esc(request.resource)}</code>` : ''}${request.scope ? `, scope <code>${esc(request.scope.join(' '))}</code>` : ''}.</p>
<p>This collector runs the DEVELOPMENT sign-in: anyone may name any registered human. Never in production.</p>
<form method="post" action="/v1/auth/authorize/dev-login">
<input type="hidden" name="request" value="${esc(sealed)}">
<label>User <input name="user" autocomplete="username" required maxlength="64"></label>
<button type="submit">Sign in</button>
</form>
</body></html>
`;
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
