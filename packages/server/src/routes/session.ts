/**
 * Console sign-in: who is signed in (`GET /v1/session`), the development sign-in (only under
 * `serve --dev-login`), sign-out; and this resource server's RFC 9728 metadata. Sessions
 * themselves are access/sessions.ts.
 */
import type { FastifyInstance } from 'fastify';
import { fromOwnOrigin } from '../access/control.js';
import { isRole } from '../access/roles.js';
import type { Role } from '../access/roles.js';
import { endSession, startSession } from '../access/sessions.js';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';

/** A dev sign-in lasts a working day. */
const DEV_SESSION_MS = 8 * 60 * 60 * 1000;
const USER = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Fixed windows: at most `perClient` attempts per address and `total` in all per minute. */
export class SignInLimiter {
  private windowStart = 0;
  private total = 0;
  private readonly perKey = new Map<string, number>();
  constructor(
    private readonly perClient = 10,
    private readonly maxTotal = 60,
  ) {}
  allow(key: string, now: number): boolean {
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.total = 0;
      this.perKey.clear();
    }
    const n = this.perKey.get(key) ?? 0;
    if (n >= this.perClient || this.total >= this.maxTotal) return false;
    this.perKey.set(key, n + 1);
    this.total++;
    return true;
  }
}

export function sessionRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const now = () => (ctx.clock ?? Date.now)();
  const limiter = new SignInLimiter();

  app.get('/v1/session', async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    const caller = request.caller;
    return {
      signed_in: caller !== null && caller.via !== 'anonymous',
      subject: caller?.subject ?? null,
      roles: caller?.roles ?? [],
      via: caller?.session?.via ?? caller?.via ?? 'anonymous',
      expires_at: caller?.session ? new Date(caller.session.expiresAt).toISOString() : null,
      csrf_token: caller?.session?.csrfToken ?? null,
      dev_login: ctx.devSignIn ? { roles: ctx.devSignIn.roles } : null,
    };
  });

  app.post('/v1/session/dev-login', async (request, reply) => {
    const dev = ctx.devSignIn;
    if (!dev) throw new RequestError('not_found', 'This collector runs no development sign-in.');
    if (!fromOwnOrigin(request)) {
      throw new RequestError(
        'csrf_failed',
        'The dev sign-in is only for the console itself (Origin).',
      );
    }
    if (!limiter.allow(request.ip, now())) {
      throw new RequestError('sign_in_rate_limited', 'Too many sign-ins; retry in a minute.');
    }
    let body: unknown;
    try {
      body = JSON.parse(typeof request.body === 'string' ? request.body : '');
    } catch {
      throw new RequestError('malformed_json', 'Send {"user": "<name>", "roles": [...]} as JSON.');
    }
    const { user, roles } = (typeof body === 'object' && body !== null ? body : {}) as {
      user?: unknown;
      roles?: unknown;
    };
    if (typeof user !== 'string' || !USER.test(user)) {
      throw new RequestError(
        'invalid_parameter',
        '"user" must be 1-64 lowercase letters, digits, ".", "_" or "-".',
      );
    }
    const asked: unknown[] =
      roles === undefined ? [...dev.roles] : Array.isArray(roles) ? roles : [roles];
    for (const role of asked) {
      if (!isRole(role) || !dev.roles.includes(role)) {
        throw new RequestError(
          'role_not_allowed',
          `The dev sign-in hands out only ${dev.roles.join(', ') || 'no role'}; not "${String(role).slice(0, 40)}".`,
        );
      }
    }
    const started = await startSession(
      reply,
      {
        subject: `user:${user}`,
        roles: asked as Role[],
        expiresAt: now() + DEV_SESSION_MS,
        via: 'dev',
      },
      now(),
    );
    void reply.header('cache-control', 'no-store');
    return {
      signed_in: true,
      subject: started.subject,
      roles: started.roles,
      via: 'dev',
      expires_at: new Date(started.expiresAt).toISOString(),
      csrf_token: started.csrfToken,
    };
  });

  // Any caller may call it; a session's CSRF token and origin are checked by the access hook.
  app.post('/v1/session/logout', async (request, reply) => {
    await endSession(request, reply);
    return reply.code(200).send({ signed_in: false });
  });

  // RFC 9728: where this resource's credentials come from.
  app.get('/.well-known/oauth-protected-resource', async (request) => {
    const issuer = ctx.identity?.config.issuer;
    return {
      resource: issuer ?? `${request.protocol}://${request.host}`,
      authorization_servers: issuer ? [issuer] : [],
      bearer_methods_supported: ['header'],
      resource_name: 'Provenant collector',
    };
  });
}
