/**
 * Coverage facts: the few things the attribution coverage report needs from a record, computed
 * once at ingest by the collector (`coverageFacts` of `@provenant/core`) and stored beside the entry,
 * so the report is a GROUP BY over small columns instead of a JSON parse of every record.
 *
 * A driver stores them in three columns (`cov_flags`, `cov_lifetime`, `cov_instance`) and never
 * computes them: they are opaque to storage, whose only rules are the bit filters below. An entry
 * stored without facts (appended so, or from before schema 2) has NULLs there until the caller
 * fills them (`fillCoverageFacts`, with the caller's rule); until then the report reads the
 * records of its range (`lacksCoverageFacts`).
 */
import { COVERAGE_FLAG, type CoverageFacts } from '@provenant/core/vocabulary';

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
  /**
   * Stores `compute(canonical record, attribution level)` as the facts of every entry that has
   * none, in batches; returns how many it filled. The rule may be async (it may
   * read earlier entries: an outcome concludes its stored intent); a batch is written only once
   * all its facts are computed, so a rule that fails stores nothing of its batch. Idempotent,
   * and safe beside appends and other collectors. A read-only driver refuses
   * (`storage_read_only`).
   */
  fillCoverageFacts(compute: CoverageRule): Promise<number>;
}

/** The caller's coverage rule over a stored entry (core's `coverageFacts`, in the collector). */
export type CoverageRule = (
  canonical: string,
  level: string,
) => CoverageFacts | Promise<CoverageFacts>;

/** One entry as the counts see it. */
export interface CoverageRow {
  readonly coverage?: CoverageFacts | null | undefined;
  readonly level: string;
  readonly actor: string | null;
  readonly taskId: string | null;
}

/**
 * Counts coverage facts one entry at a time: the in-memory driver's `coverageCounts`, and the
 * report over entries that have no stored facts. Distinct instances and tasks per pooled account
 * are kept up to `distinctCap` each, so memory stays bounded whatever the range.
 */
export class CoverageCounter {
  private records = 0;
  private readonly groups = new Map<string, { flags: number; level: string; count: number }>();
  private readonly lifetimes = new Map<number, number>();
  private readonly pooled = new Map<
    string,
    { records: number; instances: Set<string>; tasks: Set<string> }
  >();

  constructor(
    private readonly lifetimeBoundsSec: readonly number[],
    private readonly distinctCap = Number.POSITIVE_INFINITY,
  ) {}

  add(e: CoverageRow): void {
    this.records++;
    const c = e.coverage;
    if (!c) return;
    if (c.lifetimeSec !== null)
      this.lifetimes.set(c.lifetimeSec, (this.lifetimes.get(c.lifetimeSec) ?? 0) + 1);
    if ((c.flags & COVERAGE_FLAG.action) === 0) return;
    const key = `${c.flags}/${e.level}`;
    const g = this.groups.get(key) ?? { flags: c.flags, level: e.level, count: 0 };
    g.count++;
    this.groups.set(key, g);
    if (e.level === 'pooled' && e.actor !== null) {
      let p = this.pooled.get(e.actor);
      if (!p)
        this.pooled.set(e.actor, (p = { records: 0, instances: new Set(), tasks: new Set() }));
      p.records++;
      if (c.instance !== null && p.instances.size < this.distinctCap) p.instances.add(c.instance);
      if (e.taskId !== null && p.tasks.size < this.distinctCap) p.tasks.add(e.taskId);
    }
  }

  counts(): CoverageCounts {
    return {
      records: this.records,
      groups: [...this.groups.values()],
      lifetimes: bucketLifetimes(
        [...this.lifetimes].map(([s, n]) => ({ s, n })),
        this.lifetimeBoundsSec,
      ),
      pooled: [...this.pooled].map(([actor, p]) => ({
        actor,
        records: p.records,
        instances: p.instances.size,
        tasks: p.tasks.size,
      })),
    };
  }
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
