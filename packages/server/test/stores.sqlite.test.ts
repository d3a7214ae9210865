import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteRegistryStore } from '../src/identity/registry-sqlite.js';
import { SqlitePolicyStore } from '../src/policy/store-sqlite.js';
import {
  describePolicyStoreContract,
  describeRegistryStoreContract,
} from '../src/testing/index.js';

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
