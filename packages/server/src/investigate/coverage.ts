import type { EventRecord, RemediationCause } from '@provenant/core';
import {
  POLICY_CHANGED_RECORD_TYPE,
  REMEDIATION_CAUSES,
  ACTION_CLASSES,
  ATTRIBUTION_LEVELS,
  COVERAGE_CLASS_BIT,
  COVERAGE_FLAG,
  MAX_CREDENTIAL_LIFETIME_SEC,
  coverageFacts,
  type ActionClass,
} from '@provenant/core';
import { WITNESS_REASONS, witnessedAs } from '@provenant/core/vocabulary';
import { CoverageCounter, hasCoverageIndex, matchesCoverage } from '@provenant/ledger';
import { COLLECTOR_PRINCIPAL, ISSUER_PRINCIPAL } from '../identity/service.js';
import { concludesStoredIntent } from '../ingest/stages/concludes.js';
import { PDP_PRINCIPAL } from '../policy/service.js';
import type {
  CoverageCounts,
  CoverageFactsFilter,
  CoverageRule,
  EntryFilter,
  LogStorage,
  StoredEntry,
} from '@provenant/ledger';

/**
 * Attribution coverage over a time range, with one counting path: the report is built from
 * `CoverageCounts`, which the storage computes by GROUP BY over the facts the collector stored
 * with each entry at ingest (core's `coverageFacts`), and which, only where some entry of the
 * range has no stored facts (a read-only ledger of schema 1; `fillCoverageFacts` fills a
 * writable one at start), are counted here from each record's facts by the same
 * `CoverageCounter` the in-memory driver uses (a page of PAGE records at a time: memory
 * O(PAGE + pooled accounts × DISTINCT_CAP)). Lists parse at most LIST_LIMIT records each.
 *
 * Every count of the report is a named measure (`MEASURES`) whose records
 * `GET /v1/reports/coverage/records?measure=…` lists: the report's `links` give each measure's
 * address, and `coverageRecords` finds exactly the records the count counted.
 */

type Level = (typeof ATTRIBUTION_LEVELS)[number];

export const LIST_LIMIT = 100;
const DISTINCT_CAP = 10_000;
const PAGE = 1000;

/** Which framework outcome each measure of the report gives evidence for. */
export const FRAMEWORK_MAP: Record<string, readonly string[]> = {
  by_class: ['NIST AI RMF MEASURE', 'NIST CSF 2.0 PR.PS-04', 'CSA MAESTRO (observability)'],
  privileged: [
    'NIST AI RMF GOVERN',
    'NIST CSF 2.0 PR.AA-05',
    'NIST CSF 2.0 DE.AE-03',
    'OWASP Agentic Top 10 ASI03 Identity & Privilege Abuse',
  ],
  pooled_accounts: [
    'NIST CSF 2.0 PR.AA-01',
    'OWASP Agentic Top 10 ASI03 Identity & Privilege Abuse',
    'OWASP Agentic Top 10 ASI10 Rogue Agents',
  ],
  weak_privileged: [
    'NIST CSF 2.0 PR.AA-03',
    'OWASP Agentic Top 10 ASI07 Insecure Inter-Agent Communication',
    'CSA MAESTRO (agent identity)',
  ],
  credential_lifetimes: [
    'NIST CSF 2.0 PR.AA-01',
    'OWASP Agentic Top 10 ASI03 Identity & Privilege Abuse',
  ],
  without_decision: ['NIST AI RMF GOVERN', 'NIST CSF 2.0 PR.AA-05', 'NIST CSF 2.0 PR.PS-04'],
  remediations: [
    'draft-ietf-wimse-aims-00 §11 (remediation or revocation events and their cause)',
    'NIST CSF 2.0 RS.MI-01',
  ],
};

export interface RecordRef {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly level: string;
  readonly actor: string | null;
  readonly action: string | null;
  readonly resource: string | null;
}

