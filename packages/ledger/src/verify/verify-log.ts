import { ProvenantError } from '@provenant/core/errors';
import { hashLeaf, rootOfFrontier } from '../merkle/index.js';
import type { Frontier } from '../merkle/index.js';
import { openNote, parseCheckpoint } from '../note/index.js';
import type { Checkpoint, NoteVerifierKey } from '../note/index.js';
import { equalBytes } from '@provenant/core/vocabulary';
import type { LeafSource } from '../storage/port.js';
import { INNER_TILES, TILE_HEIGHT, integrate } from '../tiles/layout.js';
import type { TileId, TileWrite } from '../tiles/layout.js';
import { TILE_WIDTH } from '../tiles/path.js';

/** Why a log failed verification; `leafIndex` names the first bad leaf when it is known. */
export type LogVerificationCode =
  | 'bad_checkpoint_signature'
  | 'bad_checkpoint'
  | 'key_changed' // a known origin now presents another key
  | 'missing_entry' // a gap in the leaf sequence
  | 'leaf_hash_mismatch' // the record bytes do not hash to the leaf hash stored with them
  | 'subtree_mismatch' // leaves reordered or altered under a stored subtree hash
  | 'unsigned_entries' // entries beyond the signed checkpoint
  | 'log_truncated' // fewer entries than a signed or previously seen checkpoint
  | 'root_mismatch' // the recomputed root is not the signed one
  | 'inconsistent_with_known'; // the log forked from a checkpoint seen before

export class LogVerificationError extends ProvenantError {
  declare readonly code: LogVerificationCode;
  readonly leafIndex: number | undefined;
  constructor(code: LogVerificationCode, message: string, leafIndex?: number) {
    super(code, message, leafIndex === undefined ? undefined : { leafIndex });
    this.leafIndex = leafIndex;
  }
}

/** One entry as read back from storage or a tile: its leaf data and, if kept, its stored hash. */
export type { LeafSource };

/** A checkpoint the verifier saw earlier (from `~/.provenant/known/`). */
export interface KnownCheckpoint {
  readonly origin: string;
  readonly verifierKey: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

export interface VerifyLogInput {
  /** The latest signed checkpoint note of the log. */
  readonly checkpointNote: string;
  readonly verifier: NoteVerifierKey;
  readonly verifierKeyString: string;
  /** Entries in leaf order, in chunks; the verifier never holds more than one chunk. */
  readonly chunks: AsyncIterable<readonly LeafSource[]> | Iterable<readonly LeafSource[]>;
  /**
   * Stored hashes of complete subtrees at one tree level, indices [start, start + count), in
   * order, undefined where none is stored: what the recomputed tree is compared with, to
   * localise reordered leaves. Asked only for the levels hash tiles hold (0: the leaf hashes,
   * 8, 16, …); one call per tile and chunk keeps this to a range read, not a query per node.
   */
  readonly storedNodes?: (
    level: number,
    start: number,
    count: number,
  ) => readonly (Uint8Array | undefined)[] | Promise<readonly (Uint8Array | undefined)[]>;
  /**
   * Stored tiles by id (`LogStorage.getTiles`), null where none is: the inner tiles kept beside
   * each hash tile (../tiles/layout.ts INNER_TILES), which proofs read instead of hashing. Each
   * one stored must hold what the recomputed tree puts there; one missing (a ledger from
   * before them) is not a failure: proofs then hash the tile below.
   */
  readonly storedTiles?: (ids: readonly TileId[]) => Promise<readonly (Uint8Array | null)[]>;
  readonly known?: KnownCheckpoint | undefined;
  readonly onProgress?: (verified: number, total: number) => void;
}

export interface VerifiedLog {
  readonly checkpoint: Checkpoint;
}

/**
 * Recomputes every leaf hash and the tree root from the stored records, and checks them against
 * the signed checkpoint and against the last checkpoint this verifier saw. Throws
 * LogVerificationError naming the first bad leaf; trusts nothing the log says about itself.
 */
export async function verifyLog(input: VerifyLogInput): Promise<VerifiedLog> {
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(openNote(input.checkpointNote, [input.verifier]).text);
  } catch (e) {
    throw new LogVerificationError(
      'bad_checkpoint_signature',
      `The checkpoint is not validly signed by ${input.verifier.name}: ${(e as Error).message}`,
    );
  }
  if (checkpoint.rootHash.length !== 32 || checkpoint.origin !== input.verifier.name) {
    throw new LogVerificationError(
      'bad_checkpoint',
      'The checkpoint origin or root hash is malformed.',
    );
  }
  const known = input.known;
  if (known) {
    if (known.verifierKey !== input.verifierKeyString) {
      throw new LogVerificationError(
        'key_changed',
        `Log ${known.origin} was last seen with key ${known.verifierKey}; now it presents ${input.verifierKeyString}.`,
      );
    }
    if (checkpoint.size < known.size) {
      throw new LogVerificationError(
        'log_truncated',
        `The signed checkpoint has ${checkpoint.size} entries but ${known.size} were seen before.`,
        checkpoint.size,
      );
    }
  }

