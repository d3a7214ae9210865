/**
 * The HTTP + spool exporter: records go to the collector off the hot path: an in-memory queue drained in
 * batches (size and time triggers) over keep-alive HTTP, with retries (exponential backoff,
 * jitter, `Retry-After`). When the collector cannot be reached the records go to the durable
 * spool and are replayed from it, in order, when it returns; while the spool holds anything,
 * new records are appended behind it so order is kept.
 */
import type { EventRecord } from '@provenant/core';
import { IntentNotDurableError, RecorderOverflowError, messageOf } from '../errors.js';
import type { ExportBatch, ExporterStats, RecordExporter } from './exporter.js';
import type { Spool } from './spool.js';

export type OverflowPolicy = 'block' | 'drop-low-risk' | 'fail';

export interface HttpExporterOptions {
  readonly collectorUrl: string;
  readonly fetch: typeof fetch;
  readonly spool: Spool | null;
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly maxQueued: number;
  readonly overflow: OverflowPolicy;
  readonly retry: {
    readonly attempts: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
  };
  readonly onRejected?:
    ((r: { id: string | null; code: string; message: string }) => void) | undefined;
}

interface Item {
  readonly record: EventRecord;
  readonly token: string;
  /** Sent as the `Txn-Token` header; never spooled (see `ExportBatch.txnToken`). */
  readonly txnToken: string | undefined;
  /** Set for an intent: settled once it is acknowledged or on disk, or cannot be. */
  durable?: { resolve: () => void; reject: (e: Error) => void };
}

type SendResult = { delivered: number; unreachable: boolean; error?: unknown };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

export class HttpRecordExporter implements RecordExporter {
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private pumping: Promise<void> | null = null;
  private replaying: Promise<void> | null = null;
  private spoolMode: boolean;
  private spaceWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private closed = false;
  /** The last pump stopped with records left: collector unreachable and no room in a spool. */
  private stalled = false;
  private readonly eventsUrl: string;
  readonly counters = {
    delivered: 0,
    rejected: 0,
    spooled: 0,
    replayed: 0,
    retries: 0,
    refusedIntents: 0,
  };

  constructor(private readonly o: HttpExporterOptions) {
    this.eventsUrl = new URL('/v1/events', o.collectorUrl).toString();
    this.spoolMode = o.spool?.pending ?? false;
    if (this.spoolMode) this.startReplay();
  }

  stats(): ExporterStats {
    return {
      ...this.counters,
      queued: this.queue.length,
      spoolBytes: this.o.spool?.bytes ?? 0,
      mode: this.spoolMode ? 'spool' : 'direct',
    };
  }

  /**
   * Admission before a tool runs: null when there is room, otherwise what to do — wait (a
   * promise), drop the record (`'drop'`), or an error to throw (nothing has run yet).
   */
  admit(lowRisk: boolean, pending = 0): null | 'drop' | Promise<void> {
    const held = this.queue.length + pending;
    if (held < this.o.maxQueued) return null;
    if (this.o.overflow === 'fail') {
      throw new RecorderOverflowError(
        `The recorder holds ${held} records and the spool cannot take more.`,
      );
    }
    if (this.o.overflow === 'drop-low-risk' && lowRisk) return 'drop';
    return new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
  }

