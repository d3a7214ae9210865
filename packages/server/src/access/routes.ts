import type { Role } from './roles.js';

/**
 * Who may call a route:
 * - `public`: anyone, without a credential; such a route reveals no record content.
 * - `optional`: anyone; a credential sent is checked and the route shows more to a role
 *   (`/healthz` detail, `/v1/session`).
 * - `ingest`: `producer`, or anyone when the collector takes anonymous records
 *   (`anonymousIngest: 'asserted'`).
 * - a role: a caller holding it (see `satisfies`).
 */
export type RouteAccess = 'public' | 'optional' | 'ingest' | Role;

/**
 * THE route table: every route the collector registers, by method and Fastify URL pattern
 * exactly as registered. A route missing here is refused to everyone (fail closed), and
 * `test/access-routes.test.ts` fails for it. HEAD follows its GET.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  // Liveness: status for probes; storage, log and cluster detail with a role.
  'GET /healthz': 'optional',

  // What a transparency client or a witness needs; hashes and signatures, no record content.
  'GET /v1/log/checkpoint': 'public',
  'GET /checkpoint': 'public',
  'GET /v1/log/key': 'public',
  'GET /v1/log/consistency': 'public',
  'GET /tile/*': 'public', // hash tiles /tile/<L>/<N>
  'GET /tile/entries/*': 'analyst', // entry bundles: the records' bytes

  // OAuth: the token endpoints authenticate the caller themselves (client assertion, subject token).
  'POST /v1/token': 'public',
  'POST /v1/token/revoke': 'public',
  'GET /.well-known/jwks.json': 'public',
  'GET /.well-known/oauth-authorization-server': 'public',
  'GET /.well-known/oauth-protected-resource': 'public',

  // The console's static shell; the data behind it is protected below.
  'GET /': 'public',
  'GET /assets/*': 'public',
  // Console sessions (routes/session.ts) and OpenID Connect sign-in (routes/signin.ts); a
  // session's sign-out is a state change, so the hook checks its CSRF token.
  'GET /v1/session': 'optional',
  'POST /v1/session/dev-login': 'public',
  'POST /v1/session/logout': 'optional',
  'GET /v1/auth/login': 'public',
  'GET /v1/auth/callback': 'public',
  // The authorization endpoint (the CLI's `provenant login`, MCP clients) and, under
  // --dev-login without a provider, its dev sign-in form (same origin, checked by the route).
  'GET /v1/auth/authorize': 'public',
  'POST /v1/auth/authorize/dev-login': 'public',
  'POST /v1/auth/logout': 'optional',
  'GET /v1/auth/session': 'optional',

  // Producers: agents and services.
  'POST /v1/events': 'ingest',
  'POST /v1/traces': 'ingest',
  'POST /v1/decisions': 'producer',
  // AuthZEN Authorization API 1.0 (routes/authzen.ts): any verified credential asks about
  // itself (the route refuses a subject it does not name), the admin token is a trusted PEP;
  // the route refuses every other caller. The metadata is public.
  'POST /access/v1/evaluation': 'optional',
  'POST /access/v1/evaluations': 'optional',
  'GET /.well-known/authzen-configuration': 'public',

  // Analysts: records, traces, provenance, coverage, alerts.
  'GET /v1/events': 'analyst',
  'GET /v1/events/:id': 'analyst',
  'GET /v1/events/:id/proof': 'analyst',
  'GET /v1/events/:id/provenance': 'analyst',
  'GET /v1/traces/:trace_id': 'analyst',
  'GET /v1/reports/coverage': 'analyst',
  'GET /v1/reports/coverage/records': 'analyst',
  'GET /v1/otlp/stats': 'analyst',

  // Auditors: analyst, plus what hands out whole evidence.
  'GET /v1/export': 'auditor',
  'GET /v1/events/:id/evidence': 'auditor',
  'GET /v1/decisions/:id': 'auditor',

  // Admins: principals, roles, keys, policies.
  'GET /v1/principals': 'admin',
  'POST /v1/principals': 'admin',
  'POST /v1/principals/disable': 'admin',
  'POST /v1/principals/roles/grant': 'admin',
  'POST /v1/principals/roles/revoke': 'admin',
  'POST /v1/principals/scopes': 'admin',
  'POST /v1/admin/keys/rotate': 'admin',
};

/** The table's row for a method and a registered URL pattern; undefined when it has none. */
export function accessOf(method: string, url: string): RouteAccess | undefined {
  const key = `${method === 'HEAD' ? 'GET' : method} ${url}`;
  return Object.hasOwn(ROUTE_ACCESS, key) ? ROUTE_ACCESS[key] : undefined;
}
