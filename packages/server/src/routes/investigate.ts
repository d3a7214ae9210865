import { isActionRecord, isUuid } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { DEFAULT_CHAIN_OPTIONS } from '@provenant/ledger';
import type { ChainOptions, StoredEntry } from '@provenant/ledger';
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';
import { ISSUER_PRINCIPAL } from '../identity/service.js';
import { timeToMicros } from '../ingest/time.js';
import {
  MEASURES,
  coverageReport,
  measureEntries,
  measureHref,
  ref,
} from '../investigate/coverage.js';
import { provenanceOf } from '../investigate/provenance.js';
import { ReadGate } from '../investigate/gate.js';
import { readTracePage } from '../investigate/trace.js';
import { SLICE_MS, Slices } from '../lib/slices.js';
import { PDP_PRINCIPAL } from '../policy/service.js';
import { parseNonNegativeInt } from './events.js';
import { decodeCursor, parseLimit } from './paging.js';

const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
/** Most records of one trace in one answer (and the default page); the rest by `next`. */
export const MAX_TRACE_PAGE = 1000;

/** Investigation routes: provenance and evidence of an action, traces, coverage. */
export function investigateRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const chainOptions: ChainOptions = {
    issuer: ISSUER_PRINCIPAL,
    decisionPoint: PDP_PRINCIPAL,
    skewSec: ctx.identity?.config.skewSec ?? DEFAULT_CHAIN_OPTIONS.skewSec,
  };
  const deps = { storage: ctx.storage, log: ctx.log, chainOptions };
  const gate = new ReadGate(ctx.limits.maxActiveReads, ctx.limits.maxQueuedReads);

  const actionEntry = async (id: string): Promise<StoredEntry> => {
    if (!isUuid(id)) {
      throw new RequestError(
        'invalid_parameter',
        `"${String(id).slice(0, 64)}" is not a record id (a UUID).`,
      );
    }
    const entry = await ctx.storage.getEntryById(id);
    if (!entry) throw new RequestError('not_found', `No record with id ${id}.`);
    if (!isActionRecord(JSON.parse(entry.canonical) as EventRecord)) {
      throw new RequestError(
        'not_an_action',
        `Record ${id} is a ${entry.type} record; provenance is for actions.`,
      );
    }
    return entry;
  };
  const noQuery = (query: unknown) => {
    const keys = Object.keys(query as object);
    if (keys.length > 0)
      throw new RequestError(
        'invalid_parameter',
        `Unknown query parameter "${keys[0]!.slice(0, 64)}".`,
      );
  };

  const onlyParams = (query: Record<string, unknown>, allowed: readonly string[]) => {
    for (const key of Object.keys(query)) {
      if (!allowed.includes(key))
        throw new RequestError(
          'invalid_parameter',
          `Unknown query parameter "${key.slice(0, 64)}".`,
        );
    }
  };

  app.get('/v1/events/:id/provenance', async (request) => {
    noQuery(request.query);
    const entry = await actionEntry((request.params as { id: string }).id);
    return gate.run(() => provenanceOf(deps, entry));
  });

  app.get('/v1/events/:id/evidence', async (request) => {
    noQuery(request.query);
    const entry = await actionEntry((request.params as { id: string }).id);
    return (await gate.run(() => provenanceOf(deps, entry))).evidence;
  });

  // A trace a page at a time, in log order: one bounded read, and a tree of at most
  // MAX_TRACE_PAGE records, however large the trace.
  app.get('/v1/traces/:trace_id', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    onlyParams(query, ['limit', 'cursor']);
    const traceId = (request.params as { trace_id: string }).trace_id;
    if (!TRACE_ID.test(traceId)) {
      throw new RequestError(
        'invalid_trace_id',
        `"${traceId.slice(0, 64)}" is not a trace id (32 lowercase hex digits, not all zero).`,
      );
    }
    const limit = parseLimit(query['limit'], MAX_TRACE_PAGE, MAX_TRACE_PAGE);
    const after = query['cursor'] === undefined ? undefined : decodeCursor(query['cursor']);
    const page = { traceId, limit, ...(after === undefined ? {} : { after }) };
    const notFound = () => new RequestError('not_found', `No record of trace ${traceId}.`);
    const worker = ctx.investigator;
    if (worker) {
      // The whole answer is built off the event loop; it only writes the text.
      const json = await gate.run(() => worker.trace(page));
      if (json === null) throw notFound();
      return reply.type('application/json; charset=utf-8').send(json);
    }
    // On the loop: parsed in slices (a page of 1,000 records is several ms), giving way to
    // ingest.
    const slices = new Slices(SLICE_MS, true);
    const answer = await gate.run(() => readTracePage(ctx.storage, page, () => slices.turn()));
    if (answer === null) throw notFound();
    return answer;
  });

  /** `from` / `to` of a coverage request, checked. */
  const coverageRange = (query: Record<string, unknown>) => {
    const time = (key: 'from' | 'to'): { text: string | null; us: number | undefined } => {
      const v = query[key];
      if (v === undefined) return { text: null, us: undefined };
      const us = typeof v === 'string' && v.length <= 64 ? timeToMicros(v) : NaN;
      if (Number.isNaN(us))
        throw new RequestError(
          'invalid_parameter',
          `"${key}" must be an RFC 3339 timestamp such as 2026-11-27T13:05:01Z.`,
        );
      return { text: v as string, us };
    };
    const from = time('from');
    const to = time('to');
    if (from.us !== undefined && to.us !== undefined && from.us >= to.us) {
      throw new RequestError('invalid_time_range', '"from" must be before "to".');
    }
    return {
      from: from.text,
      to: to.text,
      ...(from.us === undefined ? {} : { fromUs: from.us }),
      ...(to.us === undefined ? {} : { toUs: to.us }),
    };
  };
  app.get('/v1/reports/coverage', async (request) => {
    const query = request.query as Record<string, unknown>;
    onlyParams(query, ['from', 'to']);
    const range = coverageRange(query);
    return gate.run(() => coverageReport(ctx.storage, range));
  });

  // The records behind one count of the coverage report (its `links`), a page at a time.
  app.get('/v1/reports/coverage/records', async (request) => {
    const query = request.query as Record<string, unknown>;
    onlyParams(query, ['measure', 'account', 'from', 'to', 'limit', 'after']);
    const one = (key: string): string | undefined => {
      const v = query[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.length === 0 || v.length > 1024)
        throw new RequestError(
          'invalid_parameter',
          `Query parameter "${key}" must be given once, 1-1024 characters.`,
        );
      return v;
    };
    const measure = one('measure');
    if (measure === undefined)
      throw new RequestError('invalid_parameter', 'Query parameter "measure" is required.');
    if (!Object.hasOwn(MEASURES, measure))
      throw new RequestError(
        'unknown_measure',
        `"${measure.slice(0, 64)}" is not a measure of the coverage report (see its "links").`,
      );
    const account = one('account');
    if (account !== undefined && measure !== 'pooled_accounts')
      throw new RequestError('invalid_parameter', '"account" is only for measure pooled_accounts.');
    const limitText = one('limit');
    const limit = limitText === undefined ? 100 : parseNonNegativeInt(limitText, 'limit');
    if (limit < 1 || limit > 1000)
      throw new RequestError('invalid_parameter', '"limit" must be between 1 and 1000.');
    const afterText = one('after');
    const after = afterText === undefined ? undefined : parseNonNegativeInt(afterText, 'after');
    const range = coverageRange(query);
    const page = await gate.run(() =>
      measureEntries(ctx.storage, measure, range, {
        limit,
        ...(after === undefined ? {} : { afterLeafIndex: after }),
        ...(account === undefined ? {} : { account }),
      }),
    );
    const here = measureHref(measure, range, account);
    return {
      measure,
      ...(account === undefined ? {} : { account }),
      from: range.from,
      to: range.to,
      records: page.entries.map((e) => ({ ...ref(e.record), leaf_index: e.leafIndex })),
      next_after: page.next === null ? null : String(page.next),
      next: page.next === null ? null : `${here}&limit=${limit}&after=${page.next}`,
    };
  });
}
