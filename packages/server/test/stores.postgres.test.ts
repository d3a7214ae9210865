import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresRegistryStore } from '../src/identity/registry-postgres.js';
import { PostgresPolicyStore } from '../src/policy/store-postgres.js';
import {
  externalPostgres,
  skipPostgres,
  startTestPostgres,
} from '../../../test/support/postgres.js';
import type { TestPostgres } from '../../../test/support/postgres.js';
import {
  describePolicyStoreContract,
  describeRegistryStoreContract,
  principal,
} from '../src/testing/index.js';

describe.skipIf(skipPostgres())('registry and policy stores on PostgreSQL', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  // Each store remembers the database it was opened on, for `reopen`.
  const urls = new WeakMap<object, string>();
  function opener<S extends { close(): Promise<void> }>(make: (url: string) => Promise<S>) {
    const open = async (url: string) => {
      const store = await make(url);
      urls.set(store, url);
      return store;
    };
    return {
      open: async () => open(await server.newDatabase()),
      openPair: async (): Promise<[S, S]> => {
        const url = await server.newDatabase();
        return [await open(url), await open(url)];
      },
      reopen: async (store: S) => {
        await store.close();
        return open(urls.get(store)!);
      },
    };
  }

  describeRegistryStoreContract(
    'postgres',
    opener((url) => PostgresRegistryStore.open(url)),
  );
  describePolicyStoreContract(
    'postgres',
    opener((url) => PostgresPolicyStore.open(url)),
  );

  it.skipIf(externalPostgres)(
    'refuses a write PostgreSQL did not take as storage_unavailable, and recovers',
    async () => {
      const url = await server.newDatabase();
      const r = await PostgresRegistryStore.open(url);
      server.pause();
      try {
        await expect(r.savePrincipal(principal('user:carol'))).rejects.toMatchObject({
          code: 'storage_unavailable',
        });
      } finally {
        server.start();
      }
      await r.savePrincipal(principal('user:dave'));
      await r.close();
      const again = await PostgresRegistryStore.open(url);
      expect((await again.listPrincipals()).map((p) => p.id)).toEqual(['user:dave']);
      await again.close();
    },
  );
});
