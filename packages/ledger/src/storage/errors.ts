import { ProvenantError } from '@provenant/core/errors';

export type StorageErrorCode =
  | 'storage_conflict' // the batch was built on another size than the stored one
  | 'storage_corrupt' // stored data is missing or contradicts itself
  | 'storage_unavailable'
  | 'storage_full' // the disk (or file system quota) has no room for the write; nothing was stored
  | 'storage_read_only'
  | 'storage_checkpoint_conflict' // a checkpoint of that size is stored with other bytes (write-once)
  | 'storage_no_queue'; // a batch takes rows out of an ingest queue the driver does not have

export class StorageError extends ProvenantError {
  declare readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** A second checkpoint of one size with other bytes: a driver keeps the first, always. */
export function checkpointConflict(size: number): StorageError {
  return new StorageError(
    'storage_checkpoint_conflict',
    `A checkpoint of size ${size} is already stored with other bytes; checkpoints are write-once.`,
    { size },
  );
}

/** A batch that takes rows out of an ingest queue, given to a driver without one. */
export function noQueue(kind: string): StorageError {
  return new StorageError(
    'storage_no_queue',
    `The ${kind} storage has no ingest queue; a batch cannot take entries out of one.`,
  );
}

/** Entries must take the leaves fromSize, fromSize + 1, … in order: a gap would be a fork. */
export function checkLeafIndices(batch: {
  readonly fromSize: number;
  readonly entries: readonly { readonly leafIndex: number; readonly id: string }[];
  readonly sequenced?: readonly { readonly leafIndex: number; readonly seq: number }[];
}): void {
  batch.entries.forEach((e, i) => {
    if (e.leafIndex !== batch.fromSize + i) {
      throw new StorageError(
        'storage_conflict',
        `Entry ${e.id} cannot take leaf ${e.leafIndex}; the batch starts at ${batch.fromSize}.`,
      );
    }
  });
  const after = batch.fromSize + batch.entries.length;
  batch.sequenced?.forEach((q, i) => {
    if (q.leafIndex !== after + i) {
      throw new StorageError(
        'storage_conflict',
        `Queued entry ${q.seq} cannot take leaf ${q.leafIndex}; it follows leaf ${after + i - 1}.`,
      );
    }
  });
}

/**
 * Tile writes must be well formed: whole hashes, from a position inside the tile, not past its
 * 256th hash (30th for an inner tile, ../tiles/layout.ts INNER_TILES). (Whether a tile holds exactly `from` hashes each driver checks in its transaction.)
 */
export function checkTileWrites(
  tiles: readonly {
    readonly level: number;
    readonly index: number;
    readonly from: number;
    readonly hashes: Uint8Array;
  }[],
): void {
  for (const t of tiles) {
    const n = t.hashes.length / 32;
    // Levels 0..63: C2SP hash tiles (256 hashes); 64..127: their inner tiles (30 hashes).
    const width = t.level >= 64 ? 30 : 256;
    if (
      !Number.isSafeInteger(t.level) ||
      t.level < 0 ||
      t.level > 127 ||
      !Number.isSafeInteger(t.index) ||
      t.index < 0 ||
      !Number.isInteger(t.from) ||
      t.from < 0 ||
      !Number.isInteger(n) ||
      n < 1 ||
      t.from + n > width
    ) {
      throw new StorageError(
        'storage_conflict',
        `Tile ${t.level}/${t.index}: cannot add ${t.hashes.length} bytes of hashes at position ${t.from}.`,
      );
    }
  }
}

/** A tile write that does not continue the stored tile: the batch was built on another tree. */
export function tileConflict(
  t: { readonly level: number; readonly index: number; readonly from: number },
  stored: number,
): StorageError {
  return new StorageError(
    'storage_conflict',
    `Tile ${t.level}/${t.index} holds ${stored} hashes; the batch adds hashes from position ${t.from}.`,
  );
}
