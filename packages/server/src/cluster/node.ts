import type { IngestQueue, Log } from '@provenant/ledger';
import type { SequencerLease, SequencerLeases } from './lease.js';

export type ClusterRole = 'sequencer' | 'follower';

export interface ClusterEvents {
  (level: 'info' | 'warn' | 'error', message: string, fields: object): void;
}

export interface ClusterOptions {
  /** Where members contend for the sequencer lease (`postgresLeases` for a PostgreSQL ledger). */
  readonly leases: SequencerLeases;
  readonly log: Log;
  readonly queue: IngestQueue;
  /** Called after the caches of other collectors' changes should be refreshed (registry, policy). */
  readonly sync?: () => Promise<void>;
  /** How often a follower tries to take the lease, ms; default 500. */
  readonly leaseRetryMs?: number;
  /** How often the sequencer drains the queue when it was empty, ms; default 50. */
  readonly sequenceIdleMs?: number;
  /** How often a follower re-reads the tree and other collectors' changes, ms; default 250. */
  readonly refreshMs?: number;
  /**
   * Milliseconds from a monotonic clock, for scheduling; default `performance.now`. Never the
   * wall clock: a member whose clock steps back would stop following and never take over.
   */
  readonly monotonicMs?: () => number;
  readonly onEvent?: ClusterEvents;
}

/**
 * One collector of several on one PostgreSQL (issue 8). Every collector enqueues what it
 * receives (the Log in queue mode). This node also contends for the sequencer lease: while it
 * holds it, it drains the queue into the tree and signs checkpoints; otherwise it follows,
 * re-reading the signed tree so its proofs and checkpoint stay current. When the holder dies its
 * session ends, PostgreSQL frees the lock, and a follower takes over on its next try.
 */
export class ClusterNode {
  private lease: SequencerLease | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastError: string | null = null;
  private sequencedTotal = 0;
  private becameSequencerAt: number | null = null;

  constructor(private readonly options: ClusterOptions) {}

  get role(): ClusterRole {
    return this.lease?.held ? 'sequencer' : 'follower';
  }

  start(): void {
    this.loop ??= this.run();
  }

  async status(): Promise<object> {
    let pending: number | null = null;
    try {
      pending = await this.options.queue.pendingCount();
    } catch {
      pending = null;
    }
    return {
      role: this.role,
      pending,
      sequenced: this.sequencedTotal,
      ...(this.becameSequencerAt === null
        ? {}
        : { sequencer_since: new Date(this.becameSequencerAt).toISOString() }),
      ...(this.lastError === null ? {} : { last_error: this.lastError }),
    };
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.lease?.release();
    this.lease = null;
  }

  private emit(level: 'info' | 'warn' | 'error', message: string, fields: object = {}): void {
    this.options.onEvent?.(level, message, fields);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const o = this.options;
    const clock = o.monotonicMs ?? (() => performance.now());
    let nextLeaseTry = -Infinity;
    let nextRefresh = -Infinity;
    while (!this.stopped) {
      const now = clock();
      if (this.lease && !this.lease.held) {
        this.emit('warn', 'sequencer lease lost; following', {});
        this.lease = null;
        this.becameSequencerAt = null;
      }
      if (!this.lease && now >= nextLeaseTry) {
        nextLeaseTry = now + (o.leaseRetryMs ?? 500);
        await this.tryTakeLease();
      }
      if (this.lease) {
        const moved = await this.sequenceOnce();
        if (now >= nextRefresh) {
          nextRefresh = now + (o.refreshMs ?? 250);
          await this.syncCaches();
        }
        if (moved === 0) await this.sleep(o.sequenceIdleMs ?? 50);
        continue;
      }
      if (now >= nextRefresh) {
        nextRefresh = now + (o.refreshMs ?? 250);
        try {
          await o.log.refresh();
          this.lastError = null;
        } catch (e) {
          this.noteError('refresh', e);
        }
        await this.syncCaches();
      }
      await this.sleep(Math.min(o.refreshMs ?? 250, o.leaseRetryMs ?? 500));
    }
  }

  private async tryTakeLease(): Promise<void> {
    try {
      const lease = await this.options.leases.tryAcquire((reason) => {
        this.emit('warn', 'sequencer lease lost', { reason });
        this.wake?.();
      });
      if (!lease) return;
      if (this.stopped) {
        await lease.release();
        return;
      }
      this.lease = lease;
      this.becameSequencerAt = Date.now(); // shown in health only: wall time is right here
      // Start from the tree as stored, whatever the previous holder managed to commit.
      await this.options.log.refresh().catch((e: unknown) => this.noteError('refresh', e));
      this.emit('info', 'this collector is now the sequencer', { size: this.options.log.size });
    } catch (e) {
      this.noteError('lease', e);
    }
  }

  /** Drains one batch; returns how many entries left the queue (0 when empty or failed). */
  private async sequenceOnce(): Promise<number> {
    try {
      const n = await this.options.log.sequencePending();
      this.sequencedTotal += n;
      this.lastError = null;
      return n;
    } catch (e) {
      this.noteError('sequence', e);
      return 0;
    }
  }

  private async syncCaches(): Promise<void> {
    if (!this.options.sync) return;
    try {
      await this.options.sync();
    } catch (e) {
      this.noteError('sync', e);
    }
  }

  private noteError(what: string, e: unknown): void {
    const message = `${what}: ${(e as Error).message}`;
    if (message !== this.lastError) this.emit('warn', `cluster ${what} failed`, { error: message });
    this.lastError = message;
  }
}