  export(batch: ExportBatch): Promise<void> {
    if (!batch.durable) {
      // Never blocks: admission was checked before the tool ran.
      for (const record of batch.records) {
        this.queue.push({ record, token: batch.credential, txnToken: batch.txnToken });
      }
      this.schedule();
      return Promise.resolve();
    }
    // An intent: resolves once the collector acknowledged it or the spool holds it on disk
    // (fsynced). Earlier records are delivered first, so order holds.
    const settled = batch.records.map(
      (record) =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({
            record,
            token: batch.credential,
            txnToken: batch.txnToken,
            durable: {
              resolve,
              reject: (e) => {
                this.counters.refusedIntents++;
                reject(new IntentNotDurableError(record.action?.name ?? record.type, e));
              },
            },
          });
        }),
    );
    void this.pump();
    return Promise.all(settled).then(() => undefined);
  }

  /**
   * Resolves when every queued record is acknowledged by the collector or in the spool — or,
   * when neither can take them now, once that has been tried (they stay queued: see `queued`).
   */
  async forceFlush(): Promise<void> {
    while (this.queue.length > 0 || this.pumping) {
      await this.pump();
      if (this.stalled) return;
    }
  }

  /** Resolves when everything, spool included, is acknowledged by the collector (or timeout). */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.forceFlush();
      if (!this.spoolMode && this.queue.length === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await Promise.race([
        new Promise<void>((r) => this.drainWaiters.push(r)),
        sleep(Math.min(left, 200)),
      ]);
    }
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    await this.forceFlush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.o.spool?.close();
  }

  private schedule(): void {
    if (this.queue.length >= this.o.maxBatch) {
      // Size trigger: on the next turn of the event loop, never inside the caller's call.
      if (!this.immediate && !this.pumping) {
        this.immediate = setImmediate(() => {
          this.immediate = null;
          void this.pump();
        });
      }
    } else if (!this.timer && !this.pumping) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.pump();
      }, this.o.maxDelayMs);
    }
  }

  private pump(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.pumping ??= this.pumpLoop().finally(() => {
      this.pumping = null;
      if (this.queue.length > 0 && !this.stalled) this.schedule();
    });
    return this.pumping;
  }

  private async pumpLoop(): Promise<void> {
    this.stalled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.o.maxBatch);
      const spool = this.o.spool;
      if (spool && (this.spoolMode || spool.pending)) {
        if (!this.toSpool(batch)) return this.stall(); // spool full: keep them in memory
        this.take(batch.length);
        continue;
      }
      const r = await this.send(batch);
      const rest = batch.slice(r.delivered);
      this.take(r.delivered);
      if (rest.length === 0) continue;
      if (spool) {
        this.spoolMode = true;
        const ok = this.toSpool(rest);
        this.startReplay();
        if (!ok) return this.stall();
        this.take(rest.length);
      } else {
        // No spool: intents cannot wait, the others stay queued and are retried later.
        const keep: Item[] = [];
        for (const it of rest) {
          if (it.durable)
            it.durable.reject(new Error(messageOf(r.error ?? 'collector unreachable')));
          else keep.push(it);
        }
        this.queue.splice(0, rest.length, ...keep);
        this.freeSpace();
        return this.stall();
      }
    }
  }

  /** Stops pumping with records left; a timer tries again later. */
  private stall(): void {
    this.stalled = true;
    if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.pump();
      }, this.o.retry.maxDelayMs);
      this.timer.unref?.();
    }
  }

  /** Removes the first n queued items (delivered or spooled) and wakes blocked callers. */
  private take(n: number): void {
    this.queue.splice(0, n);
    this.freeSpace();
  }

  private freeSpace(): void {
    while (this.spaceWaiters.length > 0 && this.queue.length < this.o.maxQueued) {
      this.spaceWaiters.shift()!();
    }
  }

  /** Appends to the spool; false (durable items rejected) when it is full or failing. */
  private toSpool(batch: Item[]): boolean {
    const spool = this.o.spool!;
    let ok = false;
    let error: unknown = 'the spool is full';
    const durable = batch.some((it) => it.durable);
    try {
      ok = spool.append(
        batch.map((it) => ({ token: it.token, json: JSON.stringify(it.record) })),
        durable,
      );
    } catch (e) {
      error = e;
    }
    if (ok) {
      this.counters.spooled += batch.length;
      for (const it of batch) it.durable?.resolve();
      return true;
    }
    // Intents cannot wait for room: refuse them now (their tools will not run).
    const keep = batch.filter((it) => {
      if (it.durable) it.durable.reject(new Error(messageOf(error)));
      return !it.durable;
    });
    this.queue.splice(0, batch.length, ...keep);
    this.freeSpace();
    return false;
  }

  private startReplay(): void {
    this.replaying ??= this.replayLoop().finally(() => {
      this.replaying = null;
    });
  }

  private async replayLoop(): Promise<void> {
    const spool = this.o.spool!;
    let attempt = 0;
    while (spool.pending) {
      const batch = spool.read(this.o.maxBatch);
      // A line that cannot be read (larger than any record can be) would stall the replay.
      if (batch.count === 0 && batch.end <= spool.offset) break;
      let unreachable = false;
      let retryAfterMs = 0;
      for (const run of batch.runs) {
        const r = await this.post(run.token, run.records);
        if (r.kind === 'unreachable') {
          unreachable = true;
          retryAfterMs = r.retryAfterMs;
          break;
        }
        this.settle(r, run.records);
      }
      if (unreachable) {
        // Nothing of this batch is committed; re-sending the runs that did get through is
        // idempotent.
        this.counters.retries++;
        await sleep(Math.max(retryAfterMs, this.backoff(attempt++)));
        if (this.closed && attempt > this.o.retry.attempts) return;
        continue;
      }
      attempt = 0;
      this.counters.replayed += batch.count;
      spool.commit(batch.end, batch.token);
    }
    // Caught up: from here records go to the collector directly again.
    this.spoolMode = false;
    for (const w of this.drainWaiters.splice(0)) w();
    if (this.queue.length > 0) void this.pump();
  }

  private backoff(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.o.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
  }

  /**
   * Sends a batch, grouped into runs by credential and Txn-Token; retries; says how many got
   * through. A run whose request is refused with its Txn-Token is sent once more without it:
   * the records are kept, without the correlation (e.g. the Txn-Token expired on the way).
   */
  private async send(batch: Item[]): Promise<SendResult> {
    let delivered = 0;
    let i = 0;
    while (i < batch.length) {
      const { token } = batch[i]!;
      let txnToken = batch[i]!.txnToken;
      let j = i;
      while (j < batch.length && batch[j]!.token === token && batch[j]!.txnToken === txnToken) j++;
      const run = batch.slice(i, j);
      const jsons = run.map((it) => JSON.stringify(it.record));
      let result: PostResult | null = null;
      for (let attempt = 0; attempt < this.o.retry.attempts; attempt++) {
        if (attempt > 0) this.counters.retries++;
        let r = await this.post(token, jsons, txnToken);
        if (r.kind === 'refused' && txnToken !== undefined) {
          txnToken = undefined;
          r = await this.post(token, jsons, undefined);
        }
        if (r.kind !== 'unreachable') {
          result = r;
          break;
        }
        if (attempt + 1 < this.o.retry.attempts) {
          await sleep(
            Math.min(this.o.retry.maxDelayMs, Math.max(r.retryAfterMs, this.backoff(attempt))),
          );
        } else {
          return { delivered, unreachable: true, error: r.error };
        }
      }
      const refused = this.settle(result!, jsons);
      for (const it of run) {
        if (!it.durable) continue;
        const why = refused.get(it.record.id);
        if (why) it.durable.reject(new Error(`the collector refused it: ${why}`));
        else it.durable.resolve();
      }
      delivered += run.length;
      i = j;
    }
    return { delivered, unreachable: false };
  }

  /** Counts an answered request; returns the ids the collector refused, with why. */
  private settle(r: PostResult, jsons: readonly string[]): Map<string, string> {
    const refused = new Map<string, string>();
    if (r.kind === 'answered') {
      this.counters.delivered += r.accepted;
      for (const x of r.rejected) {
        this.counters.rejected++;
        const json = x.index !== undefined ? jsons[x.index] : undefined;
        if (json !== undefined) this.o.spool?.reject(json, x.code, x.message);
        if (x.id) refused.set(x.id, `${x.code}: ${x.message}`);
        this.o.onRejected?.({ id: x.id, code: x.code, message: x.message });
      }
    } else if (r.kind === 'refused') {
      // The request itself was refused (bad or expired credential, too large): every record.
      for (const json of jsons) {
        this.counters.rejected++;
        this.o.spool?.reject(json, r.code, r.message);
        const id = (JSON.parse(json) as { id?: string }).id ?? null;
        if (id) refused.set(id, `${r.code}: ${r.message}`);
        this.o.onRejected?.({ id, code: r.code, message: r.message });
      }
    }
    return refused;
  }

  private async post(
    token: string,
    jsons: readonly string[],
    txnToken?: string,
  ): Promise<PostResult> {
    let res: Response;
    try {
      res = await this.o.fetch(this.eventsUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          ...(txnToken !== undefined ? { 'txn-token': txnToken } : {}),
        },
        body: `[${jsons.join(',')}]`,
      });
    } catch (e) {
      return { kind: 'unreachable', retryAfterMs: 0, error: e };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
      if (res.ok) return { kind: 'unreachable', retryAfterMs: 0, error: e };
    }
    if (res.status === 200 || res.status === 422) {
      const b = body as { accepted?: unknown[]; rejected?: RejectedItem[] };
      return { kind: 'answered', accepted: b.accepted?.length ?? 0, rejected: b.rejected ?? [] };
    }
    if (res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers.get('retry-after'));
      return {
        kind: 'unreachable',
        retryAfterMs: Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 30_000) : 0,
        error: new Error(`HTTP ${res.status}`),
      };
    }
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    return {
      kind: 'refused',
      code: err?.code ?? `http_${res.status}`,
      message: err?.message ?? `HTTP ${res.status}`,
    };
  }
}

interface RejectedItem {
  index?: number;
  id: string | null;
  code: string;
  message: string;
}

type PostResult =
  | { kind: 'answered'; accepted: number; rejected: RejectedItem[] }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'unreachable'; retryAfterMs: number; error: unknown };
