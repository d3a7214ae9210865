import type { Decision, PolicySetSource } from '@provenant/policy';

/**
 * Policy history: every policy set version the decision point ever loaded, by content digest
 * (so a recorded decision can always be replayed), and every decision with its request. Every
 * call resolves once what it wrote is durable. The collector reads through `CachedPolicyStore`
 * (store-cache.ts). The contract: `test/policy-store-contract.ts`.
 */
export interface PolicyStore {
  readonly kind: string;
  /** Stores a policy set under its digest; a digest stored before keeps its first source. */
  savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): Promise<void>;
  getPolicySet(digest: string): Promise<PolicySetSource | null>;
  /** Stores a decision; an id stored before keeps its first decision. */
  saveDecision(decision: Decision): Promise<void>;
  /** The stored decisions among `ids`, in no particular order (unknown ids are left out). */
  getDecisions(ids: readonly string[]): Promise<Decision[]>;
  close(): Promise<void>;
}

export class MemoryPolicyStore implements PolicyStore {
  readonly kind = 'memory';
  private readonly sets = new Map<string, PolicySetSource>();
  private readonly decisions = new Map<string, Decision>();
  async savePolicySet(digest: string, source: PolicySetSource): Promise<void> {
    if (!this.sets.has(digest)) this.sets.set(digest, source);
  }
  async getPolicySet(digest: string): Promise<PolicySetSource | null> {
    return this.sets.get(digest) ?? null;
  }
  async saveDecision(decision: Decision): Promise<void> {
    if (!this.decisions.has(decision.decision_id)) {
      this.decisions.set(decision.decision_id, decision);
    }
  }
  async getDecisions(ids: readonly string[]): Promise<Decision[]> {
    return [...new Set(ids)].flatMap((id) => this.decisions.get(id) ?? []);
  }
  async close(): Promise<void> {}
}
