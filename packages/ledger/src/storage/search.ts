import type { EntrySelection, SearchTerms } from './port.js';

/**
 * The search plan the SQL drivers share (SQLite, PostgreSQL): how an action glob, a resource
 * prefix, an outcome and the search box's terms become index lookups that read entries in leaf
 * order, so "the newest 50 that match" never sorts every match.
 *
 * Each selection is a union of *streams*. A stream is a set of equalities on one index whose
 * entries the index keeps in leaf order — `action_name = a` on (action_name, leaf),
 * `resource = r AND action_name = a` on (resource, action_name, leaf), `outcome = o` on the
 * partial (outcome, leaf) of the non-success outcomes, `actor = x` … — so a stream's first
 * `limit` entries in either order are one index range read. A glob or a prefix becomes the
 * streams of the distinct index keys it covers, found by skipping through the index (one seek
 * per key, `nextKey`); past `MAX_STREAM_KEYS` keys the lookup stays one range stream, whose
 * matches the database sorts (cost proportional to the matches, read from the index alone).
 * Every other condition (time, level, type, …) is checked on the stream's entries.
 */

/** Distinct keys a glob or prefix is expanded to before it is read as one sorted range. */
export const MAX_STREAM_KEYS = 64;
/** Distinct keys looked at for a glob's matches (a glob may match few of the keys it spans). */
const SCANNED_KEYS = MAX_STREAM_KEYS * 4;

/**
 * One index lookup: equalities, or (a `range`) a prefix or glob read as a sorted range.
 * `search`: a lookup of the search box's, which says nothing of the selection's own terms.
 */
export type Stream = StreamLookup & { readonly search?: true };

type StreamLookup =
  | { readonly kind: 'eq'; readonly column: EqColumn; readonly value: string }
  | { readonly kind: 'action'; readonly name: string }
  | { readonly kind: 'resourceAction'; readonly resource: string; readonly name: string }
  | { readonly kind: 'outcome'; readonly status: string }
  | { readonly kind: 'actionRange'; readonly glob: string; readonly dense?: true }
  | {
      readonly kind: 'resourceRange';
      readonly prefix: string;
      readonly glob?: string;
      readonly dense?: true;
    }
  /** Every entry (the other conditions decide). */
  | { readonly kind: 'all' };

export type EqColumn = 'id' | 'trace_id' | 'initiator' | 'actor';

/**
 * Where a driver finds the distinct keys of its indexes, in index order, skipping through the
 * index (one seek a key; PostgreSQL in one recursive statement, SQLite seek by seek in-process).
 */
export interface KeyReader {
  /** The first `max` distinct action names with from <= name < to (`to` null: no bound). */
  actions(from: string, to: string | null, max: number): Promise<string[]>;
  /** The first `max` distinct (resource, action name) pairs with from <= resource < to. */
  resourceActions(
    from: string,
    to: string | null,
    max: number,
  ): Promise<(readonly [string, string])[]>;
  /** How many entries pass these conditions, counting no further than `cap + 1`. */
  countUpTo(conditions: (d: Dialect) => string[], cap: number): Promise<number>;
}

/**
 * A range stream with more matches than this is read by walking the log in order (the matches
 * are at least this dense: the first `limit` come soon); one with fewer is read from its index
 * and sorted (at most this many index entries).
 */
export const DENSE_RANGE = 10_000;

/** A range stream, marked `dense` when its index range holds more than DENSE_RANGE entries. */
async function rangeStream(
  stream: Extract<Stream, { kind: 'actionRange' | 'resourceRange' }>,
  keys: KeyReader,
): Promise<Stream> {
  const n = await keys.countUpTo((d) => streamConditions(stream, d), DENSE_RANGE);
  return n > DENSE_RANGE ? { ...stream, dense: true } : stream;
}

/** The text before a glob's first `*`: every match starts with it. */
export function globPrefix(glob: string): string {
  const star = glob.indexOf('*');
  return star < 0 ? glob : glob.slice(0, star);
}

