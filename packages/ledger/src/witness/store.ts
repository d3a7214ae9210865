/** What a witness keeps per log: the latest checkpoint it cosigned. */
export interface WitnessLogState {
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The signed checkpoint note as received (for audit and for serving it back). */
  readonly note: string;
}

/**
 * Where a witness keeps its per-log state. `compareAndSwap` must be atomic: it stores `next`
 * only when the stored size for `origin` is still `expectedSize` (0 and no state are the same),
 * so two concurrent add-checkpoint requests can never both move the witness forward from the
 * same state.
 */
export interface WitnessStateStore {
  get(origin: string): Promise<WitnessLogState | undefined>;
  compareAndSwap(origin: string, expectedSize: number, next: WitnessLogState): Promise<boolean>;
}

export class MemoryWitnessStore implements WitnessStateStore {
  private readonly states = new Map<string, WitnessLogState>();

  get(origin: string): Promise<WitnessLogState | undefined> {
    return Promise.resolve(this.states.get(origin));
  }

  compareAndSwap(origin: string, expectedSize: number, next: WitnessLogState): Promise<boolean> {
    const current = this.states.get(origin)?.size ?? 0;
    if (current !== expectedSize) return Promise.resolve(false);
    this.states.set(origin, next);
    return Promise.resolve(true);
  }
}