export interface CoverageReport {
  readonly from: string | null;
  readonly to: string | null;
  readonly records: number;
  readonly actions: number;
  /** Action records by attribution level, per class (a record can be in several classes). */
  readonly by_class: Record<ActionClass, Record<Level, number> & { total: number }>;
  readonly privileged: {
    readonly total: number;
    readonly verified: number;
    readonly with_decision: number;
    readonly verified_with_decision: number;
    /** verified_with_decision / total, or null with no privileged action. */
    readonly share: number | null;
  };
  readonly pooled_accounts: {
    account: string;
    records: number;
    instances: number;
    tasks: number;
    capped: boolean;
    /** The records behind this account's counts. */
    href?: string;
  }[];
  /** Privileged actions attributed `asserted` or `unattributed`. */
  readonly weak_privileged: { count: number; items: RecordRef[]; href?: string };
  readonly credential_lifetimes: {
    readonly count: number;
    readonly max_sec: number | null;
    readonly buckets: { le_5m: number; le_15m: number; le_1h: number; over_1h: number };
    readonly over_1h: {
      count: number;
      items: (RecordRef & { jti: string; lifetime_sec: number })[];
      href?: string;
    };
  };
  readonly without_decision: { count: number; items: RecordRef[]; href?: string };
  /**
   * The collector's remediation records of the range (AIMS): principals disabled, credentials
   * revoked, issuer keys retired at once, policy sets replaced; newest first. `capped`: more
   * than REMEDIATION_CAP of one type, counted up to it.
   */
  readonly remediations: {
    readonly count: number;
    readonly by_cause: Record<RemediationCause, number>;
    readonly capped: boolean;
    readonly items: (RecordRef & {
      cause: RemediationCause;
      remediates: { kind: string; id: string }[];
    })[];
  };
  readonly list_limit: number;
  /** Measure → the framework outcomes it evidences. */
  readonly frameworks: Record<string, readonly string[]>;
  /**
   * Measure name (`by_class.privileged.verified`, `privileged.total`, …, see MEASURES) → the
   * address of the records it counts (`GET /v1/reports/coverage/records`).
   */
  readonly links?: Record<string, string>;
}

const emptyLevels = () =>
  Object.fromEntries([...ATTRIBUTION_LEVELS.map((l) => [l, 0]), ['total', 0]]) as Record<
    Level,
    number
  > & { total: number };

export const ref = (r: EventRecord): RecordRef => ({
  id: r.id,
  time: r.time,
  type: r.type,
  level: r.attribution?.level ?? 'unattributed',
  actor: r.actor?.id ?? null,
  action: r.action?.name ?? null,
  resource: r.action?.resource ?? null,
});

const F = COVERAGE_FLAG;

const LIFETIME_BOUNDS = [300, 900, MAX_CREDENTIAL_LIFETIME_SEC] as const;
const BUCKETS = ['le_5m', 'le_15m', 'le_1h', 'over_1h'] as const;

/**
 * Every count of the report as a filter on coverage facts: the measure's records are exactly
 * the entries of the range that pass it (`pooled_accounts` also by `account`, the actor).
 */
export const MEASURES: Readonly<Record<string, CoverageFactsFilter>> = (() => {
  const m: Record<string, CoverageFactsFilter> = {
    records: {},
    actions: { flagsAll: F.action },
  };
  for (const c of ACTION_CLASSES) {
    const cls: CoverageFactsFilter =
      c === 'other'
        ? {
            flagsAll: F.action,
            flagsNone: Object.values(COVERAGE_CLASS_BIT).reduce<number>((a, b) => a | b, 0),
          }
        : { flagsAll: F.action | COVERAGE_CLASS_BIT[c] };
    m[`by_class.${c}.total`] = cls;
    for (const l of ATTRIBUTION_LEVELS) m[`by_class.${c}.${l}`] = { ...cls, levels: [l] };
  }
  const priv = F.action | F.privileged;
  m['privileged.total'] = { flagsAll: priv };
  m['privileged.verified'] = { flagsAll: priv, levels: ['verified'] };
  m['privileged.with_decision'] = { flagsAll: priv | F.decision };
  m['privileged.verified_with_decision'] = { flagsAll: priv | F.decision, levels: ['verified'] };
  m['pooled_accounts'] = { flagsAll: F.action, levels: ['pooled'] };
  m['weak_privileged'] = { flagsAll: priv, levels: ['asserted', 'unattributed'] };
  m['credential_lifetimes'] = { hasLifetime: true };
  BUCKETS.forEach((b, i) => {
    const gt = LIFETIME_BOUNDS[i - 1];
    const le = LIFETIME_BOUNDS[i];
    m[`credential_lifetimes.${b}`] = {
      hasLifetime: true,
      ...(gt === undefined ? {} : { lifetimeGtSec: gt }),
      ...(le === undefined ? {} : { lifetimeLeSec: le }),
    };
  });
  m['without_decision'] = { flagsAll: F.action, flagsNone: F.decision };
  return m;
})();

