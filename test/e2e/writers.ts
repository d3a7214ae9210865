/**
 * Clients that post batches of records to a collector until it dies, for the kill -9 tests:
 * what the collector acknowledged is what must survive. A test kills the collector once enough
 * has been acknowledged (state, not time), while the writers are still sending, so the kill
 * lands mid-write whatever the machine's speed.
 */
import type { CollectorProcess } from './process.js';

export interface Writers {
  /**
   * Resolves once at least `count` records have been acknowledged since these writers started.
   * Rejects if every writer stopped first (the collector died early, or answered wrongly).
   */
  acknowledged(count: number): Promise<void>;
  /** Waits for every writer to stop (after the collector died); rethrows a writer's failure. */
  stopped(): Promise<void>;
}

export interface WritersOptions {
  url: string;
  clients: number;
  batch: number;
  /** A fresh record for client `n`. */
  record: (n: number) => unknown;
  /** Filled with every acknowledged record: id → leaf index. */
  acked: Map<string, number>;
}

export function startWriters(o: WritersOptions): Writers {
  let count = 0;
  let waiters: { count: number; resolve: () => void }[] = [];
  const wake = () => {
    waiters = waiters.filter((w) => (count >= w.count ? (w.resolve(), false) : true));
  };
  const writer = async (n: number) => {
    for (;;) {
      const batch = Array.from({ length: o.batch }, () => o.record(n));
      let res: Response;
      let body: { accepted: { id: string; leaf_index: number }[] };
      try {
        res = await fetch(`${o.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch),
        });
        body = (await res.json()) as typeof body;
      } catch {
        return; // refused, reset or killed while answering: not acknowledged
      }
      if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${JSON.stringify(body)}`);
      for (const a of body.accepted) o.acked.set(a.id, a.leaf_index);
      count += body.accepted.length;
      wake();
    }
  };
  const all = Promise.all(Array.from({ length: o.clients }, (_, n) => writer(n)));
  const ended = all.then(
    () => new Error(`every writer stopped after ${count} acknowledgements`),
    (e: unknown) => e,
  );
  return {
    acknowledged(target) {
      const reached = new Promise<void>((resolve) => {
        waiters.push({ count: target, resolve });
        wake();
      });
      return Promise.race([reached, ended.then((e) => Promise.reject(e as Error))]);
    },
    async stopped() {
      await all;
    },
  };
}

/**
 * Writes to the collector and kills it (SIGKILL) once more than one batch is acknowledged —
 * somewhere in the second to fourth batch — while the other writers are mid-request; returns
 * after the process is gone and every writer stopped.
 */
export async function killWhileWriting(
  collector: CollectorProcess,
  o: Omit<WritersOptions, 'url'>,
): Promise<void> {
  const writers = startWriters({ ...o, url: collector.url });
  await writers.acknowledged(o.batch + 1 + Math.floor(Math.random() * 2 * o.batch));
  collector.child.kill('SIGKILL');
  await collector.exited;
  await writers.stopped();
}
