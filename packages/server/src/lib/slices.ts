/**
 * Long synchronous work on the event loop, cut into slices: `turn()` yields one turn of the loop
 * (`setImmediate`) once `budgetMs` of work has passed since the last one, so a request waiting
 * behind it (`/healthz`, a refusal, another request's next step) waits for a slice, not for the
 * whole job. Call it between items of a loop.
 */
export class Slices {
  private since = performance.now();

  constructor(private readonly budgetMs: number) {}

  /** Resolves at once inside the budget; after a turn of the event loop past it. */
  async turn(): Promise<void> {
    if (performance.now() - this.since < this.budgetMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}

/**
 * Most milliseconds of work on the event loop between two turns, for ingest's record preparation
 * and the parsing of investigation pages.
 */
export const SLICE_MS = 4;
