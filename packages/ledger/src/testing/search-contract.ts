import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntryFilter, EntrySelection, LogStorage, NewEntry } from '../storage/port.js';
import { makeBatch } from './storage-contract.js';

/**
 * The events search every driver must answer alike (issue 15): action globs, resource prefixes,
 * outcomes, the search box's terms, both orders, bounds on either side, and counts up to a cap,
 * each checked against a plain reference over the same entries. The ledger holds more distinct
 * resources than a prefix is expanded to (../storage/search.ts MAX_STREAM_KEYS), so both of the
 * planner's ways of reading one are covered.
 */

const ACTIONS = [
  'github.delete_repo',
  'github.create_issue',
  'github.delete_branch',
  'slack.post_message',
  'fs.write_file',
  'x?[a]_%\\*y',
  null,
];
const OUTCOMES = ['success', 'success', 'success', 'error', 'denied', 'pending', null];

/** The search fields of entry i (deterministic, with every kind of overlap). */
export function searchFields(i: number): Partial<NewEntry> {
  const actionName = ACTIONS[i % ACTIONS.length]!;
  const resource =
    i % 9 === 0
      ? `file:/srv/${i}`
      : ['repo:acme/payments', 'repo:acme/payments-v2', 'repo:acme/web', 'channel:ops'][i % 4]!;
  return {
    actionName,
    resource: actionName === null ? null : resource,
    outcome: OUTCOMES[i % OUTCOMES.length]!,
    initiator: i % 11 === 0 ? 'user:bob' : 'user:alice',
    actor: `agent-${i % 3}`,
  };
}

const SIZE = 600;