  let frontier: Frontier = { size: 0, hashes: [] };
  const checkKnownAt = (size: number, root: Uint8Array) => {
    if (known && size === known.size && !equalBytes(root, known.rootHash)) {
      throw new LogVerificationError(
        'inconsistent_with_known',
        `The first ${known.size} entries no longer hash to the root seen before: the log was rewritten.`,
      );
    }
  };
  if (known && known.size === 0) checkKnownAt(0, rootOfFrontier(frontier));

  for await (const chunk of input.chunks) {
    const leafHashes: Uint8Array[] = [];
    for (const entry of chunk) {
      const expected = frontier.size + leafHashes.length;
      if (entry.leafIndex !== expected) {
        throw new LogVerificationError(
          'missing_entry',
          `Leaf ${expected} is missing (the next stored entry is leaf ${entry.leafIndex}).`,
          expected,
        );
      }
      if (expected >= checkpoint.size) {
        throw new LogVerificationError(
          'unsigned_entries',
          `Leaf ${expected} and after are not covered by the signed checkpoint of size ${checkpoint.size}.`,
          expected,
        );
      }
      const leafHash = hashLeaf(entry.data);
      if (entry.storedLeafHash && !equalBytes(leafHash, entry.storedLeafHash)) {
        throw new LogVerificationError(
          'leaf_hash_mismatch',
          `Leaf ${expected}: the record's bytes do not hash to the leaf hash stored when it was appended (the record was edited).`,
          expected,
        );
      }
      leafHashes.push(leafHash);
      // Check a known size that falls inside this chunk exactly at its position.
      if (known && expected + 1 === known.size) {
        const partial = integrate(frontier, leafHashes);
        frontier = partial.frontier;
        await checkTiles(partial.tiles, input);
        leafHashes.length = 0;
        checkKnownAt(frontier.size, rootOfFrontier(frontier));
      }
    }
    if (leafHashes.length > 0) {
      const next = integrate(frontier, leafHashes);
      await checkTiles(next.tiles, input);
      frontier = next.frontier;
    }
    input.onProgress?.(frontier.size, checkpoint.size);
  }

  if (frontier.size < checkpoint.size) {
    throw new LogVerificationError(
      'log_truncated',
      `The signed checkpoint covers ${checkpoint.size} entries but only ${frontier.size} are stored; leaf ${frontier.size} is the first missing.`,
      frontier.size,
    );
  }
  const root = rootOfFrontier(frontier);
  if (!equalBytes(root, checkpoint.rootHash)) {
    throw new LogVerificationError(
      'root_mismatch',
      `The ${frontier.size} stored entries do not hash to the signed root: entries were altered, reordered or replaced.`,
    );
  }
  return { checkpoint };
}

/**
 * Compares what the recomputed tree adds to each hash tile with the stored hashes there; throws
 * for the finest mismatching node (lowest level, then lowest index: the writes come in that
 * order), which localises best.
 */
async function checkTiles(
  tiles: readonly TileWrite[],
  { storedNodes, storedTiles }: Pick<VerifyLogInput, 'storedNodes' | 'storedTiles'>,
): Promise<void> {
  if (!storedNodes) return;
  const inner = tiles.filter((t) => t.level >= INNER_TILES);
  const held = storedTiles && inner.length > 0 ? await storedTiles(inner) : [];
  for (const t of tiles) {
    if (t.level >= INNER_TILES) {
      checkInner(t, held[inner.indexOf(t)] ?? null);
      continue;
    }
    const level = t.level * TILE_HEIGHT;
    const start = t.index * TILE_WIDTH + t.from;
    const count = t.hashes.length / 32;
    const stored = await storedNodes(level, start, count);
    for (let i = 0; i < count; i++) {
      const s = stored[i];
      if (s && !equalBytes(s, t.hashes.subarray(32 * i, 32 * i + 32))) {
        const first = (start + i) * 2 ** level;
        const last = first + 2 ** level - 1;
        throw new LogVerificationError(
          'subtree_mismatch',
          level === 0
            ? `Leaf ${first} no longer hashes to the leaf hash the tree stored when it was appended (records reordered, swapped or altered).`
            : `Leaves ${first}..${last} no longer hash to the subtree hash stored when they were appended (records reordered, swapped or altered).`,
          first,
        );
      }
    }
  }
}

/** An inner tile's stored hashes at the positions the write fills must be the write's. */
function checkInner(t: TileWrite, stored: Uint8Array | null): void {
  if (stored === null) return;
  const end = Math.min(stored.length, t.from * 32 + t.hashes.length);
  if (end <= t.from * 32) return;
  if (equalBytes(stored.subarray(t.from * 32, end), t.hashes.subarray(0, end - t.from * 32)))
    return;
  const level = (t.level - INNER_TILES) * TILE_HEIGHT;
  const first = t.index * TILE_WIDTH * 2 ** level;
  const last = first + TILE_WIDTH * 2 ** level - 1;
  throw new LogVerificationError(
    'subtree_mismatch',
    `Leaves ${first}..${last} no longer hash to the inner subtree hashes stored beside their tile ${level / TILE_HEIGHT}/${t.index} (records or stored hashes altered).`,
    first,
  );
}
