import type { EventRecord } from '@provenant/core';
import { ATTRIBUTION_LEVELS } from '@provenant/core';
import type { LogStorage } from '@provenant/ledger';

/**
 * Attribution coverage over a time range, as a streaming aggregation: `CoverageAccumulator`
 * takes one record at a time and keeps only counters, one set of distinct instances and tasks
 * per pooled account (each capped), and at most LIST_LIMIT examples per list, so memory is
 * bounded whatever the range. `coverageReport` pages through `queryEntries` by leaf index.
 *
 * Cost: every record in the range is read and parsed once (O(n) time, one JSON.parse each);
 * the SQLite driver serves the time range from its `time_us` index, a page of PAGE records at a
 * time, so memory is O(PAGE + pooled accounts × DISTINCT_CAP + LIST_LIMIT).
 */

export const ACTION_CLASSES = ['privileged', 'irreversible', 'external', 'other'] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];
type Level = (typeof ATTRIBUTION_LEVELS)[number];

/** Record types written by the witnesses and the collector itself, not actions of agents. */
const WITNESS_TYPES = new Set([
  'credential.issued',
  'delegation.granted',
  'credential.revoked',
  'policy.decision',
  'security.alert',
  'principal.registered',
  'principal.disabled',
  'issuer.key_rotated',
]);
const ACTION_TYPES = new Set(['tool.called', 'action.performed']);
export const LIST_LIMIT = 100;
const DISTINCT_CAP = 10_000;
const PAGE = 1000;
/** Credentials longer than this are flagged. */
export const MAX_CREDENTIAL_LIFETIME_SEC = 3600;

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
  }[];
  /** Privileged actions attributed `asserted` or `unattributed`. */
  readonly weak_privileged: { count: number; items: RecordRef[] };
  readonly credential_lifetimes: {
    readonly count: number;
    readonly max_sec: number | null;
    readonly buckets: { le_5m: number; le_15m: number; le_1h: number; over_1h: number };
    readonly over_1h: {
      count: number;
      items: (RecordRef & { jti: string; lifetime_sec: number })[];
    };
  };
  readonly without_decision: { count: number; items: RecordRef[] };
  readonly list_limit: number;
  /** Measure → the framework outcomes it evidences. */
  readonly frameworks: Record<string, readonly string[]>;
}

const emptyLevels = () =>
  Object.fromEntries([...ATTRIBUTION_LEVELS.map((l) => [l, 0]), ['total', 0]]) as Record<
    Level,
    number
  > & { total: number };

const ref = (r: EventRecord): RecordRef => ({
  id: r.id,
  time: r.time,
  type: r.type,
  level: r.attribution?.level ?? 'unattributed',
  actor: r.actor?.id ?? null,
  action: r.action?.name ?? null,
  resource: r.action?.resource ?? null,
});

export function classesOf(r: EventRecord): ActionClass[] {
  const c = r.action?.class;
  const out: ActionClass[] = [];
  if (c?.privileged) out.push('privileged');
  if (c?.irreversible) out.push('irreversible');
  if (c?.external) out.push('external');
  return out.length > 0 ? out : ['other'];
}

/** Whether a record is an agent's action (not a witness's or the collector's own record). */
export const isAction = (r: EventRecord): boolean =>
  ACTION_TYPES.has(r.type) || (r.action !== undefined && !WITNESS_TYPES.has(r.type));

export class CoverageAccumulator {
  private records = 0;
  private actions = 0;
  private readonly byClass = Object.fromEntries(
    ACTION_CLASSES.map((c) => [c, emptyLevels()]),
  ) as CoverageReport['by_class'];
  private priv = { total: 0, verified: 0, with_decision: 0, verified_with_decision: 0 };
  private readonly pooled = new Map<
    string,
    { records: number; instances: Set<string>; tasks: Set<string>; capped: boolean }
  >();
  private weak = { count: 0, items: [] as RecordRef[] };
  private lifetimes = {
    count: 0,
    max: null as number | null,
    buckets: { le_5m: 0, le_15m: 0, le_1h: 0, over_1h: 0 },
  };
  private long = {
    count: 0,
    items: [] as (RecordRef & { jti: string; lifetime_sec: number })[],
  };
  private noDecision = { count: 0, items: [] as RecordRef[] };

