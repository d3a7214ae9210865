/**
 * Coverage facts: the few things the attribution coverage report needs from a record, computed
 * once at ingest by the collector (`coverageFacts` of `@provenant/core`) and stored beside the entry,
 * so the report is a GROUP BY over small columns instead of a JSON parse of every record.
 *
 * A driver stores them in three columns (`cov_flags`, `cov_lifetime`, `cov_instance`); an entry
 * appended without facts has NULLs there, and the report then reads the records of its range
 * (`lacksCoverageFacts`). The SQL backfills of the drivers' schema migrations compute the same
 * facts from the stored record JSON.
 */
import {
  ACTION_RECORD_TYPES,
  COVERAGE_FLAG,
  GRANT_RECORD_TYPES,
  WITNESS_RECORD_TYPES,
  type CoverageFacts,
} from '@provenant/core';

export { COVERAGE_FLAG, type CoverageFacts };

/**
 * A filter on coverage facts (part of `EntryFilter`). Entries stored without facts never match.
 * Every given condition must hold.
 */
export interface CoverageFactsFilter {
  /** Bits of COVERAGE_FLAG that must all be set. */
  readonly flagsAll?: number;
  /** Bits of COVERAGE_FLAG that must all be clear. */
  readonly flagsNone?: number;
  /** Attribution level among these. */
  readonly levels?: readonly string[];
  /** Only entries with a credential lifetime. */
  readonly hasLifetime?: boolean;
  /** Credential lifetime strictly greater than this, seconds. */
  readonly lifetimeGtSec?: number;
  /** Credential lifetime at most this, seconds. */
  readonly lifetimeLeSec?: number;
}

export interface CoverageRange {
  /** Inclusive lower bound on event time, microseconds since the epoch. */
  readonly fromUs?: number;
  /** Exclusive upper bound on event time, microseconds since the epoch. */
  readonly toUs?: number;
}

export interface CoverageCounts {
  /** Every entry in the range. */
  readonly records: number;
  /** Action entries (flags with COVERAGE_FLAG.action) by flags and attribution level. */
  readonly groups: readonly { flags: number; level: string; count: number }[];
  /** Entries with a credential lifetime. */
  readonly lifetimes: {
    readonly count: number;
    readonly maxSec: number | null;
    /** buckets[i]: lifetimes in (bounds[i - 1], bounds[i]]; the last one: over the last bound. */
    readonly buckets: readonly number[];
  };
  /** Pooled action entries per actor, with distinct claimed instances and task ids. */
  readonly pooled: readonly { actor: string; records: number; instances: number; tasks: number }[];
}

/** Aggregation over stored coverage facts; every driver of this package implements it. */
export interface CoverageIndex {
  /** Whether some entry of the range was stored without coverage facts. */
  lacksCoverageFacts(range: CoverageRange): Promise<boolean>;
  /** Counts over the range; entries without facts count only in `records`. */
  coverageCounts(
    range: CoverageRange,
    lifetimeBoundsSec: readonly number[],
  ): Promise<CoverageCounts>;
}

export function hasCoverageIndex<T extends object>(storage: T): storage is T & CoverageIndex {
  return typeof (storage as Partial<CoverageIndex>).coverageCounts === 'function';
}

/** Whether stored facts (with the entry's level) pass a coverage filter, for in-memory drivers. */
export function matchesCoverage(
  facts: CoverageFacts | null | undefined,
  level: string,
  f: CoverageFactsFilter,
): boolean {
  if (!facts) return false;
  const all = f.flagsAll ?? 0;
  if ((facts.flags & all) !== all) return false;
  if ((facts.flags & (f.flagsNone ?? 0)) !== 0) return false;
  if (f.levels !== undefined && !f.levels.includes(level)) return false;
  const needsLifetime =
    f.hasLifetime === true || f.lifetimeGtSec !== undefined || f.lifetimeLeSec !== undefined;
  if (needsLifetime) {
    const s = facts.lifetimeSec;
    if (s === null) return false;
    if (f.lifetimeGtSec !== undefined && !(s > f.lifetimeGtSec)) return false;
    if (f.lifetimeLeSec !== undefined && !(s <= f.lifetimeLeSec)) return false;
  }
  return true;
}

/** Index of the lifetime bucket of `sec` for these bounds (ascending). */
export function lifetimeBucket(sec: number, bounds: readonly number[]): number {
  let i = 0;
  while (i < bounds.length && sec > bounds[i]!) i++;
  return i;
}

