import type pg from 'pg';
import { StorageError } from '../errors.js';
import type {
  EnqueueOutcome,
  EntryIndexFields,
  PendingEntry,
  PendingLeaf,
  QueuedEntry,
} from '../port.js';
import { toBuffer } from './pool.js';
import { FACET_COLUMNS, LOCK_APPEND } from './schema.js';

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
  type: string;
  time_us: number;
  initiator: string | null;
  actor: string | null;
  task_id: string | null;
  trace_id: string | null;
  level: string;
  cov_flags: number | null;
  cov_lifetime: number | null;
  cov_instance: string | null;
  action_name: string | null;
  resource: string | null;
  outcome: string | null;
  received_us: number;
}

const PENDING_COLUMNS = `seq, id, record, leaf_hash, ${FACET_COLUMNS}, received_us`;
export const READ_PENDING = `SELECT ${PENDING_COLUMNS} FROM ledger_pending ORDER BY seq LIMIT $1`;
export const GET_QUEUED = `SELECT ${PENDING_COLUMNS} FROM ledger_pending WHERE id = $1`;
export const PENDING_COUNT = 'SELECT count(*)::bigint AS n FROM ledger_pending';
/**
 * What the sequencer reads: seq and leaf hash of the oldest rows, and the log's entry of the same
 * id (a row queued beside a direct append of that id), never the bytes.
 */
export const READ_PENDING_LEAVES = `SELECT p.seq, p.leaf_hash, e.leaf_index AS logged_index,
  e.leaf_hash AS logged_hash FROM ledger_pending p LEFT JOIN ledger_entries e ON e.id = p.id
  ORDER BY p.seq LIMIT $1`;

export interface PendingLeafRow {
  seq: number;
  leaf_hash: Buffer;
  logged_index: number | null;
  logged_hash: Buffer | null;
}

export function toPendingLeaf(r: PendingLeafRow): PendingLeaf {
  return {
    seq: r.seq,
    leafHash: r.leaf_hash,
    logged:
      r.logged_index === null ? null : { leafIndex: r.logged_index, leafHash: r.logged_hash! },
  };
}

/**
 * The statement that moves queued rows into the log (`AppendBatch.sequenced`): $1 seqs, $2
 * their leaf indices, $3 the leaf hashes the sequencer integrated. A row whose hash differs is
 * not copied (the caller compares the row count).
 */
export const MOVE_PENDING = `INSERT INTO ledger_entries (leaf_index, id, record, leaf_hash, ${FACET_COLUMNS})
  SELECT v.leaf_index, p.id, p.record, p.leaf_hash, ${prefixed('p', FACET_COLUMNS)}
  FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) AS v(seq, leaf_index, leaf_hash)
  JOIN ledger_pending p ON p.seq = v.seq AND p.leaf_hash = v.leaf_hash`;

function prefixed(table: string, columns: string): string {
  return columns
    .split(',')
    .map((c) => `${table}.${c.trim()}`)
    .join(', ');
}

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
      `INSERT INTO ledger_pending (id, record, leaf_hash, ${FACET_COLUMNS}, received_us)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[],
           $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::integer[],
           $12::float8[], $13::text[], $14::text[], $15::text[], $16::text[], $17::bigint[])
         ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        fresh.map((e) => e.id),
        textArray(fresh.map((e) => e.canonical)),
        fresh.map((e) => toBuffer(e.leafHash)),
        ...facetArrays(fresh),
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
    seq: r.seq,
    id: r.id,
    canonical: r.record,
    leafHash: r.leaf_hash,
    type: r.type,
    timeUs: r.time_us,
    initiator: r.initiator,
    actor: r.actor,
    taskId: r.task_id,
    traceId: r.trace_id,
    level: r.level,
    // The optional facets only when set, as the entry was queued.
    ...(r.action_name === null ? {} : { actionName: r.action_name }),
    ...(r.resource === null ? {} : { resource: r.resource }),
    ...(r.outcome === null ? {} : { outcome: r.outcome }),
    ...(r.cov_flags === null
      ? {}
      : {
          coverage: {
            flags: r.cov_flags,
            lifetimeSec: r.cov_lifetime,
            instance: r.cov_instance,
          },
        }),
    receivedUs: r.received_us,
  };
}

/**
 * The index columns of entries as unnest arrays, in FACET_COLUMNS order (types text, bigint,
 * text × 5, integer, float8, text × 4). A resource is kept only beside an action name.
 */
export function facetArrays(es: readonly EntryIndexFields[]): unknown[][] {
  return [
    es.map((e) => e.type),
    es.map((e) => e.timeUs),
    es.map((e) => e.initiator),
    es.map((e) => e.actor),
    es.map((e) => e.taskId),
    es.map((e) => e.traceId),
    es.map((e) => e.level),
    es.map((e) => e.coverage?.flags ?? null),
    es.map((e) => e.coverage?.lifetimeSec ?? null),
    es.map((e) => e.coverage?.instance ?? null),
    es.map((e) => e.actionName ?? null),
    es.map((e) => ((e.actionName ?? null) === null ? null : (e.resource ?? null))),
    es.map((e) => e.outcome ?? null),
  ];
}

// Characters JSON.stringify would write differently from a PostgreSQL array literal's quoting
// (controls, as JSON escapes) or could not write as they are (lone surrogates).
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const NOT_AS_JSON = /[\u0000-\u001f\ud800-\udfff]/;

/**
 * A PostgreSQL `text[]` literal of `values`, passed as one string parameter: node-pg escapes
 * each element of an array parameter with two regular-expression replaces, a twelfth of a
 * cluster member's CPU for ~1.1 KB records (issue 18 profile). Inside double quotes a literal
 * escapes only `"` and `\\`, as JSON.stringify does; canonical JSON has no raw control
 * characters, so its text goes through JSON.stringify, anything else through the replace.
 */
export function textArray(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0) out += ',';
    out += NOT_AS_JSON.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : JSON.stringify(v);
  }
  return out + '}';
}