  add(r: EventRecord): void {
    this.records++;
    if (r.type === 'credential.issued' || r.type === 'delegation.granted') this.lifetime(r);
    if (!isAction(r)) return;
    this.actions++;
    const level = (r.attribution?.level ?? 'unattributed') as Level;
    const classes = classesOf(r);
    for (const c of classes) {
      const row = this.byClass[c];
      row[level]++;
      row.total++;
    }
    const hasDecision = r.policy?.decision_id !== undefined;
    if (classes.includes('privileged')) {
      this.priv.total++;
      if (level === 'verified') this.priv.verified++;
      if (hasDecision) this.priv.with_decision++;
      if (level === 'verified' && hasDecision) this.priv.verified_with_decision++;
      if (level === 'asserted' || level === 'unattributed') {
        this.weak.count++;
        if (this.weak.items.length < LIST_LIMIT) this.weak.items.push(ref(r));
      }
    }
    if (!hasDecision) {
      this.noDecision.count++;
      if (this.noDecision.items.length < LIST_LIMIT) this.noDecision.items.push(ref(r));
    }
    if (level === 'pooled' && r.actor) {
      let p = this.pooled.get(r.actor.id);
      if (!p) {
        p = { records: 0, instances: new Set(), tasks: new Set(), capped: false };
        this.pooled.set(r.actor.id, p);
      }
      p.records++;
      const addCapped = (set: Set<string>, v: string | undefined) => {
        if (v === undefined || set.has(v)) return;
        if (set.size >= DISTINCT_CAP) p.capped = true;
        else set.add(v);
      };
      addCapped(p.instances, r.actor.instance);
      addCapped(p.tasks, r.task_id);
    }
  }

  private lifetime(r: EventRecord): void {
    const c = r.credential;
    if (!c) return;
    const sec = c.exp - c.iat;
    const l = this.lifetimes;
    l.count++;
    l.max = l.max === null ? sec : Math.max(l.max, sec);
    if (sec <= 300) l.buckets.le_5m++;
    else if (sec <= 900) l.buckets.le_15m++;
    else if (sec <= MAX_CREDENTIAL_LIFETIME_SEC) l.buckets.le_1h++;
    else {
      l.buckets.over_1h++;
      this.long.count++;
      if (this.long.items.length < LIST_LIMIT)
        this.long.items.push({ ...ref(r), jti: c.jti, lifetime_sec: sec });
    }
  }

  report(from: string | null, to: string | null): CoverageReport {
    const p = this.priv;
    return {
      from,
      to,
      records: this.records,
      actions: this.actions,
      by_class: this.byClass,
      privileged: { ...p, share: p.total === 0 ? null : p.verified_with_decision / p.total },
      pooled_accounts: [...this.pooled]
        .map(([account, v]) => ({
          account,
          records: v.records,
          instances: v.instances.size,
          tasks: v.tasks.size,
          capped: v.capped,
        }))
        .sort((a, b) => b.records - a.records),
      weak_privileged: this.weak,
      credential_lifetimes: {
        count: this.lifetimes.count,
        max_sec: this.lifetimes.max,
        buckets: this.lifetimes.buckets,
        over_1h: this.long,
      },
      without_decision: this.noDecision,
      list_limit: LIST_LIMIT,
      frameworks: FRAMEWORK_MAP,
    };
  }
}

/** Pages through the records of [fromUs, toUs) and aggregates them. */
export async function coverageReport(
  storage: LogStorage,
  range: { fromUs?: number; toUs?: number; from: string | null; to: string | null },
): Promise<CoverageReport> {
  const acc = new CoverageAccumulator();
  let after: number | undefined;
  for (;;) {
    const page = await storage.queryEntries({
      limit: PAGE,
      ...(range.fromUs === undefined ? {} : { fromUs: range.fromUs }),
      ...(range.toUs === undefined ? {} : { toUs: range.toUs }),
      ...(after === undefined ? {} : { afterLeafIndex: after }),
    });
    for (const e of page) acc.add(JSON.parse(e.canonical) as EventRecord);
    if (page.length < PAGE) break;
    after = page.at(-1)!.leafIndex;
  }
  return acc.report(range.from, range.to);
}
