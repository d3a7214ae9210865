import type pg from 'pg';
import { StorageError } from '../errors.js';
import type { EnqueueOutcome, PendingEntry, QueuedEntry } from '../port.js';
import { toBuffer } from './pool.js';
import { LOCK_APPEND } from './schema.js';

/**
 * The ingest queue (IngestQueue) of the PostgreSQL driver: table ledger_pending, checked against
 * ledger_entries under the append lock taken shared, so collectors enqueue side by side while
 * the sequencer's append waits for them (and they for it).
 */

export interface PendingRow {
  seq: number;
  id: string;
  record: string;
  leaf_hash: Buffer;
  fields: string;
  received_us: number;
}

const PENDING_COLUMNS = 'seq, id, record, leaf_hash, fields, received_us';
export const READ_PENDING = `SELECT ${PENDING_COLUMNS} FROM ledger_pending ORDER BY seq LIMIT $1`;
export const GET_QUEUED = `SELECT ${PENDING_COLUMNS} FROM ledger_pending WHERE id = $1`;
export const PENDING_COUNT = 'SELECT count(*)::bigint AS n FROM ledger_pending';

/** Enqueues in one transaction on `client` (the caller rolls back and releases on failure). */
export async function enqueueInTransaction(
  client: pg.PoolClient,
  entries: readonly PendingEntry[],
  forceSyncCommit: boolean,
): Promise<EnqueueOutcome[]> {
  await client.query('BEGIN');
  if (forceSyncCommit) await client.query('SET LOCAL synchronous_commit = on');
  // Shared with other collectors, exclusive with the sequencer's append: an id checked
  // against the log below cannot be sequenced (and leave the queue) before this commits.
  await client.query('SELECT pg_advisory_xact_lock_shared($1)', [LOCK_APPEND.toString()]);
  const ids = entries.map((e) => e.id);
  const logged = await client.query<{ id: string; leaf_index: number; leaf_hash: Buffer }>(
    'SELECT id, leaf_index, leaf_hash FROM ledger_entries WHERE id = ANY($1::text[])',
    [ids],
  );
  const inLog = new Map(logged.rows.map((r) => [r.id, r]));
  const queued = await client.query<{ id: string; leaf_hash: Buffer; received_us: number }>(
    'SELECT id, leaf_hash, received_us FROM ledger_pending WHERE id = ANY($1::text[])',
    [ids],
  );
  const inQueue = new Map<string, { leaf_hash: Uint8Array; received_us: number }>(
    queued.rows.map((r) => [r.id, r]),
  );
  const outcomes: (EnqueueOutcome | null)[] = [];
  const fresh: PendingEntry[] = [];
  for (const e of entries) {
    const l = inLog.get(e.id);
    const q = inQueue.get(e.id);
    if (l) {
      outcomes.push({ status: 'logged', leafIndex: l.leaf_index, leafHash: l.leaf_hash });
    } else if (q) {
      outcomes.push({ status: 'already_queued', leafHash: q.leaf_hash, receivedUs: q.received_us });
    } else {
      outcomes.push(null);
      fresh.push(e);
      inQueue.set(e.id, { leaf_hash: e.leafHash, received_us: e.receivedUs });
    }
  }
  let inserted = new Set<string>();
  if (fresh.length > 0) {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO ledger_pending (id, record, leaf_hash, fields, received_us)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[])
         ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        fresh.map((e) => e.id),
        fresh.map((e) => e.canonical),
        fresh.map((e) => toBuffer(e.leafHash)),
        fresh.map(indexFieldsJson),
        fresh.map((e) => e.receivedUs),
      ],
    );
    inserted = new Set(rows.map((r) => r.id));
  }
  // Ids another collector queued while this transaction ran.
  const raced = fresh.filter((e) => !inserted.has(e.id)).map((e) => e.id);
  const winners = new Map<string, { leaf_hash: Buffer; received_us: number }>();
  if (raced.length > 0) {
    const { rows } = await client.query<{ id: string; leaf_hash: Buffer; received_us: number }>(
      'SELECT id, leaf_hash, received_us FROM ledger_pending WHERE id = ANY($1::text[])',
      [raced],
    );
    for (const r of rows) winners.set(r.id, r);
  }
  await client.query('COMMIT');
  return entries.map((e, i): EnqueueOutcome => {
    const decided = outcomes[i];
    if (decided) return decided;
    // (fresh holds each id once: later copies in this batch were decided above)
    if (inserted.has(e.id)) return { status: 'queued', receivedUs: e.receivedUs };
    const w = winners.get(e.id);
    if (!w) {
      // ON CONFLICT saw a row that is gone now: only a sequencer could take it, and it waits
      // for this transaction's lock. Refuse rather than guess; the client retries.
      throw new StorageError('storage_conflict', `Queued entry ${e.id} vanished while enqueueing.`);
    }
    return { status: 'already_queued', leafHash: w.leaf_hash, receivedUs: w.received_us };
  });
}

export function toQueued(r: PendingRow): QueuedEntry {
  return {
    ...(JSON.parse(r.fields) as Omit<
      QueuedEntry,
      'seq' | 'id' | 'canonical' | 'leafHash' | 'receivedUs'
    >),
    seq: r.seq,
    id: r.id,
    canonical: r.record,
    leafHash: r.leaf_hash,
    receivedUs: r.received_us,
  };
}

/** The index columns of a queued entry (everything but id, bytes, hash and receive time). */
function indexFieldsJson(e: PendingEntry): string {
  const { id: _id, canonical: _c, leafHash: _h, receivedUs: _r, ...fields } = e;
  return JSON.stringify(fields);
}
