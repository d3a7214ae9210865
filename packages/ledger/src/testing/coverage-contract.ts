import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COVERAGE_FLAG as F, hasCoverageIndex, matchesCoverage } from '../index.js';
import type {
  CoverageCounts,
  CoverageFacts,
  CoverageFactsFilter,
  CoverageIndex,
  CoverageRange,
  LogStorage,
  NewEntry,
} from '../index.js';
import { makeBatch } from './storage-contract.js';

const LEVELS = ['verified', 'pooled', 'asserted', 'unattributed'];
const LIFETIMES = [300, 600, 3600, 7200, 300.5];
const BOUNDS = [300, 900, 3600];
const T0 = 1_800_000_000_000_000;

/** 40 entries: actions with varied flags, credential records with lifetimes, one without facts. */
function fields(i: number): Partial<NewEntry> {
  const level = LEVELS[i % 4]!;
  if (i === 37) return { level, coverage: null };
  if (i % 5 === 4) {
    return {
      type: 'credential.issued',
      level: 'verified',
      coverage: { flags: 0, lifetimeSec: LIFETIMES[((i / 5) % 5) | 0]!, instance: null },
    };
  }
  const flags =
    F.action |
    (i % 2 === 1 ? F.privileged : 0) |
    (i % 7 === 0 ? F.irreversible : 0) |
    (i % 11 === 3 ? F.external : 0) |
    (i % 3 === 0 ? F.decision : 0);
  return {
    level,
    taskId: i % 6 < 3 ? `task-${i % 6}` : null,
    coverage: { flags, lifetimeSec: null, instance: i % 8 < 5 ? `inst-${i % 8}` : null },
  };
}

/** The counts as a plain reading of the entries gives them (the reference for every driver). */
export function reference(entries: readonly NewEntry[], range: CoverageRange): CoverageCounts {
  const inRange = entries.filter(
    (e) =>
      (range.fromUs === undefined || e.timeUs >= range.fromUs) &&
      (range.toUs === undefined || e.timeUs < range.toUs),
  );
  const groups = new Map<string, { flags: number; level: string; count: number }>();
  const lifetimes: number[] = [];
  const pooled = new Map<string, { records: number; i: Set<string>; t: Set<string> }>();
  for (const e of inRange) {
    const c = e.coverage;
    if (!c) continue;
    if (c.lifetimeSec !== null) lifetimes.push(c.lifetimeSec);
    if ((c.flags & F.action) === 0) continue;
    const g = groups.get(`${c.flags}/${e.level}`) ?? { flags: c.flags, level: e.level, count: 0 };
    g.count++;
    groups.set(`${c.flags}/${e.level}`, g);
    if (e.level === 'pooled' && e.actor) {
      const p = pooled.get(e.actor) ?? { records: 0, i: new Set(), t: new Set() };
      p.records++;
      if (c.instance !== null) p.i.add(c.instance);
      if (e.taskId !== null) p.t.add(e.taskId);
      pooled.set(e.actor, p);
    }
  }
  const buckets = [0, 0, 0, 0];
  for (const s of lifetimes) buckets[s <= 300 ? 0 : s <= 900 ? 1 : s <= 3600 ? 2 : 3]!++;
  return {
    records: inRange.length,
    groups: [...groups.values()],
    lifetimes: {
      count: lifetimes.length,
      maxSec: lifetimes.length === 0 ? null : Math.max(...lifetimes),
      buckets,
    },
    pooled: [...pooled].map(([actor, p]) => ({
      actor,
      records: p.records,
      instances: p.i.size,
      tasks: p.t.size,
    })),
  };
}

export const sorted = (c: CoverageCounts) => ({
  ...c,
  groups: [...c.groups].sort((a, b) => a.flags - b.flags || a.level.localeCompare(b.level)),
  pooled: [...c.pooled].sort((a, b) => a.actor.localeCompare(b.actor)),
});