export interface CoverageRange {
  readonly fromUs?: number;
  readonly toUs?: number;
  readonly from: string | null;
  readonly to: string | null;
}

/** The address of a measure's records. */
export function measureHref(
  measure: string,
  range: { from: string | null; to: string | null },
  account?: string,
): string {
  const q = new URLSearchParams({ measure });
  if (account !== undefined) q.set('account', account);
  if (range.from !== null) q.set('from', range.from);
  if (range.to !== null) q.set('to', range.to);
  return `/v1/reports/coverage/records?${q}`;
}

function withLinks(r: CoverageReport): CoverageReport {
  const range = { from: r.from, to: r.to };
  const links = Object.fromEntries(Object.keys(MEASURES).map((m) => [m, measureHref(m, range)]));
  return {
    ...r,
    pooled_accounts: r.pooled_accounts.map((p) => ({
      ...p,
      href: measureHref('pooled_accounts', range, p.account),
    })),
    weak_privileged: { ...r.weak_privileged, href: links['weak_privileged']! },
    credential_lifetimes: {
      ...r.credential_lifetimes,
      over_1h: { ...r.credential_lifetimes.over_1h, href: links['credential_lifetimes.over_1h']! },
    },
    without_decision: { ...r.without_decision, href: links['without_decision']! },
    links,
  };
}

const byRecordsThenAccount = (a: { records: number; account: string }, b: typeof a) =>
  b.records - a.records || (a.account < b.account ? -1 : a.account > b.account ? 1 : 0);

/** Coverage of [fromUs, toUs): from stored facts, or by reading every record of the range. */
export async function coverageReport(
  storage: LogStorage,
  range: CoverageRange,
): Promise<CoverageReport> {
  const r = {
    ...(range.fromUs === undefined ? {} : { fromUs: range.fromUs }),
    ...(range.toUs === undefined ? {} : { toUs: range.toUs }),
  };
  const counts =
    hasCoverageIndex(storage) && !(await storage.lacksCoverageFacts(r))
      ? await storage.coverageCounts(r, LIFETIME_BOUNDS)
      : await countRecords(storage, r);
  const [report, remediations] = await Promise.all([
    reportFromCounts(storage, counts, range),
    remediationsOf(storage, r),
  ]);
  return withLinks({ ...report, remediations });
}

/** Most records of one remediation type a report reads. */
const REMEDIATION_CAP = 10_000;

/** The types that carry remediations, the witness that writes each, and its reason. */
const REMEDIATION_WRITERS: readonly (readonly [string, string, string])[] = [
  ['principal.disabled', COLLECTOR_PRINCIPAL, WITNESS_REASONS.registry],
  ['credential.revoked', ISSUER_PRINCIPAL, WITNESS_REASONS.issuer],
  ['issuer.key_rotated', ISSUER_PRINCIPAL, WITNESS_REASONS.registry],
  [POLICY_CHANGED_RECORD_TYPE, PDP_PRINCIPAL, WITNESS_REASONS.decisionPoint],
];

/**
 * The remediations of [fromUs, toUs): read by type (rare types), counting only the collector's
 * own records (the type's witness as actor, its reason in the attribution): a producer's record
 * that claims a `remediation` counts for nothing.
 */
