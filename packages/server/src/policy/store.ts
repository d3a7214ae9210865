import type { Decision, PolicySetSource } from '@provenant/policy';

/** One record citing a single-use decision (`Decision.single_use`). */
export interface DecisionUse {
  readonly decisionId: string;
  readonly recordId: string;
  /** The record is an intent (`outcome.status: pending`): one outcome may follow it. */
  readonly pending: boolean;
  /** The record's `cause.record_id`: the intent it is the outcome of, if it is one. */
  readonly follows: string | null;
}

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
  /**
   * Claims a single-use decision for one action's records; true when `use`'s record may cite
   * it: the first record that claims it, the one outcome that follows it when that first record
   * was a pending intent, or a record that claimed it before (a retry). Atomic across every
   * collector sharing the store: of two racing records, one wins.
   */
  claimDecisionUse(use: DecisionUse): Promise<boolean>;
  close(): Promise<void>;
}

/** Who holds a single-use decision: its first record and, after a pending one, its outcome. */
interface DecisionUseRow {
  readonly first: string;
  readonly firstPending: boolean;
  outcome: string | null;
}

export class MemoryPolicyStore implements PolicyStore {
  readonly kind = 'memory';
  private readonly sets = new Map<string, PolicySetSource>();
  private readonly decisions = new Map<string, Decision>();
  private readonly uses = new Map<string, DecisionUseRow>();
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
  async claimDecisionUse(use: DecisionUse): Promise<boolean> {
    const row = this.uses.get(use.decisionId);
    if (row === undefined) {
      this.uses.set(use.decisionId, {
        first: use.recordId,
        firstPending: use.pending,
        outcome: null,
      });
      return true;
    }
    if (row.first === use.recordId || row.outcome === use.recordId) return true;
    if (row.firstPending && row.outcome === null && !use.pending && use.follows === row.first) {
      row.outcome = use.recordId;
      return true;
    }
    return false;
  }
  async close(): Promise<void> {}
}
