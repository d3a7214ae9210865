import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { StorageError } from '@provenant/ledger';
import type { TracePageQuery } from './trace.js';

/**
 * Heavy investigation answers computed in a worker thread (worker.ts) over a read-only
 * connection of the same SQLite file: the event loop only forwards the request and writes the
 * JSON text it gets back. A collector on PostgreSQL or in memory answers on the loop instead.
 */

/** The read thread's nice value: under CFS, about a tenth of a nice-0 thread's CPU when both
 * want it, and all of an idle core, so reads finish but ingest and health come first. */
export const INVESTIGATION_NICE = 10;

export interface WorkerData {
  readonly file: string;
  readonly nice: number;
}

export type InvestigationJob = { readonly id: number } & {
  readonly kind: 'trace';
  readonly query: TracePageQuery;
};

export interface InvestigationReply {
  readonly id: number;
  /** The answer's JSON text; null when there is nothing to answer (not found). */
  readonly json?: string | null;
  readonly error?: { readonly code: string; readonly message: string };
}

type JobBody = Omit<InvestigationJob, 'id'>;

interface Pending {
  resolve(json: string | null): void;
  reject(error: Error): void;
}

export class InvestigationWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly nice = INVESTIGATION_NICE,
  ) {}

  /** A trace page's JSON text, or null when the trace has no record. */
  trace(query: TracePageQuery): Promise<string | null> {
    return this.run({ kind: 'trace', query });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new StorageError('storage_unavailable', 'The ledger database was closed.'));
    if (worker) await worker.terminate();
  }

  private run(job: JobBody): Promise<string | null> {
    if (this.closed) {
      return Promise.reject(
        new StorageError('storage_unavailable', 'The ledger database is closed.'),
      );
    }
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const reply = new Promise<string | null>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    // Only a job in flight keeps the process alive.
    if (this.pending.size === 1) worker.ref();
    worker.postMessage({ ...job, id });
    return reply;
  }

  private start(): Worker {
    // The entry runs from dist (a thread cannot run the TypeScript sources tests import).
    const entry = createRequire(import.meta.url).resolve('@provenant/server/investigate-worker');
    const worker = new Worker(entry, {
      workerData: { file: this.file, nice: this.nice },
      // The thread runs built code: without the parent's export conditions, which may point
      // imports at sources (tests run under `--conditions @provenant/source`).
      execArgv: withoutConditions(process.execArgv),
    });
    worker.on('message', (reply: InvestigationReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.error) p.reject(replyError(reply.error));
      else p.resolve(reply.json ?? null);
    });
    const lost = (message: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(new StorageError('storage_unavailable', message));
    };
    worker.on('error', (e) => lost(`The investigation worker failed: ${e.message}`));
    worker.on('exit', (code) => lost(`The investigation worker exited (code ${code}).`));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
  }
}

function withoutConditions(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--conditions' || a === '-C') i++;
    else if (!a.startsWith('--conditions=') && !a.startsWith('-C=')) kept.push(a);
  }
  return kept;
}

/** A job's failure as the error the route would have thrown on the loop. */
function replyError(error: { code: string; message: string }): Error {
  return error.code === 'storage_corrupt'
    ? new StorageError('storage_corrupt', error.message)
    : new StorageError('storage_unavailable', error.message);
}