async function remediationsOf(
  storage: LogStorage,
  range: { fromUs?: number; toUs?: number },
): Promise<CoverageReport['remediations']> {
  const byCause = Object.fromEntries(REMEDIATION_CAUSES.map((c) => [c, 0])) as Record<
    RemediationCause,
    number
  >;
  const items: CoverageReport['remediations']['items'] = [];
  let capped = false;
  for (const [type, writer, reason] of REMEDIATION_WRITERS) {
    let after: number | undefined;
    for (let read = 0; ;) {
      const page = await storage.queryEntries({
        ...range,
        type,
        level: 'verified',
        limit: PAGE,
        ...(after === undefined ? {} : { afterLeafIndex: after }),
      });
      read += page.length;
      for (const e of page) {
        if (e.actor !== writer) continue;
        const r = JSON.parse(e.canonical) as EventRecord;
        if (!r.remediation || !witnessedAs(r, [reason])) continue;
        byCause[r.remediation.cause] += 1;
        items.push({
          ...ref(r),
          cause: r.remediation.cause,
          remediates: r.remediation.remediates.map((t) => ({ kind: t.kind, id: t.id })),
        });
      }
      if (page.length < PAGE) break;
      if (read >= REMEDIATION_CAP) {
        capped = true;
        break;
      }
      after = page.at(-1)!.leafIndex;
    }
  }
  // Newest first: by time, then by id (UUIDv7s, in the order they were minted).
  const key = (i: { time: string; id: string }) => `${new Date(i.time).toISOString()} ${i.id}`;
  items.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  return {
    count: Object.values(byCause).reduce((a, b) => a + b, 0),
    by_cause: byCause,
    capped,
    items: items.slice(0, LIST_LIMIT),
  };
}

/**
 * Counts of [fromUs, toUs) over entries some of which have no stored facts (a read-only ledger
 * of schema 1, or entries not filled yet): the facts of each record computed by core's rule and
 * counted as a driver counts stored ones, a page of PAGE entries at a time.
 */
async function countRecords(
  storage: LogStorage,
  range: { fromUs?: number; toUs?: number },
): Promise<CoverageCounts> {
  const counter = new CoverageCounter(LIFETIME_BOUNDS, DISTINCT_CAP + 1);
  const rule = coverageRule(storage);
  let after: number | undefined;
  for (;;) {
    const page = await storage.queryEntries({
      limit: PAGE,
      ...(range.fromUs === undefined ? {} : { fromUs: range.fromUs }),
      ...(range.toUs === undefined ? {} : { toUs: range.toUs }),
      ...(after === undefined ? {} : { afterLeafIndex: after }),
    });
    for (const e of page) counter.add({ ...e, coverage: await rule(e.canonical, e.level) });
    if (page.length < PAGE) return counter.counts();
    after = page.at(-1)!.leafIndex;
  }
}

/**
 * Core's coverage facts of a stored record: the one rule, for entries stored without them. An
 * outcome that concludes its stored intent (ingest's `concludes` rule, judged again on the
 * stored records) counts as no action, as it would have at ingest: the action counts once.
 */
export function coverageRule(storage: LogStorage): CoverageRule {
  return async (canonical, level) => {
    const r = JSON.parse(canonical) as EventRecord;
    return coverageFacts(r, { concludesIntent: await concludesStoredIntent(storage, r, level) });
  };
}

/**
 * Fills the stored facts of entries that have none (a ledger migrated from schema 1), so the
 * report is served from the index again; the collector runs it once at start. Returns how many.
 */
export async function fillCoverageFacts(storage: LogStorage): Promise<number> {
  return hasCoverageIndex(storage) ? storage.fillCoverageFacts(coverageRule(storage)) : 0;
}

