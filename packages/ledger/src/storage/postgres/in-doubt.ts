import type pg from 'pg';
import { StorageError } from '../errors.js';
import type { AppendBatch } from '../port.js';
import { withClient } from './pool.js';
import { LOCK_APPEND } from './schema.js';

/**
 * After a COMMIT whose answer was lost: resolves if the batch is stored (its checkpoint note is
 * there), throws storage_unavailable if it is not; keeps asking for `inDoubtMs` while the
 * server is unreachable, then throws storage_unavailable with `outcome: 'unknown'`.
 */
export async function resolveInDoubt(
  pool: pg.Pool,
  batch: AppendBatch,
  cause: Error,
  inDoubtMs: number,
  closed: () => boolean,
): Promise<void> {
  // Monotonic: a wall clock stepping back or forth must not stretch or cut the wait.
  const deadline = performance.now() + inDoubtMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      // Under the append lock: a transaction still in flight on the lost connection ends
      // (commits or aborts) before this reads, so "not there" means never there.
      const note = await withClient(pool, async (client) => {
        await client.query('BEGIN');
        await client.query("SET LOCAL lock_timeout = '5s'");
        await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_APPEND.toString()]);
        const { rows } = await client.query<{ note: string }>(
          'SELECT note FROM ledger_checkpoints WHERE size = $1',
          [batch.checkpoint.size],
        );
        await client.query('COMMIT');
        return rows[0]?.note;
      });
      if (note === batch.checkpoint.note) return;
      throw new StorageError('storage_unavailable', 'The PostgreSQL ledger lost the write.', {
        cause: cause.message,
        outcome: 'not_stored',
      });
    } catch (e) {
      if (e instanceof StorageError) throw e;
    }
    if (closed() || performance.now() + wait > deadline) {
      throw new StorageError(
        'storage_unavailable',
        'The PostgreSQL ledger did not confirm the write, and cannot be asked whether it landed.',
        { cause: cause.message, outcome: 'unknown' },
      );
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}
