import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../src/index.js';
import { describeStorageContract, makeBatch } from './storage-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStorageContract('sqlite', async () => new SqliteStorage(join(dir, `t${n++}.db`)));

describe('sqlite driver', () => {
  it('keeps committed batches across reopen', async () => {
    const file = join(dir, 'reopen.db');
    const s1 = new SqliteStorage(file);
    const { batch } = makeBatch({ size: 0, hashes: [] }, 5);
    await s1.append(batch);
    await s1.close();
    const s2 = new SqliteStorage(file, { readonly: true });
    expect((await s2.readState()).size).toBe(5);
    expect(s2.leafChunk(0, 10).map((l) => l.leafIndex)).toEqual([0, 1, 2, 3, 4]);
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
