/**
 * The contract every `PolicyStore` passes: memory, SQLite and PostgreSQL here, and the caching
 * decorator over each. Exported so a store outside the repo can run it too:
 * `describePolicyStoreContract('mine', harness)` in a vitest file.
 */
import type { Decision } from '@provenant/policy';
import { describe, expect, it } from 'vitest';
import type { PolicyStore } from '../policy/store.js';
import { CachedPolicyStore } from '../policy/store-cache.js';

export interface PolicyStoreHarness {
  /** A new, empty store. */
  open(): Promise<PolicyStore>;
  /** Two handles on one new, empty database, as two collectors of a cluster hold. */
  openPair(): Promise<[PolicyStore, PolicyStore]>;
  /** Closes `store` and opens its database again; absent when nothing outlives a store. */
  reopen?: (store: PolicyStore) => Promise<PolicyStore>;
}

const NOW = 1_800_000_000_000;
const SET = { files: [{ name: 'a.cedar', text: 'permit (principal, action, resource);' }] };

export const decision = (id: string, extra: Partial<Decision> = {}): Decision =>
  ({
    decision_id: id,
    engine: 'cedar',
    engine_version: '4',
    policy_set: 'sha256:x',
    decision: 'allow',
    determining: ['p1'],
    errors: [],
    context_digest: 'sha256:c',
    request: { n: id },
    credential_jti: 'jti-1',
    time: NOW,
    ...extra,
  }) as unknown as Decision;

const byId = (ds: Decision[]) => [...ds].sort((a, b) => (a.decision_id < b.decision_id ? -1 : 1));

export function describePolicyStoreContract(name: string, harness: PolicyStoreHarness): void {
  const variants: [string, () => Promise<PolicyStore>][] = [
    [name, () => harness.open()],
    [`${name} behind the cache`, async () => new CachedPolicyStore(await harness.open())],
  ];
  for (const [label, open] of variants) {
    describe(`policy store contract: ${label}`, () => {
      it('finds a policy set by digest, the first source stored under it staying', async () => {
        const store = await open();
        expect(await store.getPolicySet('sha256:a')).toBeNull();
        await store.savePolicySet('sha256:a', SET, NOW);
        await store.savePolicySet('sha256:a', { files: [] }, NOW + 1);
        expect(await store.getPolicySet('sha256:a')).toEqual(SET);
        await store.close();
      });

      it('finds the stored decisions among the ids asked for, the first one per id staying', async () => {
        const store = await open();
        await store.saveDecision(decision('d1'));
        await store.saveDecision(decision('d2'));
        await store.saveDecision(decision('d1', { decision: 'deny' }));
        expect(byId(await store.getDecisions(['d2', 'd1', 'd-never', 'd1']))).toEqual([
          decision('d1'),
          decision('d2'),
        ]);
        expect(await store.getDecisions([])).toEqual([]);
        await store.close();
      });

      it('lets a single-use decision back one record, or a pending intent and its one outcome', async () => {
        const store = await open();
        const use = (recordId: string, pending = false, follows: string | null = null) =>
          store.claimDecisionUse({ decisionId: 'd1', recordId, pending, follows });
        expect(await use('r1')).toBe(true);
        expect(await use('r1')).toBe(true); // the same record again (a retry)
        expect(await use('r2')).toBe(false);
        expect(await use('r3', false, 'r1')).toBe(false); // r1 was no intent
        const intent = (recordId: string, pending = false, follows: string | null = null) =>
          store.claimDecisionUse({ decisionId: 'd2', recordId, pending, follows });
        expect(await intent('i1', true)).toBe(true);
        expect(await intent('o2', true, 'i1')).toBe(false); // another intent is no outcome
        expect(await intent('o1', false, 'i1')).toBe(true);
        expect(await intent('o1', false, 'i1')).toBe(true);
        expect(await intent('o3', false, 'i1')).toBe(false); // a second outcome
        expect(await intent('i1', true)).toBe(true);
        await store.close();
      });
    });
  }

  describe(`policy store contract: ${name}, shared by two collectors`, () => {
    it('finds, through the cache, a decision the other collector made', async () => {
      const [backendA, backendB] = await harness.openPair();
      const a = new CachedPolicyStore(backendA);
      const b = new CachedPolicyStore(backendB);
      await a.saveDecision(decision('d-elsewhere'));
      await a.savePolicySet('sha256:a', SET, NOW);
      expect(b.cachedDecision('d-elsewhere')).toBeNull(); // not fetched yet
      await b.prefetch(['d-elsewhere', 'd-never']);
      expect(b.cachedDecision('d-elsewhere')).toEqual(decision('d-elsewhere'));
      expect(b.cachedDecision('d-never')).toBeNull();
      expect(await b.getPolicySet('sha256:a')).toEqual(SET);
      await Promise.all([a.close(), b.close()]);
    });

    it('lets one of two collectors claim a single-use decision, whichever races first', async () => {
      const [a, b] = await harness.openPair();
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? a : b).claimDecisionUse({
            decisionId: 'd-raced',
            recordId: `r${i}`,
            pending: false,
            follows: null,
          }),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      await Promise.all([a.close(), b.close()]);
    });

    it('still finds a decision the cache no longer holds', async () => {
      const [backend] = await harness.openPair();
      const cache = new CachedPolicyStore(backend, 2);
      for (const id of ['d1', 'd2', 'd3']) await cache.saveDecision(decision(id));
      expect(cache.cachedDecision('d1')).toBeNull(); // beyond the in-memory window
      expect(cache.cachedDecision('d3')).toEqual(decision('d3'));
      expect(await cache.getDecisions(['d1'])).toEqual([decision('d1')]);
      await cache.close();
    });
  });

  describe.skipIf(harness.reopen === undefined)(
    `policy store contract: ${name}, reopened${harness.reopen ? '' : ' (skipped: nothing outlives a memory store)'}`,
    () => {
      it('keeps policy sets, decisions and single-use claims across a restart', async () => {
        const first = await harness.open();
        await first.savePolicySet('sha256:a', SET, NOW);
        await first.saveDecision(decision('d1'));
        expect(
          await first.claimDecisionUse({
            decisionId: 'd1',
            recordId: 'r1',
            pending: false,
            follows: null,
          }),
        ).toBe(true);
        const again = await harness.reopen!(first);
        expect(await again.getPolicySet('sha256:a')).toEqual(SET);
        expect(await again.getDecisions(['d1'])).toEqual([decision('d1')]);
        const reuse = { decisionId: 'd1', pending: false, follows: null };
        expect(await again.claimDecisionUse({ ...reuse, recordId: 'r2' })).toBe(false);
        expect(await again.claimDecisionUse({ ...reuse, recordId: 'r1' })).toBe(true);
        await again.close();
      });
    },
  );
}
