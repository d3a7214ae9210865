import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { uuidv7 } from '@provenant/core';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../src/access/control.js';
import { ROUTE_ACCESS, accessOf } from '../src/access/routes.js';
import type { RouteAccess } from '../src/access/routes.js';
import type { IdentityService } from '../src/identity/service.js';
import { asAdmin, bearer, postJson, record } from './helpers.js';
import { credentialWithRoles, makeIdentityApp, register } from './identity-helpers.js';

/** The rows of the table that `registeredRoutes` lacks a row for, and rows with no route. */
function tableGaps(app: FastifyInstance) {
  const registered = registeredRoutes(app);
  const unlisted = registered
    .filter((r) => accessOf(r.method, r.url) === undefined)
    .map((r) => `${r.method} ${r.url}`);
  const keys = new Set(registered.map((r) => `${r.method} ${r.url}`));
  const stale = Object.keys(ROUTE_ACCESS).filter((k) => !keys.has(k));
  return { unlisted, stale };
}

/** A URL that reaches the route of a table row. */
function urlOf(pattern: string): string {
  return pattern
    .replace(':id', uuidv7())
    .replace(':trace_id', '4bf92f3577b34da6a3ce929d0e0e4736')
    .replace('/tile/entries/*', '/tile/entries/000.p/1')
    .replace('/tile/*', '/tile/0/000.p/1')
    .replace('/assets/*', '/assets/none.js');
}

type Who = 'anonymous' | 'producer' | 'analyst' | 'auditor' | 'admin' | 'admin token';
const WHO: readonly Who[] = ['anonymous', 'producer', 'analyst', 'auditor', 'admin', 'admin token'];

/** What the table promises for a caller: let through, or refused with a status and code. */
function expected(access: RouteAccess, who: Who): 'through' | [number, string] {
  if (access === 'public' || access === 'optional' || who === 'admin token') return 'through';
  const needed = access === 'ingest' ? 'producer' : access;
  if (who === 'anonymous')
    return access === 'admin' ? [401, 'admin_required'] : [401, 'credential_required'];
  if (who === needed || (needed === 'analyst' && who === 'auditor')) return 'through';
  return [403, 'role_required'];
}

let app: FastifyInstance;
let identity: IdentityService;
const tokens: Partial<Record<Who, Record<string, string>>> = {};

beforeAll(async () => {
  // Anonymous ingest off: this collector takes records only with a credential.
  ({ app, identity } = await makeIdentityApp({}, undefined, 'off'));
  await register(app, { id: 'user:carol', kind: 'human' });
  await app.ready();
  tokens['anonymous'] = {};
  for (const role of ['producer', 'analyst', 'auditor', 'admin'] as const) {
    tokens[role] = bearer(await credentialWithRoles(identity, [role]));
  }
  tokens['admin token'] = asAdmin;
});