function globRe(glob: string): RegExp {
  let src = '';
  for (const ch of glob) src += ch === '*' ? '.*' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${src}$`, 's');
}

/** The reference: what a selection means, entry by entry. */
function selects(e: NewEntry, s: EntrySelection): boolean {
  const name = e.actionName ?? null;
  const resource = e.resource ?? null;
  const t = s.anyOf;
  return (
    (s.initiator === undefined || e.initiator === s.initiator) &&
    (s.actor === undefined || e.actor === s.actor) &&
    (s.type === undefined || e.type === s.type) &&
    (s.level === undefined || e.level === s.level) &&
    (s.fromUs === undefined || e.timeUs >= s.fromUs) &&
    (s.toUs === undefined || e.timeUs < s.toUs) &&
    (s.outcome === undefined || e.outcome === s.outcome) &&
    (s.action === undefined || (name !== null && globRe(s.action).test(name))) &&
    (s.resource === undefined || (resource !== null && resource.startsWith(s.resource))) &&
    (t === undefined ||
      e.id === t.id ||
      e.traceId === t.traceId ||
      e.initiator === t.initiator ||
      e.actor === t.actor ||
      (t.resource !== undefined && resource !== null && resource.startsWith(t.resource)) ||
      (t.action !== undefined && name !== null && globRe(t.action).test(name)))
  );
}

function expected(entries: readonly NewEntry[], f: EntryFilter): number[] {
  const all = entries
    .filter(
      (e) =>
        selects(e, f) &&
        (f.afterLeafIndex === undefined || e.leafIndex > f.afterLeafIndex) &&
        (f.beforeLeafIndex === undefined || e.leafIndex < f.beforeLeafIndex),
    )
    .map((e) => e.leafIndex);
  if (f.order === 'desc') all.reverse();
  return all.slice(0, f.limit);
}

const T0 = 1_800_000_000_000_000;

/** Selections across every search term, alone and combined. */
export const SELECTIONS: readonly EntrySelection[] = [
  { action: 'github.delete_repo' },
  { action: 'github.*' },
  { action: 'github.delete*' },
  { action: '*.delete_*' },
  { action: '*' },
  { action: 'x?[a]_%\\*y' },
  { action: 'x?*' },
  { action: 'nothing.matches' },
  { resource: 'repo:acme/payments' },
  { resource: 'repo:acme/' },
  { resource: 'file:/srv/' },
  { resource: 'file:/srv/1' },
  { resource: 'file:/srv/', action: 'github.*' },
  { resource: 'repo:acme/payments', action: 'github.delete*' },
  { resource: 'file:/', action: '*.write_file' },
  { outcome: 'denied' },
  { outcome: 'success' },
  { outcome: 'error', action: 'github.*' },
  { outcome: 'denied', resource: 'repo:acme/' },
  { action: 'github.*', level: 'unattributed' },
  { resource: 'repo:', actor: 'agent-1', fromUs: T0 + 100, toUs: T0 + 400 },
  { anyOf: { initiator: 'user:bob', resource: 'user:bob', action: 'user:bob', actor: 'user:bob' } },
  { anyOf: { resource: 'channel:', action: 'channel:', initiator: 'channel:', actor: 'channel:' } },
  { anyOf: { action: 'fs.*', resource: 'fs.*', initiator: 'fs.*', actor: 'fs.*' } },
  { anyOf: { id: '00000000-0000-7000-8000-000000000007', traceId: 'a'.repeat(32) } },
  { anyOf: { actor: 'agent-2', resource: 'file:/srv/' }, outcome: 'denied' },
  { anyOf: { resource: 'file:/srv/' }, action: 'github.*' },
  { anyOf: {} },
];

export function describeSearchContract(name: string, open: () => Promise<LogStorage>): void {
  describe(`${name} events search contract`, () => {
    let storage: LogStorage;
    let entries: NewEntry[] = [];
    beforeAll(async () => {
      storage = await open();
      const { batch } = makeBatch({ size: 0, hashes: [] }, SIZE, searchFields);
      entries = [...batch.entries];
      await storage.append(batch);
    });
    afterAll(async () => {
      await storage.close();
    });

    it('reads back the search fields it stored (a resource only beside an action name)', async () => {
      const e = await storage.getEntryById(entries[3]!.id);
      expect([e?.actionName, e?.resource, e?.outcome]).toEqual([
        'slack.post_message',
        'channel:ops',
        'error',
      ]);
      const none = await storage.getEntryById(entries[6]!.id);
      expect([none?.actionName, none?.resource, none?.outcome]).toEqual([null, null, null]);
    });

    it('selects by action glob, resource prefix, outcome and search terms, in either order', async () => {
      for (const s of SELECTIONS) {
        for (const order of ['asc', 'desc'] as const) {
          for (const limit of [1, 7, 1000]) {
            const f: EntryFilter = { ...s, order, limit };
            const got = (await storage.queryEntries(f)).map((e) => e.leafIndex);
            expect(got, JSON.stringify(f)).toEqual(expected(entries, f));
          }
        }
      }
    });

    it('pages from either side of a leaf index, in either order', async () => {
      for (const s of SELECTIONS.slice(0, 16)) {
        for (const f of [
          { ...s, order: 'desc', beforeLeafIndex: 300, limit: 5 },
          { ...s, order: 'asc', afterLeafIndex: 300, limit: 5 },
          { ...s, order: 'asc', beforeLeafIndex: 300, limit: 5 },
          { ...s, order: 'desc', afterLeafIndex: 550, limit: 50 },
          { ...s, order: 'desc', afterLeafIndex: 100, beforeLeafIndex: 200, limit: 20 },
        ] satisfies EntryFilter[]) {
          const got = (await storage.queryEntries(f)).map((e) => e.leafIndex);
          expect(got, JSON.stringify(f)).toEqual(expected(entries, f));
        }
      }
    });

    it('counts a selection exactly up to the cap, and says when it stopped', async () => {
      for (const s of [...SELECTIONS, {}, { fromUs: T0 + 10, toUs: T0 + 20 }]) {
        const n = entries.filter((e) => selects(e, s)).length;
        const big = await storage.countEntries(s, 10_000);
        expect(big, JSON.stringify(s)).toEqual({ count: n, exact: true });
        const small = await storage.countEntries(s, 10);
        if (n <= 10) expect(small, JSON.stringify(s)).toEqual({ count: n, exact: true });
        else if (small.exact) expect(small.count, JSON.stringify(s)).toBe(n);
        else expect(small, JSON.stringify(s)).toEqual({ count: 10, exact: false });
      }
    });
  });
}

/**
 * A range of more keys than are expanded and more entries than are sorted (../storage/search.ts
 * MAX_STREAM_KEYS, DENSE_RANGE): read by walking the log in order; the answers stay the same.
 */
export function describeDenseSearchContract(name: string, open: () => Promise<LogStorage>): void {
  describe(`${name} events search contract, dense ranges`, () => {
    let storage: LogStorage;
    const entries: NewEntry[] = [];
    const dense = (i: number): Partial<NewEntry> => ({
      actionName: `bulk.op${i % 3}`,
      resource: `bulk:${String(i % 100).padStart(3, '0')}`,
      outcome: i % 1000 === 7 ? 'denied' : 'success',
    });
    beforeAll(async () => {
      storage = await open();
      let frontier = { size: 0, hashes: [] as readonly Uint8Array[] };
      for (let k = 0; k < 3; k++) {
        const next = makeBatch(frontier, 4000, dense);
        entries.push(...next.batch.entries);
        await storage.append(next.batch);
        frontier = next.frontier;
      }
    }, 60_000);
    afterAll(async () => {
      await storage.close();
    });

    it('pages a dense prefix or glob in either order, and counts it up to the cap', async () => {
      for (const s of [
        { resource: 'bulk:' },
        { resource: 'bulk:0' },
        { resource: 'bulk:', action: 'bulk.op1' },
        { action: 'bulk.*' },
        { action: 'bulk.*', outcome: 'denied' },
        { anyOf: { resource: 'bulk:', action: 'bulk:' } },
      ] satisfies EntrySelection[]) {
        for (const f of [
          { ...s, order: 'desc', limit: 50 },
          { ...s, order: 'asc', limit: 50 },
          { ...s, order: 'desc', beforeLeafIndex: 6000, limit: 20 },
          { ...s, order: 'asc', afterLeafIndex: 11_990, limit: 20 },
        ] satisfies EntryFilter[]) {
          const got = (await storage.queryEntries(f)).map((e) => e.leafIndex);
          expect(got, JSON.stringify(f)).toEqual(expected(entries, f));
        }
        const n = entries.filter((e) => selects(e, s)).length;
        const count = await storage.countEntries(s, 10_000);
        if (n <= 10_000) expect(count, JSON.stringify(s)).toEqual({ count: n, exact: true });
        else if (!count.exact) expect(count.count).toBe(10_000);
        else expect(count.count).toBe(n);
      }
    });
  });
}

/**
 * Entries as a ledger from before the search columns held them: each record's canonical JSON
 * carries the action and outcome its search fields say (`searchFields`), which a migration
 * must extract. Returned with those fields, to compare against after the migration.
 */
export function preSearchEntries(count = 60): NewEntry[] {
  const { batch } = makeBatch({ size: 0, hashes: [] }, count, (i) => {
    const f = searchFields(i);
    const record: Record<string, unknown> = { schema: 'provenant.event/v1', type: 'tool.called' };
    if (f.actionName) {
      record['action'] = { name: f.actionName, ...(f.resource ? { resource: f.resource } : {}) };
    } else if (f.resource === null) {
      // A record without an action name: its resource (if any) is not searched.
      record['task_id'] = 'no-action';
    }
    if (f.outcome) record['outcome'] = { status: f.outcome, duration_ms: 1 };
    return { ...f, canonical: JSON.stringify({ ...record, id: `m-${i}` }) };
  });
  return [...batch.entries];
}

/** Checks a migrated driver answers the search like one that stored the fields at ingest. */
export async function expectSearchLike(
  storage: LogStorage,
  entries: readonly NewEntry[],
): Promise<void> {
  for (const e of entries.slice(0, 10)) {
    const got = await storage.getEntryById(e.id);
    expect([got?.actionName, got?.resource, got?.outcome], `entry ${e.leafIndex}`).toEqual([
      e.actionName ?? null,
      e.actionName ? (e.resource ?? null) : null,
      e.outcome ?? null,
    ]);
  }
  for (const s of SELECTIONS) {
    const f: EntryFilter = { ...s, order: 'desc', limit: 1000 };
    const got = (await storage.queryEntries(f)).map((x) => x.leafIndex);
    expect(got, JSON.stringify(f)).toEqual(expected(entries, f));
  }
}
