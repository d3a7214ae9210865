import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision } from '@provenant/policy';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteRegistryStore } from '../src/identity/registry-sqlite.js';
import { SqlitePolicyStore } from '../src/policy/store-sqlite.js';
import {
  describePolicyStoreContract,
  describeRegistryStoreContract,
} from '../src/testing/index.js';
import { decision } from '../src/testing/policy-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const newFile = () => join(dir, `s${n++}.db`);
const files = new WeakMap<object, string>();

function opener<S extends object>(make: (file: string) => S) {
  const open = (file = newFile()) => {
    const store = make(file);
    files.set(store, file);
    return store;
  };
  return {
    open: async () => open(),
    openPair: async (): Promise<[S, S]> => {
      const file = newFile();
      return [open(file), open(file)];
    },
    reopen: async (store: S & { close(): Promise<void> }) => {
      await store.close();
      return open(files.get(store)!);
    },
  };
}

describeRegistryStoreContract(
  'sqlite',
  opener((file) => new SqliteRegistryStore(file)),
);
describePolicyStoreContract(
  'sqlite',
  opener((file) => new SqlitePolicyStore(file)),
);

describe('SqlitePolicyStore decisions', () => {
  it('commits the decisions of one event-loop turn together, after the call, durable once resolved', async () => {
    const file = newFile();
    const store = new SqlitePolicyStore(file);
    const transactions: number[] = [];
    const saveAll = store['saveAll'];
    store['saveAll'] = (ds: readonly Decision[]) => {
      transactions.push(ds.length);
      saveAll(ds);
    };
    const saved = [store.saveDecision(decision('d1')), store.saveDecision(decision('d2'))];
    // Nothing is written inside the calls (no synchronous fsync on the caller's path).
    expect(transactions).toEqual([]);
    expect(await store.getDecisions(['d1', 'd2'])).toEqual([]);
    await Promise.all(saved);
    expect(transactions).toEqual([2]);
    await store.saveDecision(decision('d3'));
    expect(transactions).toEqual([2, 1]);
    // A decision saved just before close is written by close.
    void store.saveDecision(decision('d4'));
    await store.close();
    const again = new SqlitePolicyStore(file);
    expect(
      (await again.getDecisions(['d1', 'd2', 'd3', 'd4'])).map((d) => d.decision_id).sort(),
    ).toEqual(['d1', 'd2', 'd3', 'd4']);
    await again.close();
  });

  it('refuses every decision of a turn whose commit fails, with a stable code, and commits the next turn afresh', async () => {
    const store = new SqlitePolicyStore(newFile());
    const saveAll = store['saveAll'];
    store['saveAll'] = () => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    };
    const failed = [store.saveDecision(decision('f1')), store.saveDecision(decision('f2'))];
    for (const p of failed) {
      await expect(p).rejects.toMatchObject({ code: 'storage_unavailable' });
    }
    expect(await store.getDecisions(['f1', 'f2'])).toEqual([]);
    store['saveAll'] = saveAll;
    await store.saveDecision(decision('f3'));
    expect((await store.getDecisions(['f1', 'f2', 'f3'])).map((d) => d.decision_id)).toEqual([
      'f3',
    ]);
    await store.close();
  });
});
