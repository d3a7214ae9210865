/**
 * The investigation worker's entry (run from dist, as `@provenant/server/investigate-worker`):
 * a read-only connection to the SQLite ledger in a thread of its own, which reads, parses and
 * assembles a whole answer (a trace page) and hands back its JSON text, so neither the SQLite
 * work nor the parsing, the tree or the serialization of a large answer runs on the event loop
 * that ingest and health answer on. See worker-client.ts.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { readTracePage } from './trace.js';
import type { InvestigationJob, InvestigationReply, WorkerData } from './worker-client.js';

const data = workerData as WorkerData;

// Reads yield the CPU to ingest: on Linux a nice value is per thread, and a synchronous
// readlink of /proc/thread-self names this thread. The value is relative to the thread's own
// (inherited from the collector), so a collector started under `nice` keeps its reads below it.
// Elsewhere (or if refused) reads keep the process's priority.
if (data.nice > 0) {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0)
      setPriority(tid, Math.min(19, getPriority(tid) + data.nice));
  } catch {
    /* not Linux: the same priority as the rest of the process */
  }
}

const storage = new SqliteStorage(data.file, { readonly: true, readWorker: false });

async function run(job: InvestigationJob): Promise<string | null> {
  switch (job.kind) {
    case 'trace': {
      const page = await readTracePage(storage, job.query);
      return page === null ? null : JSON.stringify(page);
    }
  }
}

// One job at a time, in arrival order: the collector's read gate bounds how many wait here.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (job: InvestigationJob) => {
  queue = queue.then(async () => {
    let reply: InvestigationReply;
    try {
      reply = { id: job.id, json: await run(job) };
    } catch (e) {
      const err = e as { code?: unknown; message?: unknown };
      reply = {
        id: job.id,
        error: {
          code: typeof err.code === 'string' ? err.code : 'storage_unavailable',
          message: String(err.message),
        },
      };
    }
    parentPort!.postMessage(reply);
  });
});