/** Collects per-lifetime counts into buckets: for drivers that GROUP BY lifetime in SQL. */
export function bucketLifetimes(
  rows: readonly { s: number; n: number }[],
  bounds: readonly number[],
): CoverageCounts['lifetimes'] {
  const buckets = new Array<number>(bounds.length + 1).fill(0);
  let count = 0;
  let maxSec: number | null = null;
  for (const { s, n } of rows) {
    const b = lifetimeBucket(s, bounds);
    buckets[b] = (buckets[b] ?? 0) + n;
    count += n;
    maxSec = maxSec === null ? s : Math.max(maxSec, s);
  }
  return { count, maxSec, buckets };
}

const sqlList = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

/**
 * The facts of stored rows, computed in SQL from the record JSON (schema migrations backfill
 * existing entries with it). Mirrors core's `coverageFacts`, over the same type lists; `j(path)` is the dialect's
 * JSON accessor: it yields the JSON type name of `path` (`kind`) or its scalar value (`value`).
 */
function factsSql(dialect: {
  kind: (path: string) => string;
  bool: (path: string) => string;
  num: (path: string) => string;
  text: (path: string) => string;
}): { flags: string; lifetime: string; instance: string } {
  const isAction = `(type IN (${sqlList(ACTION_RECORD_TYPES)}) OR (${dialect.kind('action')} IS NOT NULL AND type NOT IN (${sqlList(WITNESS_RECORD_TYPES)})))`;
  const bit = (cond: string, v: number) => `(CASE WHEN ${cond} THEN ${v} ELSE 0 END)`;
  const flags = `(CASE WHEN ${isAction} THEN ${COVERAGE_FLAG.action} + ${bit(dialect.bool('action.class.privileged'), COVERAGE_FLAG.privileged)} + ${bit(dialect.bool('action.class.irreversible'), COVERAGE_FLAG.irreversible)} + ${bit(dialect.bool('action.class.external'), COVERAGE_FLAG.external)} + ${bit(`${dialect.kind('policy.decision_id')} IS NOT NULL`, COVERAGE_FLAG.decision)} ELSE 0 END)`;
  const lifetime = `(CASE WHEN type IN (${sqlList(GRANT_RECORD_TYPES)}) AND ${dialect.kind('credential')} = 'object' THEN ${dialect.num('credential.exp')} - ${dialect.num('credential.iat')} END)`;
  const instance = `(CASE WHEN ${isAction} THEN ${dialect.text('actor.instance')} END)`;
  return { flags, lifetime, instance };
}

/** SQLite (JSON1): fills the coverage columns of entries that have none. */
export function sqliteCoverageBackfill(table: string): string {
  const p = (path: string) => `'$.${path}'`;
  const f = factsSql({
    kind: (path) => `json_type(record, ${p(path)})`,
    bool: (path) => `json_type(record, ${p(path)}) = 'true'`,
    num: (path) => `json_extract(record, ${p(path)})`,
    text: (path) => `json_extract(record, ${p(path)})`,
  });
  return `UPDATE ${table} SET cov_flags = ${f.flags}, cov_lifetime = ${f.lifetime}, cov_instance = ${f.instance} WHERE cov_flags IS NULL`;
}

/** PostgreSQL: the same, over `record::jsonb` (aliased `j` in a sub-select). */
export function postgresCoverageBackfill(table: string): string {
  const arrow = (path: string) => `j #> '{${path.split('.').join(',')}}'`;
  const f = factsSql({
    kind: (path) =>
      `(CASE WHEN ${arrow(path)} IS NULL THEN NULL ELSE jsonb_typeof(${arrow(path)}) END)`,
    bool: (path) => `${arrow(path)} = 'true'::jsonb`,
    num: (path) => `(j #>> '{${path.split('.').join(',')}}')::double precision`,
    text: (path) => `(j #>> '{${path.split('.').join(',')}}')`,
  });
  return `UPDATE ${table} AS e SET cov_flags = s.flags, cov_lifetime = s.lifetime, cov_instance = s.instance
  FROM (SELECT leaf_index, ${f.flags} AS flags, ${f.lifetime} AS lifetime, ${f.instance} AS instance
          FROM (SELECT leaf_index, type, record::jsonb AS j FROM ${table} WHERE cov_flags IS NULL) AS r) AS s
 WHERE e.leaf_index = s.leaf_index`;
}
