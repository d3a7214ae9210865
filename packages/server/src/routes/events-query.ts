import { ATTRIBUTION_LEVELS, OUTCOME_STATUSES, isUuid } from '@provenant/core';
import type { EntryFilter, EntrySelection, SearchTerms } from '@provenant/ledger';
import { RequestError } from '../errors.js';
import { timeToMicros } from '../ingest/time.js';
import { decodeCursor, parseLimit } from './paging.js';

/**
 * The query of `GET /v1/events`: what it selects, in which order, and which page. Every
 * parameter is checked here; bad input is 400 `invalid_parameter` (a cursor this collector did
 * not issue: `invalid_cursor`; `from` not before `to`: `invalid_time_range`) with a message
 * naming the parameter.
 */

export type EventsOrder = 'asc' | 'desc';

/** Where a page starts: the first, or after (`next`) / before (`prev`) a leaf in the order. */
export type EventsPage =
  { readonly kind: 'first' } | { readonly kind: 'next' | 'prev'; readonly leafIndex: number };

export interface EventsQuery {
  readonly selection: EntrySelection;
  readonly order: EventsOrder;
  readonly page: EventsPage;
  readonly limit: number;
}

/** Counting stops here: past it the total is `{ count: TOTAL_CAP, exact: false }`. */
export const TOTAL_CAP = 10_000;
/** Longest action name (the record schema's) and most `*` in one glob. */
const MAX_GLOB = 256;
const MAX_STARS = 8;
const TRACE_ID = /^(?!0{32}$)[0-9a-f]{32}$/;
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

const PARAMS = new Set([
  'initiator',
  'actor',
  'type',
  'task_id',
  'trace_id',
  'level',
  'from',
  'to',
  'limit',
  'cursor',
  'action',
  'resource',
  'outcome',
  'order',
  'q',
]);

export function parseEventsQuery(query: Record<string, unknown>): EventsQuery {
  for (const key of Object.keys(query)) {
    if (!PARAMS.has(key)) {
      throw new RequestError('invalid_parameter', `Unknown query parameter "${key.slice(0, 64)}".`);
    }
  }
  const str = (key: string): string | undefined => {
    const v = query[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
      throw new RequestError(
        'invalid_parameter',
        `Query parameter "${key}" must be given once, 1-1024 characters.`,
      );
    }
    return v;
  };
  const time = (key: string): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    const us = timeToMicros(v);
    if (Number.isNaN(us)) {
      throw new RequestError(
        'invalid_parameter',
        `"${key}" must be an RFC 3339 timestamp such as 2026-11-27T13:05:01Z.`,
      );
    }
    return us;
  };
  const oneOf = (key: string, values: readonly string[]): string | undefined => {
    const v = str(key);
    if (v !== undefined && !values.includes(v)) {
      throw new RequestError(
        'invalid_parameter',
        `"${key}" must be one of ${values.join(', ')}; got "${v.slice(0, 64)}".`,
      );
    }
    return v;
  };
  const level = oneOf('level', ATTRIBUTION_LEVELS);
  const outcome = oneOf('outcome', OUTCOME_STATUSES);
  const orderParam = oneOf('order', ['asc', 'desc']) as EventsOrder | undefined;
  const action = str('action');
  if (action !== undefined) checkGlob(action, '"action"');
  const resource = str('resource');
  if (resource !== undefined) checkText(resource, '"resource"');
  const q = str('q');
  const fromUs = time('from');
  const toUs = time('to');
  if (fromUs !== undefined && toUs !== undefined && fromUs >= toUs) {
    throw new RequestError('invalid_time_range', '"from" must be before "to".');
  }
  const limit = parseLimit(str('limit'), 1000, 100);
  const cursor = str('cursor');
  const decoded = cursor === undefined ? null : decodeEventsCursor(cursor);
  if (decoded !== null && orderParam !== undefined && decoded.order !== orderParam) {
    throw new RequestError(
      'invalid_parameter',
      `This cursor pages order=${decoded.order}; it cannot be used with order=${orderParam} (start again without "cursor").`,
    );
  }
  const order = decoded?.order ?? orderParam ?? 'asc';
  const selection: { -readonly [K in keyof EntrySelection]: EntrySelection[K] } = {};
  const set = <K extends keyof EntrySelection>(k: K, v: EntrySelection[K] | undefined) => {
    if (v !== undefined) selection[k] = v;
  };
  set('initiator', str('initiator'));
  set('actor', str('actor'));
  set('type', str('type'));
  set('taskId', str('task_id'));
  set('traceId', str('trace_id'));
  set('level', level);
  set('outcome', outcome);
  set('fromUs', fromUs);
  set('toUs', toUs);
  set('action', action);
  set('resource', resource);
  if (q !== undefined) selection.anyOf = searchTerms(q);
  return { selection, order, page: decoded?.page ?? { kind: 'first' }, limit };
}

