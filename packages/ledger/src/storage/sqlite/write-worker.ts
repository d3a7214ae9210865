import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StorageError } from '../errors.js';
import { PAGE_CACHE_KIB } from './schema.js';
import { APPEND_SQL, appendRefusal, appendRows } from './append.js';
import type { AppendRows } from './append.js';

/**
 * The ledger's write connection in a worker thread: appends (the inserts, the hash tiles, the
 * signed checkpoint, and the `synchronous = FULL` commit that makes them durable) run beside the
 * event loop that parses requests and answers `/healthz`, never on it (issue 14: a commit of a
 * few thousand entries and its fsync held the loop for tens to hundreds of milliseconds).
 *
 * One worker, one connection, one append at a time in the order they were posted: the sequencer
 * already commits one batch at a time, so nothing about ordering or the single writer changes.
 * An append resolves only when the worker answers after its COMMIT returned, so nothing is
 * acknowledged before it is durable. A worker that dies mid-append rejects it
 * (`storage_unavailable`): the sequencer then re-reads the stored tree before its next commit,
 * as after any commit whose outcome is unknown, and the next append starts another worker.
 */

// Plain JavaScript given as `eval` source (see ./read-worker.ts for why), with the transaction
// body itself, `appendRows`, inserted as source text: one definition for both connections. The
// transaction is IMMEDIATE (see SqliteStorage: another connection to the file commits in between).
const WORKER_SOURCE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const Database = (await import(workerData.driver)).default;
  const appendRows = ${String(appendRows)};
  const db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -' + workerData.cacheKib);
  const s = {};
  for (const [name, sql] of Object.entries(workerData.sql)) s[name] = db.prepare(sql);
  const append = db.transaction((rows) => appendRows(s, rows)).immediate;
  parentPort.on('message', (m) => {
    if (m.close) {
      db.close();
      parentPort.close();
      return;
    }
    try {
      append(m.rows);
      parentPort.postMessage({ id: m.id });
    } catch (e) {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch {}
      parentPort.postMessage({
        id: m.id,
        error: { message: String(e && e.message), code: e && e.code, storageCode: e && e.storageCode, size: e && e.size },
      });
    }
  });
})(); // a failure to open rejects unhandled: the worker exits, its 'error' event says why
`;

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

interface Reply {
  readonly id: number;
  readonly error?: {
    readonly message: string;
    readonly code?: unknown;
    readonly storageCode?: unknown;
    readonly size?: unknown;
  };
}

export class SqliteWriteWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  /**
   * @param writeError maps a failed write to the StorageError the driver throws (the same mapping
   *   as for a write on the main thread: disk full, or unavailable with the SQLite code).
   */
  constructor(
    private readonly file: string,
    private readonly writeError: (e: Error & { code?: unknown }) => StorageError,
  ) {}

  /** Appends in one transaction on the worker's connection; resolves once it is committed. */
  append(rows: AppendRows): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new StorageError('storage_unavailable', 'The ledger database is closed.'),
      );
    }
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    // Keep the process alive only while a write is in flight.
    if (this.pending.size === 1) worker.ref();
    // The hash buffers are the batch's own copies (toAppendRows): moved, not copied.
    const transfer = [rows.leafHashes.buffer, rows.tileHashes.buffer] as ArrayBuffer[];
    worker.postMessage({ id, rows }, transfer);
    return done;
  }

  /** Lets the appends posted so far finish, then closes the connection and ends the worker. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ close: true });
    await exited;
    this.worker = null;
  }

  private start(): Worker {
    const driver = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.file, driver, sql: APPEND_SQL, cacheKib: PAGE_CACHE_KIB.writer },
    });
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (!reply.error) return p.resolve();
      const e = reply.error;
      p.reject(
        appendRefusal(e) ?? this.writeError(Object.assign(new Error(e.message), { code: e.code })),
      );
    });
    const lost = (message: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const p of pending) p.reject(new StorageError('storage_unavailable', message));
    };
    worker.on('error', (e) => lost(`The ledger write worker failed: ${e.message}`));
    worker.on('exit', (code) => lost(`The ledger write worker exited (code ${code}).`));
    this.worker = worker;
    return worker;
  }
}