async function reportFromCounts(
  storage: LogStorage,
  counts: CoverageCounts,
  range: CoverageRange,
): Promise<Omit<CoverageReport, 'remediations'>> {
  const byClass = Object.fromEntries(
    ACTION_CLASSES.map((c) => [c, emptyLevels()]),
  ) as CoverageReport['by_class'];
  const priv = { total: 0, verified: 0, with_decision: 0, verified_with_decision: 0 };
  let actions = 0;
  let weak = 0;
  let noDecision = 0;
  for (const { flags, level, count } of counts.groups) {
    actions += count;
    const classes = ACTION_CLASSES.filter(
      (c) => c !== 'other' && (flags & COVERAGE_CLASS_BIT[c]) !== 0,
    );
    for (const c of classes.length > 0 ? classes : (['other'] as const)) {
      const row = byClass[c];
      row[level as Level] = (row[level as Level] ?? 0) + count;
      row.total += count;
    }
    const decided = (flags & F.decision) !== 0;
    if (!decided) noDecision += count;
    if ((flags & F.privileged) !== 0) {
      priv.total += count;
      if (level === 'verified') priv.verified += count;
      if (decided) priv.with_decision += count;
      if (level === 'verified' && decided) priv.verified_with_decision += count;
      if (level === 'asserted' || level === 'unattributed') weak += count;
    }
  }
  const list = async (measure: string, n: number) =>
    n === 0 ? [] : (await measureEntries(storage, measure, range, { limit: LIST_LIMIT })).entries;
  const [weakItems, longItems, noDecisionItems] = await Promise.all([
    list('weak_privileged', weak),
    list('credential_lifetimes.over_1h', counts.lifetimes.buckets[3] ?? 0),
    list('without_decision', noDecision),
  ]);
  const l = counts.lifetimes;
  const b = (i: number) => l.buckets[i] ?? 0;
  return {
    from: range.from,
    to: range.to,
    records: counts.records,
    actions,
    by_class: byClass,
    privileged: {
      ...priv,
      share: priv.total === 0 ? null : priv.verified_with_decision / priv.total,
    },
    pooled_accounts: counts.pooled
      .map((p) => ({
        account: p.actor,
        records: p.records,
        instances: Math.min(p.instances, DISTINCT_CAP),
        tasks: Math.min(p.tasks, DISTINCT_CAP),
        capped: p.instances > DISTINCT_CAP || p.tasks > DISTINCT_CAP,
      }))
      .sort(byRecordsThenAccount),
    weak_privileged: { count: weak, items: weakItems.map((e) => ref(e.record)) },
    credential_lifetimes: {
      count: l.count,
      max_sec: l.maxSec,
      buckets: { le_5m: b(0), le_15m: b(1), le_1h: b(2), over_1h: b(3) },
      over_1h: {
        count: b(3),
        items: longItems.map(({ record: r }) => ({
          ...ref(r),
          jti: r.credential!.jti,
          lifetime_sec: r.credential!.exp - r.credential!.iat,
        })),
      },
    },
    without_decision: { count: noDecision, items: noDecisionItems.map((e) => ref(e.record)) },
    list_limit: LIST_LIMIT,
    frameworks: FRAMEWORK_MAP,
  };
}

export interface MeasureEntry {
  readonly leafIndex: number;
  readonly record: EventRecord;
}

/**
 * The records a measure counts over a range, in leaf order, `limit` at a time after
 * `afterLeafIndex`; `next` is the cursor of the next page (null at the end). Served from the
 * stored facts, or, when some entry of the range has none, by reading the records.
 */
export async function measureEntries(
  storage: LogStorage,
  measure: string,
  range: { fromUs?: number; toUs?: number },
  page: { limit: number; afterLeafIndex?: number; account?: string },
): Promise<{ entries: MeasureEntry[]; next: number | null }> {
  const spec = MEASURES[measure];
  if (!spec) throw new Error(`unknown coverage measure ${measure}`);
  const base = {
    ...(range.fromUs === undefined ? {} : { fromUs: range.fromUs }),
    ...(range.toUs === undefined ? {} : { toUs: range.toUs }),
    ...(page.account === undefined ? {} : { actor: page.account }),
  };
  const parse = (e: StoredEntry): MeasureEntry => ({
    leafIndex: e.leafIndex,
    record: JSON.parse(e.canonical) as EventRecord,
  });
  if (hasCoverageIndex(storage) && !(await storage.lacksCoverageFacts(range))) {
    const filter: EntryFilter = {
      ...base,
      coverage: spec,
      limit: page.limit + 1,
      ...(page.afterLeafIndex === undefined ? {} : { afterLeafIndex: page.afterLeafIndex }),
    };
    const rows = await storage.queryEntries(filter);
    const more = rows.length > page.limit;
    const entries = rows.slice(0, page.limit).map(parse);
    return { entries, next: more ? entries.at(-1)!.leafIndex : null };
  }
  // Some entries have no stored facts: compute them from the records.
  const out: MeasureEntry[] = [];
  const rule = coverageRule(storage);
  let after = page.afterLeafIndex;
  for (;;) {
    const rows = await storage.queryEntries({
      ...base,
      limit: PAGE,
      ...(after === undefined ? {} : { afterLeafIndex: after }),
    });
    for (const e of rows) {
      const m = parse(e);
      if (!matchesCoverage(await rule(e.canonical, e.level), e.level, spec)) continue;
      if (out.length === page.limit) return { entries: out, next: out.at(-1)!.leafIndex };
      out.push(m);
    }
    if (rows.length < PAGE) return { entries: out, next: null };
    after = rows.at(-1)!.leafIndex;
  }
}
