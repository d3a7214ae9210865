import { coverageFacts, type EventRecord } from '@provenant/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COVERAGE_FLAG } from '../src/index.js';
import { SqliteStorage } from '../src/storage/sqlite/index.js';
import {
  LEGACY_RECORDS,
  describeDriverContract,
  legacyEntries,
  makeBatch,
  reference,
  sorted,
} from '../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeDriverContract('sqlite', async () => new SqliteStorage(join(dir, `t${n++}.db`)));

describe('sqlite driver', () => {
  it('migrates a schema-1 file when opened for writing; the caller fills its coverage facts', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = join(dir, 'v1.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE entries (leaf_index INTEGER PRIMARY KEY, id TEXT NOT NULL, record TEXT NOT NULL,
        leaf_hash BLOB NOT NULL, type TEXT NOT NULL, time_us INTEGER NOT NULL, initiator TEXT,
        actor TEXT, task_id TEXT, trace_id TEXT, level TEXT NOT NULL);
      CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID;
      CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root_hash BLOB NOT NULL, note TEXT NOT NULL);`);
    const entries = legacyEntries();
    const insert = db.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const e of entries) {
      insert.run(
        e.leafIndex,
        e.id,
        e.canonical,
        Buffer.from(e.leafHash),
        e.type,
        e.timeUs,
        e.initiator,
        e.actor,
        e.taskId,
        e.traceId,
        e.level,
      );
    }
    db.close();
    const ro = new SqliteStorage(file, { readonly: true });
    expect(await ro.lacksCoverageFacts({})).toBe(true);
    await expect(ro.fillCoverageFacts(() => LEGACY_RECORDS[0]!.facts)).rejects.toMatchObject({
      code: 'storage_read_only',
    });
    expect((await ro.readState()).size).toBe(entries.length);
    await ro.close();
    const s = new SqliteStorage(file);
    // Migrated: the columns are there, NULL until the caller fills them with core's rule.
    expect(await s.lacksCoverageFacts({})).toBe(true);
    const rule = (canonical: string) => coverageFacts(JSON.parse(canonical) as EventRecord);
    expect(await s.fillCoverageFacts(rule)).toBe(entries.length);
    expect(await s.fillCoverageFacts(rule)).toBe(0);
    expect(await s.lacksCoverageFacts({})).toBe(false);
    expect(sorted(await s.coverageCounts({}, [300, 900, 3600]))).toEqual(
      sorted(reference(entries, {})),
    );
    const all = COVERAGE_FLAG.action | 30;
    for (const [i, l] of LEGACY_RECORDS.entries()) {
      const same = await s.queryEntries({
        coverage: { flagsAll: l.facts.flags, flagsNone: all & ~l.facts.flags },
        limit: 100,
      });
      expect(
        same.map((e) => e.leafIndex),
        `record ${i}`,
      ).toContain(i);
    }
    await s.close();
  });

  it('keeps committed batches across reopen', async () => {
    const file = join(dir, 'reopen.db');
    const s1 = new SqliteStorage(file);
    const { batch } = makeBatch({ size: 0, hashes: [] }, 5);
    await s1.append(batch);
    await s1.close();
    const s2 = new SqliteStorage(file, { readonly: true });
    expect((await s2.readState()).size).toBe(5);
    expect((await s2.readLeaves(0, 10)).map((l) => l.leafIndex)).toEqual([0, 1, 2, 3, 4]);
    await expect(s2.append(makeBatch({ size: 0, hashes: [] }, 1).batch)).rejects.toMatchObject({
      code: 'storage_read_only',
    });
    await s2.close();
  });

  it('refuses a file that is not a Provenant ledger', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expect(() => new SqliteStorage(file, { readonly: true })).toThrow(
      expect.objectContaining({ code: 'storage_corrupt' }),
    );
  });

  it('reports storage_unavailable for a path it cannot open', () => {
    expect(() => new SqliteStorage(join(dir, 'missing', 'x.db'), { readonly: true })).toThrow(
      expect.objectContaining({ code: 'storage_unavailable' }),
    );
  });
});
