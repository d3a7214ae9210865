/**
 * Access control: one `onRequest` hook that finds the route's row in the route table,
 * authenticates the caller and refuses, before any body is read, a caller without the role.
 * Credentials: `Authorization: Bearer` with the deployment's admin token (every role) or a
 * credential of this collector's issuer (the roles of its `roles` claim), or a console session
 * cookie (the roles it was opened with; state-changing requests also need its CSRF token and a
 * same-origin `Origin`).
 */
import { bearerToken } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';
import { adminTokenMatcher, equalSecrets } from '../identity/admin.js';
import { ROLES, satisfies } from './roles.js';
import type { Role } from './roles.js';
import { accessOf } from './routes.js';
import { CSRF_HEADER, sessionOf } from './sessions.js';
import type { Session } from './sessions.js';

/** Who is calling, as the access hook established it. */
export interface Caller {
  readonly via: 'anonymous' | 'admin_token' | 'credential' | 'session';
  /** The credential's holder, the session's subject; `admin` for the admin token. */
  readonly subject: string | null;
  readonly roles: readonly Role[];
  /** The verified collector credential, when one was sent: what ingest attributes with. */
  readonly credential: VerifiedCredential | null;
  readonly session: Session | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the access hook on every route that is not `public`; null on public ones. */
    caller: Caller | null;
  }
}

const ANONYMOUS: Caller = {
  via: 'anonymous',
  subject: null,
  roles: [],
  credential: null,
  session: null,
};
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const REGISTERED = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

/** Every route registered on `app` after access control was installed (HEAD ones included). */
export function registeredRoutes(app: FastifyInstance): readonly { method: string; url: string }[] {
  return REGISTERED.get(app) ?? [];
}

export function installAccessControl(app: FastifyInstance, ctx: CollectorContext): void {
  const isAdminToken = adminTokenMatcher(ctx.adminToken);
  const now = () => (ctx.clock ?? Date.now)();
  app.decorateRequest('caller', null);
  const routes: { method: string; url: string }[] = [];
  REGISTERED.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  const authenticate = async (request: FastifyRequest): Promise<Caller> => {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = bearerToken(authorization);
      if (!token) {
        throw new RequestError(
          'invalid_credential',
          'Authorization must be "Bearer <credential>".',
        );
      }
      if (isAdminToken(token)) {
        return {
          via: 'admin_token',
          subject: 'admin',
          roles: ROLES,
          credential: null,
          session: null,
        };
      }
      if (!ctx.identity) {
        throw new RequestError('invalid_credential', 'This collector does not accept credentials.');
      }
      const credential = await ctx.identity.verifier.verify(token);
      // Only this collector's issuer grants roles here (from the registry); any other carries none.
      const roles = credential.claims.iss === ctx.identity.config.issuer ? credential.roles : [];
      return {
        via: 'credential',
        subject: credential.chain.at(-1) ?? credential.subject,
        roles,
        credential,
        session: null,
      };
    }
    const session = await sessionOf(request, now());
    if (session === null) return ANONYMOUS;
    if (!SAFE_METHODS.has(request.method)) checkCsrf(request, session);
    return {
      via: 'session',
      subject: session.subject,
      roles: session.roles,
      credential: null,
      session,
    };
  };

  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    // No route matched: the not-found handler answers, revealing nothing.
    if (url === undefined) return;
    const access = accessOf(request.method, url);
    if (access === undefined) {
      throw new RequestError(
        'route_unlisted',
        `${request.method} ${url} has no row in the route table; it is refused to everyone.`,
      );
    }
    if (access === 'public') return;
    let caller: Caller;
    try {
      caller = await authenticate(request);
    } catch (e) {
      // The admin routes keep answering a failed authentication as they always did.
      if (access === 'admin' && !(e instanceof CsrfError)) {
        throw adminRequired();
      }
      throw e;
    }
    request.caller = caller;
    if (access === 'optional') return;
    if (caller.via === 'anonymous') {
      if (access === 'ingest' && ctx.anonymousIngest === 'asserted') return;
      if (access === 'admin') {
        throw adminRequired();
      }
      throw new RequestError(
        'credential_required',
        `This route needs a credential with the ${neededRole(access)} role: Authorization: Bearer <credential>.`,
      );
    }
    const needed = neededRole(access);
    if (!satisfies(caller.roles, needed)) {
      void reply.header('www-authenticate', 'Bearer error="insufficient_scope"');
      throw new RequestError(
        'role_required',
        `This route needs the ${needed} role; ${caller.roles.length === 0 ? 'the caller holds none' : `the caller holds ${caller.roles.join(', ')}`}.`,
      );
    }
  });
}

const adminRequired = () =>
  new RequestError('admin_required', 'This route needs the admin token or an admin credential.');

const neededRole = (access: Role | 'ingest'): Role => (access === 'ingest' ? 'producer' : access);

class CsrfError extends RequestError {}

/**
 * Whether a browser request comes from a page of this collector: `Origin` names this origin
 * and, when the browser sends it, `Sec-Fetch-Site` says same-origin.
 */
export function fromOwnOrigin(request: FastifyRequest): boolean {
  const own = `${request.protocol}://${request.host}`;
  const site = request.headers['sec-fetch-site'] ?? 'same-origin';
  return request.headers.origin === own && site === 'same-origin';
}

/** A cookie-authenticated state change: its session's CSRF token, from the page's own origin. */
function checkCsrf(request: FastifyRequest, session: Session): void {
  if (!fromOwnOrigin(request)) {
    throw new CsrfError(
      'csrf_failed',
      'A console request must come from the console itself (Origin).',
    );
  }
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !equalSecrets(sent, session.csrfToken)) {
    throw new CsrfError(
      'csrf_failed',
      `A console request that changes state needs the session's ${CSRF_HEADER} header.`,
    );
  }
}
