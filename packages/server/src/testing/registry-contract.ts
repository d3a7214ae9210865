/**
 * The contract every `RegistryStore` passes: memory, SQLite and PostgreSQL here, and the
 * caching decorator over each. Published as `@provenant/server/testing`, so a store outside the
 * repo can run it too:
 * `describeRegistryStoreContract('mine', harness)` in a vitest file.
 */
import type { Principal } from '@provenant/identity';
import { describe, expect, it } from 'vitest';
import type { RegistryStore } from '../identity/registry.js';
import { CachedRegistryStore } from '../identity/registry-cache.js';

export interface RegistryStoreHarness {
  /** A new, empty store. */
  open(): Promise<RegistryStore>;
  /** Two handles on one new, empty database, as two collectors of a cluster hold. */
  openPair(): Promise<[RegistryStore, RegistryStore]>;
  /** Closes `store` and opens its database again; absent when nothing outlives a store. */
  reopen?: (store: RegistryStore) => Promise<RegistryStore>;
}

const NOW = 1_800_000_000;

export const principal = (id: string, extra: Partial<Principal> = {}): Principal => ({
  id,
  kind: 'human',
  shared: false,
  disabled: false,
  ...extra,
});

export function describeRegistryStoreContract(name: string, harness: RegistryStoreHarness): void {
  const variants: [string, () => Promise<RegistryStore>][] = [
    [name, () => harness.open()],
    [`${name} behind the cache`, async () => CachedRegistryStore.open(await harness.open())],
  ];
  for (const [label, open] of variants) {
    describe(`registry store contract: ${label}`, () => {
      it('lists principals sorted by id, a save replacing the one with its id', async () => {
        const store = await open();
        expect(await store.listPrincipals()).toEqual([]);
        await store.savePrincipal(principal('user:bob'));
        await store.savePrincipal(principal('user:alice', { name: 'Alice' }));
        await store.savePrincipal(principal('user:bob', { disabled: true }));
        expect(await store.listPrincipals()).toEqual([
          principal('user:alice', { name: 'Alice' }),
          principal('user:bob', { disabled: true }),
        ]);
        await store.close();
      });

      it('keeps the first time of a revocation', async () => {
        const store = await open();
        await store.saveRevocation('jti-1', NOW);
        await store.saveRevocation('jti-1', NOW + 5);
        await store.saveRevocation('jti-2', NOW + 1);
        const listed = await store.listRevocations();
        expect(listed.sort((a, b) => (a.jti < b.jti ? -1 : 1))).toEqual([
          { jti: 'jti-1', at: NOW },
          { jti: 'jti-2', at: NOW + 1 },
        ]);
        await store.close();
      });

      it('takes an assertion jti once while it lives, and again once it expired', async () => {
        const store = await open();
        expect(await store.useAssertionJti('a-1', NOW + 60, NOW)).toBe(true);
        expect(await store.useAssertionJti('a-1', NOW + 60, NOW)).toBe(false);
        expect(await store.useAssertionJti('a-1', NOW + 60, NOW + 60)).toBe(false); // exp is inclusive
        expect(await store.useAssertionJti('a-1', NOW + 200, NOW + 61)).toBe(true);
        expect(await store.useAssertionJti('a-1', NOW + 200, NOW + 100)).toBe(false);
        await store.close();
      });

      it('spends an ID token once while it lives, apart from assertion jtis', async () => {
        const store = await open();
        expect(await store.useIdToken('k-1', NOW + 60, NOW)).toBe(true);
        expect(await store.useIdToken('k-1', NOW + 60, NOW + 30)).toBe(false);
        // Another namespace: the same string as an assertion jti is a different id.
        expect(await store.useAssertionJti('k-1', NOW + 60, NOW)).toBe(true);
        expect(await store.useIdToken('k-2', NOW + 60, NOW)).toBe(true);
        expect(await store.useIdToken('k-1', NOW + 200, NOW + 61)).toBe(true); // expired: free
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => store.useIdToken('k-race', NOW + 60, NOW)),
        );
        expect(answers.filter(Boolean)).toHaveLength(1);
        await store.close();
      });

      it('spends a JWT authorization grant once while it lives, apart from other ids', async () => {
        const store = await open();
        expect(await store.useGrantJti('g-1', NOW + 60, NOW)).toBe(true);
        expect(await store.useGrantJti('g-1', NOW + 60, NOW + 30)).toBe(false);
        expect(await store.useGrantJti('g-1', NOW + 60, NOW + 60)).toBe(false); // exp is inclusive
        // Other namespaces: the same string as an assertion jti or an ID token is another id.
        expect(await store.useAssertionJti('g-1', NOW + 60, NOW)).toBe(true);
        expect(await store.useIdToken('g-1', NOW + 60, NOW)).toBe(true);
        expect(await store.useGrantJti('g-1', NOW + 200, NOW + 61)).toBe(true); // expired: free
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => store.useGrantJti('g-race', NOW + 60, NOW)),
        );
        expect(answers.filter(Boolean)).toHaveLength(1);
        await store.close();
      });

      it('keeps roles and scope ceilings with a principal', async () => {
        const store = await open();
        const p = principal('user:dana', { roles: ['analyst', 'auditor'], scopes: ['repo:read'] });
        await store.savePrincipal(p);
        expect(await store.listPrincipals()).toEqual([p]);
        await store.savePrincipal({ ...p, roles: [] });
        expect((await store.listPrincipals())[0]!.roles).toEqual([]);
        await store.close();
      });

      it('answers concurrent uses of one jti with exactly one acceptance', async () => {
        const store = await open();
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => store.useAssertionJti('a-race', NOW + 60, NOW)),
        );
        expect(answers.filter(Boolean)).toHaveLength(1);
        await store.close();
      });
    });
  }

  describe(`registry store contract: ${name}, shared by two collectors`, () => {
    it('refuses an assertion jti, an ID token or a grant the other collector took', async () => {
      const [a, b] = await harness.openPair();
      expect(await a.useAssertionJti('shared-1', NOW + 60, NOW)).toBe(true);
      expect(await b.useAssertionJti('shared-1', NOW + 60, NOW)).toBe(false);
      expect(await a.useIdToken('id-1', NOW + 60, NOW)).toBe(true);
      expect(await b.useIdToken('id-1', NOW + 60, NOW)).toBe(false);
      expect(await a.useGrantJti('grant-1', NOW + 60, NOW)).toBe(true);
      expect(await b.useGrantJti('grant-1', NOW + 60, NOW)).toBe(false);
      await Promise.all([a.close(), b.close()]);
    });

    it("hands the other collector's registry changes over once each through the cache", async () => {
      const [backendA, backendB] = await harness.openPair();
      const a = await CachedRegistryStore.open(backendA);
      const b = await CachedRegistryStore.open(backendB);
      await a.savePrincipal(principal('user:carol'));
      await a.saveRevocation('jti-9', NOW);
      expect(b.directory.get('user:carol')).toBeUndefined();
      expect(b.isRevoked('jti-9')).toBe(false);
      const first = await b.refresh();
      expect(first.principals.map((p) => p.id)).toEqual(['user:carol']);
      expect(first.revocations).toEqual([{ jti: 'jti-9', at: NOW }]);
      expect(b.directory.get('user:carol')).toEqual(principal('user:carol'));
      expect(b.isRevoked('jti-9')).toBe(true);
      expect(await b.refresh()).toEqual({ principals: [], revocations: [] }); // nothing new
      await a.savePrincipal(principal('user:carol', { disabled: true })); // disabled elsewhere
      expect((await b.refresh()).principals).toEqual([principal('user:carol', { disabled: true })]);
      await Promise.all([a.close(), b.close()]);
    });
  });

  describe.skipIf(harness.reopen === undefined)(
    `registry store contract: ${name}, reopened${harness.reopen ? '' : ' (skipped: nothing outlives a memory store)'}`,
    () => {
      it('keeps principals, revocations and live single-use ids across a restart', async () => {
        const first = await harness.open();
        await first.savePrincipal(principal('user:bob'));
        await first.savePrincipal(principal('user:alice'));
        await first.saveRevocation('jti-1', NOW);
        await first.useAssertionJti('a-1', NOW + 60, NOW);
        await first.useIdToken('id-1', NOW + 60, NOW);
        await first.useGrantJti('grant-1', NOW + 60, NOW);
        const again = await harness.reopen!(first);
        expect((await again.listPrincipals()).map((p) => p.id)).toEqual(['user:alice', 'user:bob']);
        expect(await again.listRevocations()).toEqual([{ jti: 'jti-1', at: NOW }]);
        expect(await again.useAssertionJti('a-1', NOW + 60, NOW)).toBe(false); // replay refused
        expect(await again.useIdToken('id-1', NOW + 60, NOW)).toBe(false); // and an ID token's
        expect(await again.useGrantJti('grant-1', NOW + 60, NOW)).toBe(false); // and a grant's
        const cached = await CachedRegistryStore.open(again);
        expect(cached.directory.get('user:bob')).toEqual(principal('user:bob'));
        expect(cached.isRevoked('jti-1')).toBe(true);
        await cached.close();
      });
    },
  );
}