describe('the route table', () => {
  it('has a row for every registered route, and no row without a route', () => {
    expect(registeredRoutes(app).length).toBeGreaterThan(30);
    expect(tableGaps(app)).toEqual({ unlisted: [], stale: [] });
  });

  it('refuses a route without a row to everyone, admin token included', async () => {
    const { app: planted } = await makeIdentityApp();
    planted.get('/v1/planted', async () => ({ secret: true }));
    expect(tableGaps(planted).unlisted).toEqual(['GET /v1/planted', 'HEAD /v1/planted']);
    const res = await planted.inject({ url: '/v1/planted', headers: asAdmin });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('route_unlisted');
    expect(res.body).not.toContain('secret');
  });

  const rows = Object.entries(ROUTE_ACCESS).flatMap(([key, access]) =>
    WHO.map((who) => [key, who, access] as const),
  );
  it.each(rows)('%s as %s', async (key, who, access) => {
    const [method, pattern] = key.split(' ') as [string, string];
    const res = await app.inject({
      method: method as 'GET' | 'POST',
      url: urlOf(pattern),
      headers: { ...tokens[who], origin: 'http://localhost:80' },
      ...(method === 'POST' ? { payload: '{}' } : {}),
    });
    const want = expected(access, who);
    if (want === 'through') {
      expect([401, 403], res.body).not.toContain(res.statusCode);
    } else {
      expect(res.statusCode, res.body).toBe(want[0]);
      // The OTLP receiver answers in its own shape (google.rpc.Status, the code as its reason).
      const body = res.json();
      expect(body.error?.code ?? body.details?.[0]?.reason).toBe(want[1]);
      if (want[0] === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      if (want[1] === 'role_required')
        expect(body.error?.message ?? body.message).toContain(
          access === 'ingest' ? 'producer' : access,
        );
    }
  });
});

describe('credentials', () => {
  it('refuses an expired credential, and one with roles from another issuer', async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    const expired = await credentialWithRoles(identity, ['analyst'], { exp: past });
    const res = await app.inject({ url: '/v1/events', headers: bearer(expired) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('expired');
    const foreign = await credentialWithRoles(identity, ['analyst'], { iss: 'http://evil.test' });
    expect((await app.inject({ url: '/v1/events', headers: bearer(foreign) })).statusCode).toBe(
      401,
    );
  });

  it('gives a credential only the roles of its claim that exist', async () => {
    const odd = await credentialWithRoles(identity, ['superuser', 'producer']);
    const res = await app.inject({ url: '/v1/events', headers: bearer(odd) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('holds producer');
  });

  it('lets a producer credential write but read nothing, not even what it wrote', async () => {
    const producer = tokens['producer']!;
    const r = record({ action: { name: 'repo.read', resource: 'repo:acme/a' } });
    const posted = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...producer, 'content-type': 'application/json' },
      payload: JSON.stringify(r),
    });
    expect(posted.statusCode, posted.body).not.toBe(401);
    expect(posted.statusCode).not.toBe(403);
    for (const url of [`/v1/events/${r['id']}`, `/v1/events/${r['id']}/proof`, '/v1/events']) {
      const res = await app.inject({ url, headers: producer });
      expect(res.statusCode).toBe(403);
      expect(res.body).not.toContain('repo:acme/a');
    }
  });

  it('anonymous ingest off: refuses an anonymous record with 401', async () => {
    const before = (await app.inject({ url: '/healthz', headers: asAdmin })).json().log.size;
    const res = await postJson(app, record());
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('credential_required');
    expect((await app.inject({ url: '/healthz', headers: asAdmin })).json().log.size).toBe(before);
  });
});

describe('tlog-tiles', () => {
  it('serves hash tiles to anyone and entry bundles to analysts only', async () => {
    const { app: a } = await makeIdentityApp();
    const r = record({ action: { name: 'repo.read', resource: 'repo:acme/a' } });
    expect((await postJson(a, r)).statusCode).toBe(200);
    const hashes = await a.inject({ url: '/tile/0/000.p/1' });
    expect(hashes.statusCode).toBe(200);
    expect(hashes.rawPayload.length).toBe(32);
    const anonymous = await a.inject({ url: '/tile/entries/000.p/1' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).not.toContain('provenant.event');
    const analyst = await a.inject({ url: '/tile/entries/000.p/1', headers: asAdmin });
    expect(analyst.statusCode).toBe(200);
    expect(analyst.rawPayload.toString('utf8')).toContain('provenant.event/v1');
    // The hash-tile route never answers an entry bundle, whatever the path.
    expect((await a.inject({ url: '/tile//entries/000.p/1' })).statusCode).toBe(404);
  });
});

describe('a refused request', () => {
  it('is answered before its body is read, and nothing is stored', async () => {
    const { app: live, log } = await makeIdentityApp({}, undefined, 'off');
    await live.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = live.server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let data = '';
        socket.on('data', (d) => {
          data += d.toString('latin1');
          if (data.includes('\r\n\r\n') && data.includes('}')) {
            socket.destroy();
            resolve(data);
          }
        });
        socket.on('error', reject);
        // Headers of a 5 MB upload, and not one byte of it: only an answer that does not wait
        // for the body can arrive.
        socket.write(
          'POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Content-Length: 5000000\r\n\r\n',
        );
      });
      expect(answer).toMatch(/^HTTP\/1\.1 401/);
      expect(answer).toContain('credential_required');
      expect(log.size).toBe(0);
    } finally {
      await live.close();
    }
  });
});
