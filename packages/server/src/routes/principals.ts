import { parsePrincipal } from '@provenant/identity';
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';
import { appendRecords } from '../ingest/append.js';
import { RequestError } from '../errors.js';
import { requireAdmin } from '../identity/admin.js';
import { prepareOwnRecord } from '../ingest/prepare.js';
import type { EventRecord } from '@provenant/core';

/** Admin routes of the principals registry; every change is itself a ledger record. */
export function principalRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const guard = (authorization: string | undefined) => {
    requireAdmin(authorization, ctx.adminToken);
    if (!ctx.identity)
      throw new RequestError('not_found', 'This collector runs no principals registry.');
    return ctx.identity;
  };
  const record = async (r: EventRecord) => {
    const p = prepareOwnRecord(r, { level: 'verified', reasons: ['collector_registry'] });
    if (p.ok) await appendRecords(ctx, [p]);
  };
  const body = (raw: unknown): unknown => {
    try {
      return JSON.parse(typeof raw === 'string' ? raw : '');
    } catch {
      throw new RequestError('malformed_json', 'The body is not valid JSON.');
    }
  };

  app.get('/v1/principals', async (request) => ({
    principals: await guard(request.headers.authorization).principals(),
  }));

  app.post('/v1/principals', async (request, reply) => {
    const identity = guard(request.headers.authorization);
    let principal;
    try {
      principal = parsePrincipal(body(request.body));
    } catch (e) {
      if (e instanceof RequestError) throw e;
      throw new RequestError('invalid_principal', (e as Error).message);
    }
    await record(await identity.registerPrincipal(principal, (ctx.clock ?? Date.now)()));
    return reply.code(201).send(principal);
  });

  app.post('/v1/admin/keys/rotate', async (request) => {
    const identity = guard(request.headers.authorization);
    const { kid, record: r } = identity.rotateKey((ctx.clock ?? Date.now)());
    await record(r);
    return { kid };
  });

  app.post('/v1/principals/disable', async (request) => {
    const identity = guard(request.headers.authorization);
    const input = body(request.body) as { id?: unknown };
    if (typeof input?.id !== 'string')
      throw new RequestError('invalid_principal', 'Send {"id": "<principal id>"}.');
    const r = await identity.disablePrincipal(input.id, (ctx.clock ?? Date.now)());
    if (!r) throw new RequestError('not_found', `No principal ${input.id.slice(0, 200)}.`);
    await record(r);
    return { id: input.id, disabled: true };
  });
}
