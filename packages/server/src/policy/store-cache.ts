import type { Decision, PolicySetSource } from '@provenant/policy';
import type { DecisionUse, PolicyStore } from './store.js';

/** Decisions kept in memory for the ingest path's correlation (the newest saved or fetched). */
export const DEFAULT_DECISION_CACHE = 100_000;

/**
 * The policy history as the collector uses it, over any `PolicyStore`: policy sets and the
 * newest decisions are held in memory, so correlating a record with its decision costs no I/O
 * when the decision was made here; anything else is asked of the backend (made by another
 * collector of a cluster, or older than the cache) and kept. Writes go to the backend first and
 * enter the cache once durable.
 */
export class CachedPolicyStore implements PolicyStore {
  readonly kind: string;
  private readonly sets = new Map<string, PolicySetSource>();
  private readonly decisions = new Map<string, Decision>();

  constructor(
    private readonly backend: PolicyStore,
    private readonly decisionCache = DEFAULT_DECISION_CACHE,
  ) {
    this.kind = backend.kind;
  }

  async savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): Promise<void> {
    if (this.sets.has(digest)) return;
    await this.backend.savePolicySet(digest, source, loadedAt);
    this.sets.set(digest, source);
  }
  async getPolicySet(digest: string): Promise<PolicySetSource | null> {
    const known = this.sets.get(digest);
    if (known !== undefined) return known;
    const stored = await this.backend.getPolicySet(digest);
    if (stored !== null) this.sets.set(digest, stored);
    return stored;
  }
  async saveDecision(decision: Decision): Promise<void> {
    if (this.decisions.has(decision.decision_id)) return;
    await this.backend.saveDecision(decision);
    this.remember(decision);
  }
  async getDecisions(ids: readonly string[]): Promise<Decision[]> {
    await this.prefetch(ids);
    return [...new Set(ids)].flatMap((id) => this.decisions.get(id) ?? []);
  }

  /** Never cached: the claim must be the backend's, shared by every collector. */
  claimDecisionUse(use: DecisionUse): Promise<boolean> {
    return this.backend.claimDecisionUse(use);
  }

  /** A cached decision (no I/O): one saved here, or fetched by `prefetch`. */
  cachedDecision(id: string): Decision | null {
    return this.decisions.get(id) ?? null;
  }

  /** Fetches into the cache those of `ids` it does not hold. */
  async prefetch(ids: readonly string[]): Promise<void> {
    const missing = ids.filter((id) => !this.decisions.has(id));
    if (missing.length === 0) return;
    for (const d of await this.backend.getDecisions(missing)) this.remember(d);
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private remember(decision: Decision): void {
    this.decisions.set(decision.decision_id, decision);
    if (this.decisions.size > this.decisionCache) {
      // Maps iterate in insertion order: drop the oldest.
      const oldest = this.decisions.keys().next();
      if (!oldest.done) this.decisions.delete(oldest.value);
    }
  }
}