/** Coverage facts: stored with each entry, aggregated and filtered on; every driver runs this. */
export function describeCoverageContract(name: string, open: () => Promise<LogStorage>): void {
  describe(`${name} storage: coverage facts`, () => {
    let storage: LogStorage & CoverageIndex;
    let opened: LogStorage | undefined;
    let entries: readonly NewEntry[];
    beforeEach(async (ctx) => {
      const s = (opened = await open());
      if (!hasCoverageIndex(s)) {
        ctx.skip(`${name} has no coverage index (CoverageIndex): the report reads the records`);
        return;
      }
      storage = s;
      const { batch } = makeBatch({ size: 0, hashes: [] }, 40, fields);
      entries = batch.entries;
      await storage.append(batch);
    });
    afterEach(async () => {
      await opened?.close();
    });

    it('counts actions by flags and level, lifetimes by bucket, pooled accounts by actor', async () => {
      const range = { fromUs: T0, toUs: T0 + 36 }; // leaves 0..35: all with facts
      expect(await storage.lacksCoverageFacts(range)).toBe(false);
      const counts = await storage.coverageCounts(range, BOUNDS);
      expect(sorted(counts)).toEqual(sorted(reference(entries, range)));
      expect(counts.records).toBe(36);
      expect(counts.lifetimes).toEqual({ count: 7, maxSec: 7200, buckets: [2, 3, 1, 1] });
      expect(counts.pooled.length).toBeGreaterThan(0);
    });

    it('says when a range holds an entry stored without facts, and still counts it as a record', async () => {
      expect(await storage.lacksCoverageFacts({})).toBe(true);
      expect(await storage.lacksCoverageFacts({ fromUs: T0 + 37, toUs: T0 + 38 })).toBe(true);
      expect(await storage.lacksCoverageFacts({ fromUs: T0 + 38 })).toBe(false);
      const all = await storage.coverageCounts({}, BOUNDS);
      expect(sorted(all)).toEqual(sorted(reference(entries, {})));
      expect(all.records).toBe(40);
    });

    it("fills the facts of entries stored without them with the caller's rule, once", async () => {
      // A rule that fails stores nothing and says so.
      await expect(
        storage.fillCoverageFacts(() => {
          throw new Error('rule failed');
        }),
      ).rejects.toThrow('rule failed');
      expect(await storage.lacksCoverageFacts({})).toBe(true);
      const seen: string[] = [];
      const levels: string[] = [];
      const facts: CoverageFacts = {
        flags: F.action | F.privileged,
        lifetimeSec: null,
        instance: 'x',
      };
      // The rule may be async, and is given each entry's level beside its record.
      const filled = await storage.fillCoverageFacts(async (canonical, level) => {
        seen.push(canonical);
        levels.push(level);
        await Promise.resolve();
        return facts;
      });
      expect(filled).toBe(1);
      expect(seen).toEqual([entries[37]!.canonical]);
      expect(levels).toEqual([entries[37]!.level]);
      expect(await storage.lacksCoverageFacts({})).toBe(false);
      expect(await storage.fillCoverageFacts(() => facts)).toBe(0);
      const filledEntries = entries.map((e, i) => (i === 37 ? { ...e, coverage: facts } : e));
      expect(sorted(await storage.coverageCounts({}, BOUNDS))).toEqual(
        sorted(reference(filledEntries, {})),
      );
      const got = await storage.queryEntries({ coverage: { flagsAll: F.privileged }, limit: 1000 });
      expect(got.map((e) => e.leafIndex)).toContain(37);
    });

    it('filters entries on coverage facts, with the other filters and pagination', async () => {
      const filters: CoverageFactsFilter[] = [
        { flagsAll: F.action },
        { flagsAll: F.action | F.privileged, levels: ['asserted', 'unattributed'] },
        { flagsAll: F.action, flagsNone: F.privileged | F.irreversible | F.external },
        { flagsAll: F.action, flagsNone: F.decision, levels: ['verified'] },
        { hasLifetime: true },
        { hasLifetime: true, lifetimeGtSec: 300, lifetimeLeSec: 900 },
        { hasLifetime: true, lifetimeGtSec: 3600 },
        { levels: [] },
        {},
      ];
      for (const coverage of filters) {
        const want = entries
          .filter((e) => matchesCoverage(e.coverage, e.level, coverage))
          .map((e) => e.leafIndex);
        const got = (await storage.queryEntries({ coverage, limit: 1000 })).map((e) => e.leafIndex);
        expect(got, JSON.stringify(coverage)).toEqual(want);
      }
      // the entry without facts never matches, even an empty filter
      const all = await storage.queryEntries({ coverage: {}, limit: 1000 });
      expect(all.map((e) => e.leafIndex)).not.toContain(37);
      expect(all).toHaveLength(39);
      // with the time range, an actor and pages of 1
      const coverage = { flagsAll: F.action, levels: ['pooled'] };
      const want = entries
        .filter(
          (e) =>
            e.actor === 'agent-1' &&
            e.timeUs >= T0 + 5 &&
            matchesCoverage(e.coverage, e.level, coverage),
        )
        .map((e) => e.leafIndex);
      expect(want.length).toBe(2);
      const got: number[] = [];
      for (let after: number | undefined; ;) {
        const page = await storage.queryEntries({
          coverage,
          actor: 'agent-1',
          fromUs: T0 + 5,
          limit: 1,
          ...(after === undefined ? {} : { afterLeafIndex: after }),
        });
        got.push(...page.map((e) => e.leafIndex));
        if (page.length < 1) break;
        after = page.at(-1)!.leafIndex;
      }
      expect(got).toEqual(want);
    });
  });
}

