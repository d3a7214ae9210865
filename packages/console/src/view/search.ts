/**
 * The events search as the URL keeps it: one search box (`q`), a time range, a few filters,
 * the order and the page. The URL is the state: reload, back and forward restore a search, and
 * a link to one can be shared. Pure: URL query in, state out, and state out to the URL and to
 * `GET /v1/events` (the query parameters of docs/ARCHITECTURE.md "Events search").
 */

/** Filters the URL may carry besides `q`; each is a `GET /v1/events` parameter of that name. */
export const FILTER_KEYS = [
  'outcome',
  'level',
  'type',
  'action',
  'resource',
  'initiator',
  'actor',
  'trace_id',
  'task_id',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export const ORDERS = ['desc', 'asc'] as const;
export type Order = (typeof ORDERS)[number];

/** Relative ranges offered; a choice is kept in the URL as absolute `from` (and no `to`). */
export const RANGES = [
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3600_000],
  ['24h', 'Last 24 hours', 24 * 3600_000],
  ['7d', 'Last 7 days', 7 * 24 * 3600_000],
  ['30d', 'Last 30 days', 30 * 24 * 3600_000],
] as const;

export const DEFAULT_LIMIT = 50;

export interface SearchState {
  readonly q: string;
  /** RFC 3339 bounds, or '' for none. */
  readonly from: string;
  readonly to: string;
  readonly filters: Readonly<Partial<Record<FilterKey, string>>>;
  readonly order: Order;
  readonly limit: number;
  readonly cursor: string;
  /** The page number shown ("records 51–100"), 1 on the first page; kept beside the cursor. */
  readonly page: number;
}

export const EMPTY_SEARCH: SearchState = {
  q: '',
  from: '',
  to: '',
  filters: {},
  order: 'desc',
  limit: DEFAULT_LIMIT,
  cursor: '',
  page: 1,
};

const positive = (s: string | null, fallback: number, max: number): number => {
  const n = s !== null && /^[1-9][0-9]{0,6}$/.test(s) ? Number(s) : fallback;
  return Math.min(n, max);
};

/** The state a URL query (`#/events?…`) names; what it does not name takes the defaults. */
export function parseSearch(query: string): SearchState {
  const p = new URLSearchParams(query);
  const filters: Partial<Record<FilterKey, string>> = {};
  for (const k of FILTER_KEYS) {
    const v = p.get(k);
    if (v) filters[k] = v;
  }
  const order = p.get('order');
  const cursor = p.get('cursor') ?? '';
  return {
    q: p.get('q') ?? '',
    from: p.get('from') ?? '',
    to: p.get('to') ?? '',
    filters,
    order: order === 'asc' ? 'asc' : 'desc',
    limit: positive(p.get('limit'), DEFAULT_LIMIT, 1000),
    cursor,
    page: cursor ? positive(p.get('page'), 1, 1_000_000) : 1,
  };
}

/** The URL query of a state: defaults left out, in a fixed order so equal states share a URL. */
export function searchQuery(s: SearchState): string {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  if (s.from) p.set('from', s.from);
  if (s.to) p.set('to', s.to);
  for (const k of FILTER_KEYS) {
    const v = s.filters[k];
    if (v) p.set(k, v);
  }
  if (s.order !== 'desc') p.set('order', s.order);
  if (s.limit !== DEFAULT_LIMIT) p.set('limit', String(s.limit));
  if (s.cursor) {
    p.set('cursor', s.cursor);
    if (s.page > 1) p.set('page', String(s.page));
  }
  return p.toString();
}

/** The `GET /v1/events` query of a state (the console always names its order). */
export function apiQuery(s: SearchState): string {
  const p = new URLSearchParams();
  if (s.q.trim()) p.set('q', s.q.trim());
  if (s.from) p.set('from', s.from);
  if (s.to) p.set('to', s.to);
  for (const k of FILTER_KEYS) {
    const v = s.filters[k];
    if (v) p.set(k, v);
  }
  p.set('order', s.order);
  p.set('limit', String(s.limit));
  if (s.cursor) p.set('cursor', s.cursor);
  return p.toString();
}

/** A new search (other terms): back to the first page. */
export function withTerms(s: SearchState, terms: Partial<SearchState>): SearchState {
  return { ...s, ...terms, cursor: '', page: 1 };
}

/** The state of the neighbouring page, through a cursor the collector answered. */
export function turnPage(s: SearchState, cursor: string, step: 1 | -1): SearchState {
  return { ...s, cursor, page: Math.max(1, s.page + step) };
}

/** `from` for a relative range ending now (`now` in ms, passed in so tests freeze it). */
export function rangeFrom(key: string, now: number): string | null {
  const r = RANGES.find(([k]) => k === key);
  return r ? new Date(now - r[2]).toISOString() : null;
}

/**
 * A `datetime-local` value (no zone; the console reads and writes such fields in UTC) as
 * RFC 3339, or null when it is not one. `2026-12-04T10:30` → `2026-12-04T10:30:00Z`.
 */
export function localToRfc3339(value: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const iso = `${m[1]}T${m[2]}:${m[3] ?? '00'}Z`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

/** An RFC 3339 time as a UTC `datetime-local` value (seconds dropped when zero). */
export function rfc3339ToLocal(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) return '';
  const iso = new Date(t).toISOString(); // 2026-12-04T10:30:05.000Z
  return iso.endsWith(':00.000Z') ? iso.slice(0, 16) : iso.slice(0, 19);
}

/** The API's total: exact, or an estimate that says so. */
export interface Total {
  readonly count: number;
  readonly exact: boolean;
}

/**
 * "Records 51–100 of 1,234", "of about 40,000" for an estimate; from the page number and the
 * rows on this page. Without a total (an older collector), just the rows.
 */
export function pageSummary(
  page: number,
  limit: number,
  rows: number,
  total: Total | null | undefined,
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  if (rows === 0) {
    return total ? `No records on this page (${n(total.count)} in all).` : 'No records.';
  }
  const first = (page - 1) * limit + 1;
  const last = first + rows - 1;
  const span = `${n(first)}–${n(last)}`;
  if (!total) return `Records ${span}.`;
  return `Records ${span} of ${total.exact ? '' : 'about '}${n(total.count)}.`;
}
