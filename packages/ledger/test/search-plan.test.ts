import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntryFilter } from '../src/index.js';
import type { Frontier } from '../src/merkle/index.js';
import { PostgresStorage } from '../src/storage/postgres/index.js';
import { SqliteStorage } from '../src/storage/sqlite/index.js';
import { makeBatch, searchFields } from '../src/testing/index.js';
import { skipPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import type { TestPostgres } from '../../../test/support/postgres.js';

/**
 * The events search reads through its indexes (docs/ARCHITECTURE.md, "Events search"): each
 * selection's plan must name the index that answers it and never scan the entries table, so a
 * change to the DDL or the planner that loses an index fails here, not in production.
 */

const SEARCHES: readonly { filter: EntryFilter; uses: readonly string[] }[] = [
  { filter: { resource: 'repo:acme/', order: 'desc', limit: 50 }, uses: ['entries_resource'] },
  {
    filter: { resource: 'repo:acme/payments', action: 'github.delete*', order: 'desc', limit: 50 },
    uses: ['entries_resource'],
  },
  // More distinct resources than a prefix is expanded to: one range of the same index.
  { filter: { resource: 'file:/srv/', order: 'desc', limit: 50 }, uses: ['entries_resource'] },
  {
    filter: { action: 'github.*', order: 'desc', limit: 50, beforeLeafIndex: 400 },
    uses: ['entries_action'],
  },
  {
    filter: { action: '*.delete_*', level: 'asserted', fromUs: 1, order: 'asc', limit: 50 },
    uses: ['entries_action'],
  },
  { filter: { outcome: 'denied', order: 'desc', limit: 50 }, uses: ['entries_outcome'] },
  {
    filter: {
      anyOf: {
        id: '00000000-0000-7000-8000-000000000007',
        traceId: 'a'.repeat(32),
        initiator: 'user:bob',
        actor: 'user:bob',
        resource: 'user:bob',
        action: 'user:bob',
      },
      order: 'desc',
      limit: 50,
    },
    uses: ['entries_id', 'entries_trace', 'entries_initiator', 'entries_actor'],
  },
];

describe('sqlite events search plans', () => {
  const dir = mkdtempSync(join(tmpdir(), 'provenant-plan-'));
  let s: SqliteStorage;
  beforeAll(async () => {
    s = new SqliteStorage(join(dir, 'plan.db'));
    await s.append(makeBatch({ size: 0, hashes: [] }, 600, searchFields).batch);
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads every search through its index, never a scan of the table', async () => {
    for (const { filter, uses } of SEARCHES) {
      const plan = await s.queryPlan(filter);
      const text = plan.join('\n');
      for (const index of uses) expect(text, JSON.stringify(filter)).toContain(`INDEX ${index} `);
      expect(
        plan.filter((l) => /^SCAN entries\b/.test(l)),
        JSON.stringify(filter),
      ).toEqual([]);
    }
  });

  it('reads a key of a glob or prefix in leaf order from its index (no sort of its matches)', async () => {
    const plan = await s.queryPlan({ resource: 'repo:acme/', order: 'desc', limit: 50 });
    expect(
      plan.filter((l) => l.includes('entries_resource (resource=? AND action_name=?)')).length,
    ).toBeGreaterThan(1);
    expect(plan.some((l) => l.includes('TEMP B-TREE'))).toBe(false);
    const deletes = await s.queryPlan({ action: 'github.delete_repo', order: 'desc', limit: 50 });
    expect(deletes.some((l) => l.includes('TEMP B-TREE'))).toBe(false);
  });
});

describe('sqlite events search plans, dense ranges', () => {
  const dir = mkdtempSync(join(tmpdir(), 'provenant-plan-dense-'));
  let s: SqliteStorage;
  beforeAll(async () => {
    s = new SqliteStorage(join(dir, 'dense.db'));
    let frontier: Frontier = { size: 0, hashes: [] };
    for (let k = 0; k < 3; k++) {
      const next = makeBatch(frontier, 4000, (i) => ({
        actionName: `bulk.op${i % 3}`,
        resource: `bulk:${String(i % 100).padStart(3, '0')}`,
        outcome: 'success',
      }));
      await s.append(next.batch);
      frontier = next.frontier;
    }
  }, 60_000);
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('walks the log newest first for a prefix of many keys and dense matches, sorting nothing', async () => {
    const plan = await s.queryPlan({ resource: 'bulk:', order: 'desc', limit: 50 });
    expect(plan).toContain('SCAN entries');
    expect(plan.some((l) => l.includes('TEMP B-TREE') || l.includes('entries_resource'))).toBe(
      false,
    );
  });
});

const skip = skipPostgres();

describe.skipIf(skip)('postgres events search plans', () => {
  let server: TestPostgres;
  let s: PostgresStorage;
  beforeAll(async () => {
    server = await startTestPostgres();
    const url = await server.newDatabase();
    s = await PostgresStorage.open(url, { poolSize: 2 });
    // Enough rows that the planner weighs them, the searched ones rare among them (where a
    // dense key is cheaper to find by walking the log backwards, PostgreSQL may rightly do so).
    const rare = (i: number) =>
      i % 40 === 0
        ? searchFields(i / 40)
        : {
            actionName: 'bulk.sync',
            resource: 'bulk:store',
            outcome: 'success',
            traceId: null,
            initiator: 'user:carol',
          };
    let frontier: Frontier = { size: 0, hashes: [] };
    for (let k = 0; k < 10; k++) {
      const next = makeBatch(frontier, 2000, rare);
      await s.append(next.batch);
      frontier = next.frontier;
    }
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('ANALYZE ledger_entries');
    await admin.end();
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await server?.stop();
  });

  it('reads every search through its index, never a sequential scan of the table', async () => {
    for (const { filter, uses } of SEARCHES) {
      const plan = (await s.queryPlan(filter)).join('\n');
      for (const index of uses) {
        expect(plan, JSON.stringify(filter)).toContain(`ledger_${index}`);
      }
      expect(plan, JSON.stringify(filter)).not.toMatch(/Seq Scan on ledger_entries/);
    }
  });
});