/**
 * Stored records (JSON as the collector writes it) with the facts core's rule gives them: what
 * the collector fills (`fillCoverageFacts`) into entries stored before coverage facts.
 */
export const LEGACY_RECORDS: readonly {
  readonly record: Record<string, unknown>;
  readonly level: string;
  readonly facts: CoverageFacts;
}[] = [
  {
    record: {
      type: 'tool.called',
      actor: { id: 'sa:pool', instance: 'i-1' },
      action: { name: 'a', class: { privileged: true, irreversible: false, external: true } },
      policy: { decision_id: 'd-1', engine: 'cedar', decision: 'allow' },
      task_id: 't-1',
    },
    level: 'pooled',
    facts: {
      flags: F.action | F.privileged | F.external | F.decision,
      lifetimeSec: null,
      instance: 'i-1',
    },
  },
  {
    record: { type: 'action.performed', actor: { id: 'x' } },
    level: 'asserted',
    facts: { flags: F.action, lifetimeSec: null, instance: null },
  },
  {
    record: { type: 'agent.invoked', action: { name: 'b', class: { irreversible: true } } },
    level: 'unattributed',
    facts: { flags: F.action | F.irreversible, lifetimeSec: null, instance: null },
  },
  {
    record: { type: 'prompt.received', actor: { id: 'x', instance: 'i-2' } },
    level: 'verified',
    facts: { flags: 0, lifetimeSec: null, instance: null },
  },
  {
    record: {
      type: 'credential.issued',
      action: { name: 'issuer.grant', class: { privileged: true } },
      credential: { jti: 'j', iss: 'i', iat: 1_795_000_000, exp: 1_795_007_200 },
      attribution: { level: 'verified', reasons: ['issuer_witness'] },
    },
    level: 'verified',
    facts: { flags: 0, lifetimeSec: 7200, instance: null },
  },
  {
    record: {
      type: 'delegation.granted',
      credential: { jti: 'k', iss: 'i', iat: 10, exp: 310 },
      attribution: { level: 'verified', reasons: ['issuer_witness'] },
    },
    level: 'verified',
    facts: { flags: 0, lifetimeSec: 300, instance: null },
  },
  {
    // A grant a producer posted, not the issuer's own witness: its lifetime is not counted.
    record: {
      type: 'credential.issued',
      credential: { jti: 'f', iss: 'i', iat: 10, exp: 100_010 },
      attribution: { level: 'verified', reasons: ['credential'] },
    },
    level: 'verified',
    facts: { flags: 0, lifetimeSec: null, instance: null },
  },
  {
    record: { type: 'policy.decision', policy: { decision_id: 'd-2' } },
    level: 'verified',
    facts: { flags: 0, lifetimeSec: null, instance: null },
  },
];

/** Entries of LEGACY_RECORDS (their canonical JSON is the record, an id added). */
export function legacyEntries(): NewEntry[] {
  const { batch } = makeBatch({ size: 0, hashes: [] }, LEGACY_RECORDS.length, (i) => {
    const l = LEGACY_RECORDS[i]!;
    const actor = (l.record['actor'] as { id?: string } | undefined)?.id ?? null;
    return {
      canonical: JSON.stringify({ ...l.record, id: `r-${i}` }),
      type: l.record['type'] as string,
      level: l.level,
      actor,
      taskId: (l.record['task_id'] as string | undefined) ?? null,
      coverage: l.facts,
    };
  });
  return [...batch.entries];
}
