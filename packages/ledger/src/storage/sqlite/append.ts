import type Database from 'better-sqlite3';
import {
  StorageError,
  checkLeafIndices,
  checkTileWrites,
  checkpointConflict,
  noQueue,
} from '../errors.js';
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
  /** (level, index, from, hash count) per tile write (see TileWrite). */
  readonly tiles: readonly number[];
  /** The tile writes' hashes, 32 bytes each, one write after the other. */
  readonly tileHashes: Uint8Array;
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
  // A new tile, or hashes added to the partial one (only if it holds exactly `from` hashes).
  // `||` of two blobs is text in SQLite: CAST back to BLOB keeps the bytes.
  insertTile: 'INSERT INTO tiles (level, idx, hashes) VALUES (?, ?, ?)',
  extendTile:
    'UPDATE tiles SET hashes = CAST(hashes || ? AS BLOB) WHERE level = ? AND idx = ? AND length(hashes) = ?',
  tileWidth: 'SELECT length(hashes) / 32 AS n FROM tiles WHERE level = ? AND idx = ?',
  insertCheckpoint:
    'INSERT INTO checkpoints (size, root_hash, note) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING',
  checkpointAt: 'SELECT note FROM checkpoints WHERE size = ?',
} as const;

export type AppendStatements = { readonly [K in keyof typeof APPEND_SQL]: Database.Statement };

/** A batch in the form `appendRows` takes; refuses what no driver may store (leaf gaps, a queue). */
export function toAppendRows(batch: AppendBatch, kind: string): AppendRows {
  if ((batch.dequeue?.length ?? 0) > 0 || (batch.sequenced?.length ?? 0) > 0) throw noQueue(kind);
  checkLeafIndices(batch);
  checkTileWrites(batch.tiles);
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
  const tiles = new Array<number>(4 * batch.tiles.length);
  let bytes = 0;
  for (const t of batch.tiles) bytes += t.hashes.length;
  const tileHashes = new Uint8Array(bytes);
  let at = 0;
  batch.tiles.forEach((t, i) => {
    tiles[4 * i] = t.level;
    tiles[4 * i + 1] = t.index;
    tiles[4 * i + 2] = t.from;
    tiles[4 * i + 3] = t.hashes.length / 32;
    tileHashes.set(t.hashes, at);
    at += t.hashes.length;
  });
  const c = batch.checkpoint;
  return {
    fromSize: batch.fromSize,
    ids,
    records,
    leafHashes,
    facets,
    tiles,
    tileHashes,
    checkpoint: { size: c.size, rootHash: c.rootHash, note: c.note },
  };
}

/**
 * The body of the append transaction (run inside `db.transaction`): the batch must start at the
 * stored size, every entry and the checkpoint are inserted, each tile write creates its tile or
 * extends the partial one holding exactly `from` hashes, and a checkpoint already stored at that
 * size must be the same bytes (write-once).
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
  for (let i = 0, at = 0; i < b.tiles.length; i += 4) {
    const [level, idx, from, count] = [
      b.tiles[i]!,
      b.tiles[i + 1]!,
      b.tiles[i + 2]!,
      b.tiles[i + 3]!,
    ];
    const hashes = b.tileHashes.subarray(at, at + 32 * count);
    at += 32 * count;
    const done =
      from === 0
        ? s.tileWidth.get(level, idx) === undefined && s.insertTile.run(level, idx, hashes).changes
        : s.extendTile.run(hashes, level, idx, 32 * from).changes;
    if (done !== 1) {
      const held = (s.tileWidth.get(level, idx) as { n: number } | undefined)?.n ?? 0;
      throw refuse(
        'storage_conflict',
        `Tile ${level}/${idx} holds ${held} hashes; the batch adds hashes from position ${from}.`,
      );
    }
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
