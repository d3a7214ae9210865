import { isUuid } from '@provenant/core';
import type { AttributionLevel } from '@provenant/core';
import { hasIngestQueue } from '@provenant/ledger';
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../errors.js';
import { mediaTypeOf, splitBody } from '../ingest/body.js';
import { ingest } from '../ingest/pipeline.js';
import { correlationOf, txnTokenOf } from '../identity/txn-token.js';
import type { CollectorContext } from '../context.js';
import { TOTAL_CAP, encodeEventsCursor, pageFilter, parseEventsQuery } from './events-query.js';
import { recordWithIntegrity } from './records.js';
import { toBase64 } from '@provenant/core';

interface Accepted {
  id: string;
  /** Null on a collector of a cluster until the sequencer includes the record (`promise`). */
  leaf_index: number | null;
  attribution: { level: AttributionLevel };
  /**
   * A cluster's signed promise of inclusion (C2SP signed note): `provenant.promise/v2` for the
   * records queued together (then with `promise_proof`), `provenant.promise/v1` for one record.
   */
  promise?: string;
  /** The record's place in a `provenant.promise/v2` batch: leaf hash, index, audit path (base64). */
  promise_proof?: { leaf_hash: string; index: number; path: string[] };
  /** The id the record was sent with, held by a weaker record: it is stored under `id`. */
  reclaimed_from?: string;
}
interface Rejected {
  index: number;
  id: string | null;
  code: string;
  message: string;
}

export function eventRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.post('/v1/events', async (request, reply) => {
    const type = mediaTypeOf(request.headers['content-type']);
    if (!type) {
      throw new RequestError(
        'unsupported_media_type',
        'Send records as application/json (one record or an array) or application/x-ndjson.',
      );
    }
    const txn = await txnTokenOf(request, ctx);
    const { body: items, outcomes } = await ingest(ctx, {
      credential: request.caller?.credential ?? null,
      correlation: txn === null ? null : correlationOf(txn),
      clientAddress: request.ip,
      read: () => splitBody(request.body as string, type, ctx.limits.maxRecordsPerRequest),
      candidates: (items) => items.filter((i) => !i.malformed).map((i) => i.value),
    });
    const accepted: Accepted[] = [];
    const rejected: Rejected[] = [];
    let next = 0;
    for (const { index, malformed } of items) {
      if (malformed) {
        rejected.push({
          index,
          id: null,
          code: 'malformed_json',
          message: 'This line is not valid JSON.',
        });
        continue;
      }
      const o = outcomes[next++]!;
      if (o.status === 'accepted') {
        accepted.push({
          id: o.id,
          leaf_index: o.leafIndex,
          attribution: { level: o.level },
          ...(o.promise === undefined ? {} : { promise: o.promise }),
          ...(o.promiseProof === undefined
            ? {}
            : {
                promise_proof: {
                  leaf_hash: toBase64(o.promiseProof.leafHash),
                  index: o.promiseProof.index,
                  path: o.promiseProof.path.map(toBase64),
                },
              }),
          ...(o.reclaimedFrom === undefined ? {} : { reclaimed_from: o.reclaimedFrom }),
        });
      } else if (o.status === 'rejected') {
        rejected.push({ index, id: o.id, code: o.code, message: o.message });
      } else {
        rejected.push({
          index,
          id: o.id,
          code: 'id_conflict',
          message: `Record ${o.id} is already stored${whereStored(o.leafIndex)} with other content.`,
        });
      }
    }
    return reply.code(accepted.length > 0 ? 200 : 422).send({ accepted, rejected });
  });

  app.get('/v1/events', async (request, reply) => {
    const query = parseEventsQuery(request.query as Record<string, unknown>);
    const { filter, reversed } = pageFilter(query);
    const [read, total] = await Promise.all([
      ctx.storage.queryEntries(filter),
      ctx.storage.countEntries(query.selection, TOTAL_CAP),
    ]);
    const more = read.length > query.limit;
    const page = read.slice(0, query.limit);
    if (reversed) page.reverse();
    const first = page[0];
    const last = page.at(-1);
    const cursor = (kind: 'next' | 'prev', leaf: number | undefined) =>
      leaf === undefined ? null : encodeEventsCursor(query.order, kind, leaf);
    // Reading backwards (a previous page), "more" is before the page; forwards, after it.
    const next = reversed || more ? cursor('next', last?.leafIndex) : null;
    const prev =
      query.page.kind === 'first' || (reversed && !more) ? null : cursor('prev', first?.leafIndex);
    const body = `{"events":[${page.map(recordWithIntegrity).join(',')}],"next_cursor":${JSON.stringify(next)},"prev_cursor":${JSON.stringify(prev)},"total":${JSON.stringify(total)}}`;
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.get('/v1/events/:id', async (request, reply) => {
    const entry = await findEntry(ctx, (request.params as { id: string }).id);
    return reply.type('application/json; charset=utf-8').send(recordWithIntegrity(entry));
  });

  app.get('/v1/events/:id/proof', async (request) => {
    const entry = await findEntry(ctx, (request.params as { id: string }).id);
    const query = request.query as Record<string, unknown>;
    const treeSize =
      query['tree_size'] === undefined
        ? ctx.log.size
        : parseNonNegativeInt(query['tree_size'], 'tree_size');
    const hashes = await ctx.log.inclusionProof(entry.leafIndex, treeSize);
    return { leaf_index: entry.leafIndex, tree_size: treeSize, hashes: hashes.map(toBase64) };
  });
}

async function findEntry(ctx: CollectorContext, id: string) {
  if (!isUuid(id)) {
    throw new RequestError(
      'invalid_parameter',
      `"${String(id).slice(0, 64)}" is not a record id (a UUID).`,
    );
  }
  const entry = await ctx.storage.getEntryById(id);
  if (entry) return entry;
  // A cluster member acknowledged it, the sequencer has not taken it into the tree yet.
  const queued = hasIngestQueue(ctx.storage) ? await ctx.storage.getQueued(id) : null;
  if (queued) {
    throw new RequestError(
      'record_queued',
      `Record ${id} was received at ${new Date(queued.receivedUs / 1000).toISOString()} and waits for the sequencer; it is in the log within seconds.`,
    );
  }
  throw new RequestError('not_found', `No record with id ${id}.`);
}

export function parseNonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(value)) {
    throw new RequestError('invalid_parameter', `"${name}" must be a non-negative integer.`);
  }
  return Number(value);
}

/** Where a record is stored: its leaf, or the ingest queue of a cluster. */
export function whereStored(leafIndex: number | null): string {
  return leafIndex === null ? ' (queued for the log)' : ` at leaf ${leafIndex}`;
}
