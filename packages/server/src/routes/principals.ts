import { parsePrincipal, parseRole, parseScopeCeiling } from '@provenant/identity';
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';
import { appendRecords } from '../ingest/append.js';
import { RequestError } from '../errors.js';
import { prepareOwnRecord } from '../ingest/prepare.js';
import type { EventRecord } from '@provenant/core';

/** Admin routes of the principals registry; every change is itself a ledger record. */
export function principalRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  // The admin role is checked by the access hook (access/routes.ts).
  const guard = (_authorization?: string) => {
    if (!ctx.identity)
      throw new RequestError('not_found', 'This collector runs no principals registry.');
    return ctx.identity;
  };
  const record = async (...records: EventRecord[]) => {
    const prepared = records
      .map((r) => prepareOwnRecord(r, { level: 'verified', reasons: ['collector_registry'] }))
      .filter((p) => p.ok);
    if (prepared.length > 0) await appendRecords(ctx, prepared);
  };
  const body = (raw: unknown): unknown => {
    try {
      return JSON.parse(typeof raw === 'string' ? raw : '');
    } catch {
      throw new RequestError('malformed_json', 'The body is not valid JSON.');
    }
  };
  /** Runs a registry rule on the request body, its PrincipalError becoming `invalid_principal`. */
  const parsed = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (e) {
      if (e instanceof RequestError) throw e;
      throw new RequestError('invalid_principal', (e as Error).message);
    }
  };
  const idOf = (input: unknown): string => {
    const id = (input as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') {
      throw new RequestError('invalid_principal', 'Send {"id": "<principal id>", …}.');
    }
    return id;
  };
  const unknown = (id: string) =>
    new RequestError('not_found', `No principal ${id.slice(0, 200)}.`);
  const now = () => (ctx.clock ?? Date.now)();

  app.get('/v1/principals', async (request) => ({
    principals: await guard(request.headers.authorization).principals(),
  }));

  app.post('/v1/principals', async (request, reply) => {
    const identity = guard(request.headers.authorization);
    const principal = parsed(() => parsePrincipal(body(request.body)));
    const registered = await identity.registerPrincipal(principal, now());
    await record(...registered.records);
    return reply.code(201).send(registered.principal);
  });

  // Roles by body, like disable: principal ids hold "/" and ":", awkward in a path.
  for (const [path, granted] of [
    ['/v1/principals/roles/grant', true],
    ['/v1/principals/roles/revoke', false],
  ] as const) {
    app.post(path, async (request) => {
      const identity = guard(request.headers.authorization);
      const input = body(request.body);
      const id = idOf(input);
      const role = parsed(() => parseRole((input as { role?: unknown }).role));
      const changed = await identity.setRole(id, role, granted, now());
      if (!changed) throw unknown(id);
      if (changed.record) await record(changed.record);
      return { id, roles: changed.principal.roles ?? [], changed: changed.record !== null };
    });
  }

  app.post('/v1/principals/scopes', async (request) => {
    const identity = guard(request.headers.authorization);
    const input = body(request.body);
    const id = idOf(input);
    const scopes = parsed(() => parseScopeCeiling((input as { scopes?: unknown }).scopes));
    const changed = await identity.setScopeCeiling(id, scopes, now());
    if (!changed) throw unknown(id);
    await record(changed.record);
    return { id, scopes: changed.principal.scopes };
  });

  // Body optional: {"retire_now": true} contains a leaked key (see OPERATIONS.md).
  app.post('/v1/admin/keys/rotate', async (request) => {
    const identity = guard(request.headers.authorization);
    const raw = typeof request.body === 'string' ? request.body.trim() : '';
    const input = raw === '' ? {} : body(raw);
    const retireNow = (input as { retire_now?: unknown } | null)?.retire_now ?? false;
    if (typeof retireNow !== 'boolean') {
      throw new RequestError('invalid_parameter', 'retire_now must be true or false.');
    }
    const { kid, retired, record: r } = await identity.rotateKey(now(), { retireNow });
    await record(r);
    return { kid, retired };
  });

  app.post('/v1/principals/disable', async (request) => {
    const identity = guard(request.headers.authorization);
    const id = idOf(body(request.body));
    const r = await identity.disablePrincipal(id, now());
    if (!r) throw unknown(id);
    await record(r);
    return { id, disabled: true };
  });
}
