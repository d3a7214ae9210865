import { RequestError } from '../errors.js';

/**
 * How many investigation reads (provenance, traces, coverage) run at once. Each is bounded, but
 * its pages are parsed and its answer serialized on the event loop that ingest shares: a few at
 * a time leave that loop to ingest and health however many readers call; the rest wait (no
 * work) in order, and past `maxQueued` waiting a read is refused with 503 `reads_busy`.
 */
export class ReadGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxActive: number,
    private readonly maxQueued: number,
  ) {}

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxActive) {
      if (this.waiting.length >= this.maxQueued) {
        throw new RequestError(
          'reads_busy',
          `${this.maxActive} investigation reads run and ${this.waiting.length} wait; retry shortly.`,
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await read();
    } finally {
      // The slot passes to the next waiting read as it is, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
