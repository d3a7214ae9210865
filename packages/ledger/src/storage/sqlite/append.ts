import type Database from 'better-sqlite3';
import { StorageError, checkLeafIndices, checkpointConflict, noQueue } from '../errors.js';
import type { AppendBatch } from '../port.js';

/**
 * One append as the SQLite connection that writes receives it: column arrays instead of one
 * object per entry, and every hash in one buffer, so handing it to the writer worker
 * (./write-worker.ts) is a copy of a few arrays and one transfer rather than a structured clone
 * of thousands of objects. Entry `i` takes leaf `fromSize + i` (checked before it is built).
 */
export interface AppendRows {
  readonly fromSize: number;
  readonly ids: readonly string[];
  readonly records: readonly string[];
  /** Leaf hashes, 32 bytes each, entry order. */
  readonly leafHashes: Uint8Array;
  /** FACETS values per entry, entry order. */
  readonly facets: readonly (string | number | null)[];
  /** (level, index) per node. */
  readonly nodes: readonly number[];
  /** Node hashes, 32 bytes each, node order. */
  readonly nodeHashes: Uint8Array;
  readonly checkpoint: {
    readonly size: number;
    readonly rootHash: Uint8Array;
    readonly note: string;
  };
}

/** The index columns after (leaf_index, id, record, leaf_hash), in APPEND_SQL.insertEntry order. */
const FACETS = 13;

/** The statements of an append; prepared by whichever connection runs `appendRows`. */
export const APPEND_SQL = {
  size: 'SELECT max(leaf_index) AS n FROM entries',
  insertEntry: `INSERT INTO entries (leaf_index, id, record, leaf_hash, type, time_us, initiator, actor, task_id, trace_id, level, cov_flags, cov_lifetime, cov_instance, action_name, resource, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertNode: 'INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)',
  insertCheckpoint:
    'INSERT INTO checkpoints (size, root_hash, note) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING',
  checkpointAt: 'SELECT note FROM checkpoints WHERE size = ?',
} as const;

export type AppendStatements = { readonly [K in keyof typeof APPEND_SQL]: Database.Statement };

/** A batch in the form `appendRows` takes; refuses what no driver may store (leaf gaps, a queue). */
export function toAppendRows(batch: AppendBatch, kind: string): AppendRows {
  if ((batch.dequeue?.length ?? 0) > 0 || (batch.sequenced?.length ?? 0) > 0) throw noQueue(kind);
  checkLeafIndices(batch);
  const n = batch.entries.length;
  const ids = new Array<string>(n);
  const records = new Array<string>(n);
  const leafHashes = new Uint8Array(32 * n);
  const facets = new Array<string | number | null>(FACETS * n);
  let f = 0;
  for (let i = 0; i < n; i++) {
    const e = batch.entries[i]!;
    ids[i] = e.id;
    records[i] = e.canonical;
    leafHashes.set(e.leafHash, 32 * i);
    facets[f++] = e.type;
    facets[f++] = e.timeUs;
    facets[f++] = e.initiator;
    facets[f++] = e.actor;
    facets[f++] = e.taskId;
    facets[f++] = e.traceId;
    facets[f++] = e.level;
    facets[f++] = e.coverage?.flags ?? null;
    facets[f++] = e.coverage?.lifetimeSec ?? null;
    facets[f++] = e.coverage?.instance ?? null;
    const name = e.actionName ?? null;
    facets[f++] = name;
    facets[f++] = name === null ? null : (e.resource ?? null);
    facets[f++] = e.outcome ?? null;
  }
  const nodes = new Array<number>(2 * batch.nodes.length);
  const nodeHashes = new Uint8Array(32 * batch.nodes.length);
  batch.nodes.forEach((node, i) => {
    nodes[2 * i] = node.level;
    nodes[2 * i + 1] = node.index;
    nodeHashes.set(node.hash, 32 * i);
  });
  const c = batch.checkpoint;
  return {
    fromSize: batch.fromSize,
    ids,
    records,
    leafHashes,
    facets,
    nodes,
    nodeHashes,
    checkpoint: { size: c.size, rootHash: c.rootHash, note: c.note },
  };
}

/**
 * The body of the append transaction (run inside `db.transaction`): the batch must start at the
 * stored size, every entry, node and the checkpoint are inserted, and a checkpoint already stored
 * at that size must be the same bytes (write-once).
 *
 * It runs on the main thread (an in-memory file, or `writeWorker: false`) and in the writer
 * worker, which receives it as source text (`String(appendRows)`): it uses nothing but its
 * arguments and globals, and reports a refusal as an Error with `storageCode` (see
 * `appendRefusal`), since a StorageError does not cross the thread boundary.
 */
export function appendRows(s: AppendStatements, b: AppendRows): void {
  const refuse = (storageCode: string, message: string, size?: number) =>
    Object.assign(new Error(message), { storageCode, size });
  const stored = ((s.size.get() as { n: number | null } | undefined)?.n ?? -1) + 1;
  if (stored !== b.fromSize) {
    throw refuse(
      'storage_conflict',
      `Batch built on size ${b.fromSize} but the log has ${stored} entries.`,
    );
  }
  const width = 13; // FACETS (a constant of this file's module, not in scope in the worker)
  for (let i = 0, f = 0; i < b.ids.length; i++, f += width) {
    const v = b.facets;
    s.insertEntry.run(
      b.fromSize + i,
      b.ids[i],
      b.records[i],
      b.leafHashes.subarray(32 * i, 32 * i + 32),
      v[f],
      v[f + 1],
      v[f + 2],
      v[f + 3],
      v[f + 4],
      v[f + 5],
      v[f + 6],
      v[f + 7],
      v[f + 8],
      v[f + 9],
      v[f + 10],
      v[f + 11],
      v[f + 12],
    );
  }
  for (let i = 0; i < b.nodes.length; i += 2) {
    s.insertNode.run(b.nodes[i], b.nodes[i + 1], b.nodeHashes.subarray(16 * i, 16 * i + 32));
  }
  const c = b.checkpoint;
  if (s.insertCheckpoint.run(c.size, c.rootHash, c.note).changes === 0) {
    const note = (s.checkpointAt.get(c.size) as { note: string } | undefined)?.note;
    if (note !== c.note) throw refuse('storage_checkpoint_conflict', '', c.size);
  }
}

/** An error `appendRows` threw as a refusal, as the StorageError it stands for; else null. */
export function appendRefusal(e: {
  readonly storageCode?: unknown;
  readonly message?: unknown;
  readonly size?: unknown;
}): StorageError | null {
  if (e.storageCode === 'storage_checkpoint_conflict') return checkpointConflict(Number(e.size));
  if (e.storageCode === 'storage_conflict') {
    return new StorageError('storage_conflict', String(e.message));
  }
  return null;
}