/**
 * The lookups of the search box's text: each id column exactly, a resource prefix, an action
 * glob, and the record id or trace id when the text has their form.
 */
export function searchTerms(q: string): SearchTerms {
  checkText(q, '"q"');
  const terms: { -readonly [K in keyof SearchTerms]: SearchTerms[K] } = {
    initiator: q,
    actor: q,
    resource: q,
  };
  if (isUuid(q)) terms.id = q.toLowerCase() === q ? q : q.toLowerCase();
  if (TRACE_ID.test(q)) terms.traceId = q;
  if (q.length <= MAX_GLOB && !CONTROL.test(q) && countStars(q) <= MAX_STARS) terms.action = q;
  return terms;
}

function checkText(v: string, name: string): void {
  if (CONTROL.test(v)) {
    throw new RequestError('invalid_parameter', `${name} must not contain control characters.`);
  }
}

function countStars(v: string): number {
  return v.split('*').length - 1;
}

/** An action-name glob: `*` matches any run of characters, every other character itself. */
function checkGlob(v: string, name: string): void {
  if (v.length > MAX_GLOB || CONTROL.test(v) || countStars(v) > MAX_STARS) {
    throw new RequestError(
      'invalid_parameter',
      `${name} must be an action name or a glob of one ("*" matches any run of characters, e.g. "github.*"): at most ${MAX_GLOB} characters, at most ${MAX_STARS} "*", no control characters.`,
    );
  }
}

/**
 * Cursors of `GET /v1/events`: `c2.` and, in base64url, the order (`a`/`d`), the direction
 * (`n` next, `p` previous) and the leaf index the page continues from. `c1.` cursors (issued
 * before there was an order) page forwards in log order.
 */
export function encodeEventsCursor(
  order: EventsOrder,
  kind: 'next' | 'prev',
  leafIndex: number,
): string {
  const payload = `${order === 'asc' ? 'a' : 'd'}${kind === 'next' ? 'n' : 'p'}${leafIndex}`;
  return `c2.${Buffer.from(payload).toString('base64url')}`;
}

export function decodeEventsCursor(cursor: string): { order: EventsOrder; page: EventsPage } {
  if (cursor.startsWith('c1.')) {
    return { order: 'asc', page: { kind: 'next', leafIndex: decodeCursor(cursor) } };
  }
  const m = /^c2\.([A-Za-z0-9_-]{1,28})$/.exec(cursor);
  const text = m ? Buffer.from(m[1]!, 'base64url').toString('latin1') : '';
  const p = /^([ad])([np])(0|[1-9][0-9]{0,15})$/.exec(text);
  if (!p) throw new RequestError('invalid_cursor', 'The cursor was not issued by this collector.');
  return {
    order: p[1] === 'a' ? 'asc' : 'desc',
    page: { kind: p[2] === 'n' ? 'next' : 'prev', leafIndex: Number(p[3]) },
  };
}

/** The storage read of one page: `limit + 1` entries, in the direction the page is read. */
export function pageFilter(q: EventsQuery): { filter: EntryFilter; reversed: boolean } {
  const { order, page } = q;
  const reversed = page.kind === 'prev';
  const scan: EventsOrder = reversed ? (order === 'asc' ? 'desc' : 'asc') : order;
  const bound =
    page.kind === 'first'
      ? {}
      : scan === 'asc'
        ? { afterLeafIndex: page.leafIndex }
        : { beforeLeafIndex: page.leafIndex };
  return { filter: { ...q.selection, ...bound, order: scan, limit: q.limit + 1 }, reversed };
}