/** A matcher for an action-name glob (`*` any run, all else literal). */
export function globMatcher(glob: string): (name: string) => boolean {
  if (!glob.includes('*')) return (name) => name === glob;
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${body}$`, 's');
  return (name) => re.test(name);
}

/**
 * The least string above every string that starts with `prefix`, in code point order (which is
 * UTF-8 byte order: SQLite's BINARY and PostgreSQL's "C" collation); null when there is none.
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return null;
}

/** The streams of a glob on action names: one per distinct name it matches (or one range). */
async function actionStreams(glob: string, keys: KeyReader): Promise<Stream[]> {
  if (!glob.includes('*')) return [{ kind: 'action', name: glob }];
  const from = globPrefix(glob);
  const to = from === '' ? null : prefixEnd(from);
  const names = await keys.actions(from, to, SCANNED_KEYS + 1);
  const matched = names.slice(0, SCANNED_KEYS).filter(globMatcher(glob));
  if (names.length <= SCANNED_KEYS && matched.length <= MAX_STREAM_KEYS) {
    return matched.map((name) => ({ kind: 'action', name }));
  }
  return [await rangeStream({ kind: 'actionRange', glob }, keys)];
}

/** The streams of a resource prefix (and action glob): one per distinct (resource, name). */
async function resourceStreams(
  prefix: string,
  glob: string | undefined,
  keys: KeyReader,
): Promise<Stream[]> {
  const to = prefixEnd(prefix);
  // Without a glob every key is a stream: no more than one past the most are needed.
  const scan = glob === undefined ? MAX_STREAM_KEYS : SCANNED_KEYS;
  const pairs = await keys.resourceActions(prefix, to, scan + 1);
  const match = glob === undefined ? () => true : globMatcher(glob);
  const matched = pairs.slice(0, scan).filter(([, name]) => match(name));
  if (pairs.length <= scan && matched.length <= MAX_STREAM_KEYS) {
    return matched.map(([resource, name]) => ({ kind: 'resourceAction', resource, name }));
  }
  return [
    await rangeStream(
      { kind: 'resourceRange', prefix, ...(glob === undefined ? {} : { glob }) },
      keys,
    ),
  ];
}

/** The streams of the search box's terms: their union (an entry may be in several). */
async function searchStreams(terms: SearchTerms, keys: KeyReader): Promise<Stream[]> {
  const out: Stream[] = [];
  const eq = (column: EqColumn, value: string | undefined) => {
    if (value !== undefined) out.push({ kind: 'eq', column, value });
  };
  eq('id', terms.id);
  eq('trace_id', terms.traceId);
  eq('initiator', terms.initiator);
  eq('actor', terms.actor);
  if (terms.resource !== undefined)
    out.push(...(await resourceStreams(terms.resource, undefined, keys)));
  if (terms.action !== undefined) out.push(...(await actionStreams(terms.action, keys)));
  return out;
}

/** Non-success outcomes are indexed (a partial index: most records succeed). */
export function indexedOutcome(status: string | undefined): status is string {
  return status !== undefined && status !== 'success';
}

/**
 * The streams that read a selection, and whether they may overlap (the search box's do; a
 * union of them must then drop duplicates). Zero streams: nothing can match.
 */
export async function planStreams(
  s: EntrySelection,
  keys: KeyReader,
): Promise<{ streams: Stream[]; overlapping: boolean }> {
  if (s.anyOf !== undefined) {
    const streams = await searchStreams(s.anyOf, keys);
    return { streams: streams.map((st) => ({ ...st, search: true })), overlapping: true };
  }
  if (s.resource !== undefined) {
    return { streams: await resourceStreams(s.resource, s.action, keys), overlapping: false };
  }
  if (s.action !== undefined)
    return { streams: await actionStreams(s.action, keys), overlapping: false };
  if (indexedOutcome(s.outcome)) {
    return { streams: [{ kind: 'outcome', status: s.outcome }], overlapping: false };
  }
  return { streams: [{ kind: 'all' }], overlapping: false };
}

/** Whether a selection needs the planner (otherwise one plain query serves it). */
export function usesSearch(s: EntrySelection): boolean {
  return (
    s.anyOf !== undefined ||
    s.resource !== undefined ||
    s.action !== undefined ||
    indexedOutcome(s.outcome)
  );
}

/** SQL of one driver: placeholders and its glob operator. */
export interface Dialect {
  /** Adds a parameter and returns its placeholder (`?` or `$n`), in text order. */
  param(value: string | number): string;
  /** A condition: `column` matches the action-name glob. */
  glob(column: string, glob: string): string;
  /** The column, in a form the planner will not use an index for (SQLite's `+column`). */
  unindexed(column: string): string;
  /** The table, read in its own (leaf) order rather than through an index (`NOT INDEXED`). */
  walked(table: string): string;
}

/** The conditions that make an entry one of a stream's. */
export function streamConditions(stream: Stream, d: Dialect): string[] {
  switch (stream.kind) {
    case 'eq':
      return [`${stream.column} = ${d.param(stream.value)}`];
    case 'action':
      return [`action_name = ${d.param(stream.name)}`];
    case 'resourceAction':
      return [`resource = ${d.param(stream.resource)}`, `action_name = ${d.param(stream.name)}`];
    case 'outcome':
      // The literal repeats the partial index's own condition, so the planner may use it.
      return [`outcome = ${d.param(stream.status)}`, `outcome <> 'success'`];
    case 'actionRange':
      return [
        ...rangeConditions('action_name', globPrefix(stream.glob), d),
        d.glob('action_name', stream.glob),
      ];
    case 'resourceRange':
      return [
        ...rangeConditions('resource', stream.prefix, d),
        ...(stream.glob === undefined ? [] : [d.glob('action_name', stream.glob)]),
      ];
    case 'all':
      return [];
  }
}

function rangeConditions(column: string, prefix: string, d: Dialect): string[] {
  if (prefix === '') return [`${column} IS NOT NULL`];
  const end = prefixEnd(prefix);
  return [
    `${column} >= ${d.param(prefix)}`,
    ...(end === null ? [] : [`${column} < ${d.param(end)}`]),
  ];
}

/**
 * The conditions of the selection that its streams do not already say (the stream's own
 * lookup aside), as `column op value` pairs the driver renders: everything but `anyOf`, and
 * the action, resource and outcome terms a stream reads by its index.
 */
export function residualTerms(s: EntrySelection, stream: Stream): EntrySelection {
  const { anyOf: _a, ...rest } = s;
  const out: { -readonly [K in keyof EntrySelection]: EntrySelection[K] } = { ...rest };
  if (stream.search) return out;
  if (stream.kind === 'resourceAction' || stream.kind === 'resourceRange') {
    delete out.resource;
    delete out.action;
  }
  if (stream.kind === 'action' || stream.kind === 'actionRange') delete out.action;
  if (stream.kind === 'outcome') delete out.outcome;
  return out;
}

function undense(stream: Stream): Stream {
  if (!('dense' in stream)) return stream;
  const { dense: _d, ...rest } = stream;
  return rest;
}

/** How a driver writes a coverage filter (its SQL differs), given the dialect. */
export type CoverageSql = (c: NonNullable<EntrySelection['coverage']>, d: Dialect) => string[];

/**
 * The conditions of a selection's plain terms (not `anyOf`), in text order. `unindexed` marks
 * columns the planner must not drive the query by (SQLite's unary `+`): a stream's own index
 * drives it, and a level (few values) never does when another term can.
 */
export function selectionConditions(
  s: EntrySelection,
  d: Dialect,
  coverage: CoverageSql,
  keyed: boolean,
): string[] {
  const where: string[] = [];
  const col = (c: string) => (keyed ? d.unindexed(c) : c);
  const eq = (column: string, value: string | undefined) => {
    if (value !== undefined) where.push(`${col(column)} = ${d.param(value)}`);
  };
  eq('initiator', s.initiator);
  eq('actor', s.actor);
  eq('type', s.type);
  eq('task_id', s.taskId);
  eq('trace_id', s.traceId);
  const others = keyed || where.length > 0 || s.fromUs !== undefined || s.toUs !== undefined;
  if (s.level !== undefined)
    where.push(`${others ? d.unindexed('level') : 'level'} = ${d.param(s.level)}`);
  if (s.outcome !== undefined) where.push(`${d.unindexed('outcome')} = ${d.param(s.outcome)}`);
  if (s.fromUs !== undefined) where.push(`time_us >= ${d.param(s.fromUs)}`);
  if (s.toUs !== undefined) where.push(`time_us < ${d.param(s.toUs)}`);
  if (s.resource !== undefined) where.push(...rangeConditions('resource', s.resource, d));
  if (s.action !== undefined) where.push(d.glob('action_name', s.action));
  if (s.coverage !== undefined) where.push(...coverage(s.coverage, d));
  return where;
}

/**
 * One statement reading the first `limit` leaf indices of every stream in `order`, merged: the
 * database reads each stream's index range and stops at `limit`, then keeps the first `limit`
 * of the union. `extra` adds conditions to every stream (cursor bounds).
 */
export function streamsSql(
  table: string,
  streams: readonly Stream[],
  s: EntrySelection,
  d: Dialect,
  coverage: CoverageSql,
  extra: (d: Dialect) => string[],
  order: 'ASC' | 'DESC' | null,
  limit: number,
  overlapping: boolean,
): string {
  const parts = streams.map((given, i) => {
    // Counting reads the index whatever the density: no order to walk in.
    const stream = order === null ? undense(given) : given;
    const where = [
      ...streamConditions(stream, d),
      ...selectionConditions(residualTerms(s, stream), d, coverage, stream.kind !== 'all'),
      ...extra(d),
    ];
    const w = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
    const o = order === null ? '' : ` ORDER BY leaf_index ${order}`;
    const from = 'dense' in stream && stream.dense ? d.walked(table) : table;
    return `SELECT leaf_index FROM (SELECT leaf_index FROM ${from}${w}${o} LIMIT ${d.param(limit)}) AS s${i}`;
  });
  return parts.join(overlapping ? ' UNION ' : ' UNION ALL ');
}

/** The cursor's bounds on the leaf index. */
export function leafBounds(
  f: { readonly afterLeafIndex?: number; readonly beforeLeafIndex?: number },
  d: Dialect,
): string[] {
  const where: string[] = [];
  if (f.afterLeafIndex !== undefined) where.push(`leaf_index > ${d.param(f.afterLeafIndex)}`);
  if (f.beforeLeafIndex !== undefined) where.push(`leaf_index < ${d.param(f.beforeLeafIndex)}`);
  return where;
}

/** Whether a selection has any condition at all (else it is the whole log). */
export function hasConditions(s: EntrySelection): boolean {
  return Object.values(s).some((v) => v !== undefined);
}
