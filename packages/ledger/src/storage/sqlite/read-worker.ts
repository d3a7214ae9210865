import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StorageError } from '../errors.js';
import { PAGE_CACHE_KIB } from './schema.js';

/**
 * A read-only connection to a SQLite ledger in a worker thread, so a heavy read (a trace, a
 * provenance scan, the coverage report) runs beside the event loop of the process that writes,
 * never on it. SQL is built by the driver in the main thread; the worker only prepares (cached)
 * and runs it, one statement at a time, and sends the rows back (BLOBs arrive as Uint8Array and
 * are handed on as Buffers, as better-sqlite3 returns them on the main connection).
 *
 * WAL visibility: each statement outside a transaction reads the latest commit, and the writer
 * resolves an append only once it is committed, so a read issued after an append sees it.
 */

// The worker's code is plain JavaScript given as `eval` source: a `.ts` file cannot be a worker
// entry when the package runs from its sources (vitest), and this keeps one file for both. It
// loads modules by dynamic import, which works whether Node evaluates it as a script or, under
// `--input-type=module`, as a module. better-sqlite3 is resolved by the main thread and passed
// in, so the worker loads the same copy.
const WORKER_SOURCE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  // Reads yield the CPU to ingest: on Linux the nice value is per thread, and a sync readlink
  // of /proc/thread-self runs on this thread, so it names this thread's id. The value is
  // relative to the inherited one (a collector run under nice keeps its reads below it).
  // Elsewhere (or if refused) the reads keep the process's priority.
  if (workerData.nice) {
    try {
      const { readlinkSync } = await import('node:fs');
      const { getPriority, setPriority } = await import('node:os');
      const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
      if (Number.isInteger(tid) && tid > 0) {
        setPriority(tid, Math.min(19, getPriority(tid) + workerData.nice));
      }
    } catch {}
  }
  const Database = (await import(workerData.driver)).default;
  const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // On a file that is no database this fails; its first read then says why.
  try { db.pragma('cache_size = -' + workerData.cacheKib); } catch {}
  const statements = new Map();
  const run = ({ sql, params }) => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      statements.set(sql, stmt);
    }
    return stmt.all(...params);
  };
  const snapshot = db.transaction((reads) => reads.map(run));
  parentPort.on('message', ({ id, reads }) => {
    try {
      const results = reads.length === 1 ? [run(reads[0])] : snapshot(reads);
      parentPort.postMessage({ id, results });
    } catch (e) {
      parentPort.postMessage({ id, error: { message: String(e && e.message), code: e && e.code } });
    }
  });
})(); // a failure to open rejects unhandled: the worker exits, its 'error' event says why
`;

type Param = string | number | null;

/**
 * The read thread's nice value. Under CFS a thread at nice 10 gets about a tenth of the CPU a
 * nice-0 thread gets while both want it, and all of an idle core: heavy reads still finish, but
 * on a busy machine ingest and the event loop come first.
 */
const READ_NICE = 10;

interface Pending {
  resolve(results: unknown[][]): void;
  reject(error: StorageError): void;
}

/** One statement and its parameters. */
export interface Read {
  readonly sql: string;
  readonly params: readonly Param[];
}

interface Reply {
  readonly id: number;
  readonly results?: Record<string, unknown>[][];
  readonly error?: { readonly message: string; readonly code: unknown };
}

/** A failed read as a StorageError: corruption keeps its name, anything else is unavailable. */
function readError(error: { message: string; code: unknown }, file: string): StorageError {
  const code = typeof error.code === 'string' ? error.code : undefined;
  const details = { cause: error.message, sqlite_code: code };
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB'
    ? new StorageError('storage_corrupt', `The ledger database ${file} is damaged.`, details)
    : new StorageError('storage_unavailable', 'The ledger database refused the read.', details);
}

const asBuffers = (row: Record<string, unknown>) => {
  // for…in, not Object.entries: no array per row (a trace page is 1,000 rows).
  for (const k in row) {
    const v = row[k];
    if (v instanceof Uint8Array) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return row;
};

export class SqliteReadWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  /** `nice`: how far below the writer's priority the reads run (Linux; 0 keeps it equal). */
  constructor(
    private readonly file: string,
    private readonly nice = READ_NICE,
  ) {}

  /** Runs one read-only statement in the worker; rows as better-sqlite3's `all` gives them. */
  async all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    const [rows] = await this.snapshot([{ sql, params }]);
    return rows as T[];
  }

  /** Runs several statements in one read transaction: they all see the same commit. */
  snapshot(reads: readonly Read[]): Promise<unknown[][]> {
    if (this.closed) {
      return Promise.reject(
        new StorageError('storage_unavailable', 'The ledger database is closed.'),
      );
    }
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const reply = new Promise<unknown[][]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    // Keep the process alive only while a read is in flight: an idle reader never holds it open.
    if (this.pending.size === 1) worker.ref();
    worker.postMessage({ id, reads });
    return reply;
  }

  /** Terminates the worker; reads still in flight are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new StorageError('storage_unavailable', 'The ledger database was closed.'));
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const driver = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.file, driver, nice: this.nice, cacheKib: PAGE_CACHE_KIB.reader },
    });
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.error) p.reject(readError(reply.error, this.file));
      else p.resolve(reply.results!.map((rows) => rows.map(asBuffers)));
    });
    // A worker that fails to open the file or dies: its reads are refused, the next read starts
    // a new one.
    const lost = (message: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(new StorageError('storage_unavailable', message));
    };
    worker.on('error', (e) => lost(`The ledger read worker failed: ${e.message}`));
    worker.on('exit', (code) => lost(`The ledger read worker exited (code ${code}).`));
    this.worker = worker;
    return worker;
  }

  private failAll(error: StorageError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
  }
}
