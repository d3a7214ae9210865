/**
 * Long synchronous work on the event loop, cut into slices: `turn()` yields one turn of the loop
 * (`setImmediate`) once `budgetMs` of work has passed since the last one, so a request waiting
 * behind it (`/healthz`, a refusal, another request's next step) waits for a slice, not for the
 * whole job. Call it between items of a loop.
 *
 * Ingest comes first: while any ingest request is under way (`foreground`), a background job
 * (an investigation read) waits BACKGROUND_TURNS more turns before each of its slices, so readers
 * take a small share of the loop however many there are, and ingest keeps its rate.
 */
export class Slices {
  private since = performance.now();

  constructor(
    private readonly budgetMs: number,
    private readonly background = false,
  ) {}

  /** Resolves at once inside the budget; after a turn of the event loop (or more) past it. */
  async turn(): Promise<void> {
    if (performance.now() - this.since < this.budgetMs) return;
    await nextTurn();
    if (this.background) {
      for (let i = 0; i < BACKGROUND_TURNS && foregroundJobs > 0; i++) await nextTurn();
    }
    this.since = performance.now();
  }
}

/**
 * Most milliseconds of work on the event loop between two turns, for ingest's record preparation
 * and the parsing of investigation pages.
 */
export const SLICE_MS = 4;

/** Turns a background slice waits while ingest is under way. */
export const BACKGROUND_TURNS = 3;

let foregroundJobs = 0;

/** Runs `job` as foreground work (an ingest request): background slices give way meanwhile. */
export async function foreground<T>(job: () => Promise<T>): Promise<T> {
  foregroundJobs++;
  try {
    return await job();
  } finally {
    foregroundJobs--;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
