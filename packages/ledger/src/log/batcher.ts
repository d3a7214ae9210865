import type { PreparedEntry } from './entry.js';

interface Waiting<R> {
  readonly entries: readonly PreparedEntry[];
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: appends that arrive together share one transaction. `submit` waits one turn of
 * the event loop, then `run` gets every waiting group (up to `maxEntries` entries, at least one
 * group) and answers each; the next groups wait for it. A failed run rejects each of its groups.
 */
export class GroupCommit<R> {
  private waiting: Waiting<R>[] = [];
  private count = 0;
  private draining: Promise<void> | null = null;

  constructor(
    private readonly maxEntries: number,
    private readonly run: (groups: readonly (readonly PreparedEntry[])[]) => Promise<R[]>,
  ) {}

  /** Entries waiting for a run (the collector pushes back when this grows too large). */
  get pendingEntries(): number {
    return this.count;
  }

  submit(entries: readonly PreparedEntry[]): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ entries, resolve, reject });
      this.count += entries.length;
      // Yield once so requests that arrived together share one run.
      this.draining ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  /** Resolves once nothing waits or runs. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      for (let first = true; this.waiting.length > 0; first = false) {
        // A run on a synchronous driver holds the event loop: between runs other requests are
        // answered (a refused burst, /healthz), not only after every waiting group's run.
        if (!first) await new Promise<void>((done) => setImmediate(done));
        const batch = this.take();
        try {
          const results = await this.run(batch.map((w) => w.entries));
          batch.forEach((w, i) => w.resolve(results[i]!));
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      this.draining = null;
    }
  }

  /** Takes groups off the waiting list up to maxEntries (at least one). */
  private take(): Waiting<R>[] {
    const batch: Waiting<R>[] = [];
    let n = 0;
    while (
      this.waiting.length > 0 &&
      (batch.length === 0 || n + this.waiting[0]!.entries.length <= this.maxEntries)
    ) {
      const next = this.waiting.shift()!;
      batch.push(next);
      n += next.entries.length;
    }
    this.count -= n;
    return batch;
  }
}
