import pg from 'pg';
import { postgresWriteError } from './errors.js';
import { types } from './pool.js';
import { LOCK_SEQUENCER } from './schema.js';

export interface PostgresLeaseOptions {
  /** How often the holder checks that it still holds the lease, ms; default 1000. */
  readonly checkMs?: number;
  /** Called once when the lease is lost (connection dropped, server restarted). */
  readonly onLost?: (reason: string) => void;
  readonly connectTimeoutMs?: number;
}

/**
 * The sequencer lease (issue 8, several collectors): a session-level `pg_advisory_lock` on a
 * dedicated connection. PostgreSQL releases it when that session ends, so when the holder dies
 * (kill -9 closes its socket at once; a vanished host is found by the TCP keepalives set here,
 * within about 4 s) another contender gets it on its next try.
 *
 * The lease only decides who should sequence; it is not what keeps the log from forking. Every
 * append checks the stored size under a transaction lock and the leaf index and checkpoint size
 * are primary keys, so a deposed holder that has not noticed yet can only fail its appends.
 */
export class PostgresLease {
  private lost = false;
  private timer: NodeJS.Timeout | null = null;
  private released: Promise<void> | null = null;

  private constructor(
    private readonly client: pg.Client,
    private readonly options: PostgresLeaseOptions,
  ) {
    const onGone = (reason: string) => this.lose(reason);
    client.on('error', (e) => onGone(e.message));
    client.on('end', () => onGone('connection closed'));
    this.timer = setInterval(() => {
      client.query('SELECT 1').catch((e: Error) => onGone(e.message));
    }, options.checkMs ?? 1000);
    this.timer.unref();
  }

  /** Takes the lease if it is free; null when another session holds it. */
  static async tryAcquire(
    url: string,
    options: PostgresLeaseOptions = {},
  ): Promise<PostgresLease | null> {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      keepAlive: true,
      types,
    });
    client.on('error', () => {}); // until the lease listens
    try {
      await client.connect();
      // Let the server notice a vanished holder (TCP only; a Unix socket closes at once).
      await client.query(
        'SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 2',
      );
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS ok',
        [LOCK_SEQUENCER.toString()],
      );
      if (rows[0]?.ok !== true) {
        await client.end();
        return null;
      }
    } catch (e) {
      await client.end().catch(() => {});
      throw postgresWriteError(e, 'Cannot reach PostgreSQL for the sequencer lease.');
    }
    return new PostgresLease(client, options);
  }

  /** Waits until the lease is free and takes it, trying every `pollMs` (default 500). */
  static async acquire(
    url: string,
    options: PostgresLeaseOptions & { pollMs?: number; signal?: AbortSignal } = {},
  ): Promise<PostgresLease> {
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        const lease = await PostgresLease.tryAcquire(url, options);
        if (lease) return lease;
      } catch (e) {
        if (options.signal?.aborted) throw e;
        // PostgreSQL unreachable: keep trying.
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  }

  /** False once the lease is lost or released. */
  get held(): boolean {
    return !this.lost;
  }

  /** Gives the lease up (unlock, then close the session). */
  release(): Promise<void> {
    return (this.released ??= (async () => {
      const wasHeld = !this.lost;
      this.stop();
      if (wasHeld) {
        await this.client
          .query('SELECT pg_advisory_unlock($1)', [LOCK_SEQUENCER.toString()])
          .catch(() => {});
      }
      await this.client.end().catch(() => {});
    })());
  }

  private lose(reason: string): void {
    if (this.lost) return;
    this.stop();
    this.options.onLost?.(reason);
    void this.client.end().catch(() => {});
  }

  private stop(): void {
    this.lost = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
