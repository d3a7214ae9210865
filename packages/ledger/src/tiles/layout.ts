import { MerkleError } from '../merkle/errors.js';
import { HASH_SIZE, hashAdjacent, hashChildren } from '../merkle/hash.js';
import { isSafeIndex, popCount } from '../merkle/int.js';
import type { Frontier } from '../merkle/append.js';
import type { NodeId } from '../merkle/node.js';
import { TILE_WIDTH } from './path.js';

// The Merkle tree as C2SP tlog-tiles lays it out (https://c2sp.org/tlog-tiles, the revision of
// 2024-09): the tile at level L and index N holds the hashes of tree level 8L, nodes
// [256N, 256N + W), where W is 256 for a full tile and 1..255 for the partial tile on the right
// edge. Only every eighth level is kept; a node of the levels between is the hash of a perfect
// subtree of at most 128 hashes of the tile below it, computed when read. Storage keeps exactly
// these tiles: one row a tile, as served by the tile routes.

/** Tree levels a tile spans: tile level L holds tree level L * TILE_HEIGHT. */
export const TILE_HEIGHT = 8;

/**
 * A tile's inner levels, kept beside it: the tile at tile level `INNER_TILES + L` and index N
 * holds the nodes of tree levels 8L + 4 … 8L + 7 whose leaves tile L/N holds (16 + 8 + 4 + 2 =
 * 30 hashes when it is full), in the order the tree completes them (`innerPosition`), so a
 * proof reads a node of those levels instead of hashing up to 127 hashes of the tile below.
 * Levels 64 and up are no C2SP tile path (those name 0..63): the tile routes never serve them.
 */
export const INNER_TILES = 64;
/** The lowest tile row an inner tile keeps: tree level 8L + INNER_FROM. */
export const INNER_FROM = 4;
/** Hashes in a full inner tile. */
export const INNER_WIDTH = 30;

/**
 * Where the node of tree level 8L + k (INNER_FROM <= k < 8) and index j within its tile (0 <= j
 * < 2^(8 - k)) is in the inner tile: the nodes completed before it are those of the tile's first
 * p = 2^k (j + 1) - 1 hashes, and at hash p the levels complete from INNER_FROM up.
 */
export function innerPosition(k: number, j: number): number {
  const p = 2 ** k * (j + 1) - 1;
  let before = 0;
  for (let r = INNER_FROM; r < TILE_HEIGHT; r++) before += Math.floor(p / 2 ** r);
  return before + (k - INNER_FROM);
}

/** A hash tile: tile level L (tree level 8L) and index N (nodes [256N, 256N + 256)). */
export interface TileId {
  readonly level: number;
  readonly index: number;
}

/**
 * Hashes an append adds to one tile: the tile held `from` hashes before it (0 for a new tile),
 * and `hashes` (32 bytes each) take positions `from`, `from + 1`, … A driver stores them only if
 * the tile holds exactly `from` hashes (else the batch is refused: it was built on another tree).
 */
export interface TileWrite extends TileId {
  readonly from: number;
  readonly hashes: Uint8Array;
}

/** The tile holding node `index` of tree level `treeLevel` (a multiple of TILE_HEIGHT). */
export function tileOf(treeLevel: number, index: number): TileId & { readonly offset: number } {
  const n = Math.floor(index / TILE_WIDTH);
  return { level: treeLevel / TILE_HEIGHT, index: n, offset: index - n * TILE_WIDTH };
}

interface OpenWrite {
  readonly level: number;
  readonly index: number;
  readonly from: number;
  readonly parts: Uint8Array[];
}

function closeWrite(w: OpenWrite): TileWrite {
  const hashes = new Uint8Array(w.parts.length * HASH_SIZE);
  for (let i = 0; i < w.parts.length; i++) hashes.set(w.parts[i]!, i * HASH_SIZE);
  return { level: w.level, index: w.index, from: w.from, hashes };
}

/**
 * Integrates leaf hashes into the tree whose frontier is given: the new frontier, and what the
 * append adds to the hash tiles (level 0: the leaf hashes themselves; level L: every node of tree
 * level 8L the append completes; level INNER_TILES + L: the nodes of tree levels 8L + 4 … 8L + 7
 * it completes), one write per tile touched, ordered by level then index. The
 * same hashing as `appendLeafHashes` (one `hashChildren` per completed node), without keeping
 * the nodes of the levels no tile stores.
 */
export function integrate(
  frontier: Frontier,
  leafHashes: readonly Uint8Array[],
): { frontier: Frontier; tiles: TileWrite[] } {
  let size = frontier.size;
  if (!isSafeIndex(size) || popCount(size) !== frontier.hashes.length) {
    throw new MerkleError(
      'bad_frontier',
      `A frontier of size ${String(size)} cannot have ${frontier.hashes.length} hashes.`,
    );
  }
  if (size + leafHashes.length > Number.MAX_SAFE_INTEGER) {
    throw new MerkleError('bad_size', 'The tree would grow beyond 2^53 - 1 leaves.');
  }
  const stack = frontier.hashes.slice();
  const open: (OpenWrite | undefined)[] = [];
  const done: TileWrite[][] = [];
  // Appends `hash` to the open write of tile `at`/`index`, first closing another one of that row
  // and opening this one at position `from`.
  const put = (at: number, index: number, from: number, hash: Uint8Array) => {
    let w = open[at];
    if (w === undefined || w.index !== index) {
      if (w !== undefined) (done[at] ??= []).push(closeWrite(w));
      w = { level: at, index, from, parts: [] };
      open[at] = w;
    }
    w.parts.push(hash);
  };
  const emit = (tileLevel: number, node: number, hash: Uint8Array) => {
    const index = Math.floor(node / TILE_WIDTH);
    put(tileLevel, index, node - index * TILE_WIDTH, hash);
  };
  // A node of tree level 8L + k (k >= INNER_FROM), index t: the inner tile of tile L/N.
  const emitInner = (level: number, t: number, hash: Uint8Array) => {
    const k = level % TILE_HEIGHT;
    const per = 2 ** (TILE_HEIGHT - k);
    const index = Math.floor(t / per);
    put(INNER_TILES + (level - k) / TILE_HEIGHT, index, innerPosition(k, t - index * per), hash);
  };
  for (let i = 0; i < leafHashes.length; i++) {
    let h = leafHashes[i]!;
    if (h.length !== HASH_SIZE) {
      throw new MerkleError('bad_hash_size', `Leaf hash ${i} is not ${HASH_SIZE} bytes.`);
    }
    emit(0, size, h);
    // Leaf `size` closes one subtree per trailing one bit of `size`.
    let t = size;
    let level = 0;
    while (t % 2 === 1) {
      h = hashChildren(stack.pop()!, h);
      t = (t - 1) / 2;
      level++;
      if (level % TILE_HEIGHT === 0) emit(level / TILE_HEIGHT, t, h);
      else if (level % TILE_HEIGHT >= INNER_FROM) emitInner(level, t, h);
    }
    stack.push(h);
    size++;
  }
  const tiles: TileWrite[] = [];
  for (let l = 0; l < open.length; l++) {
    for (const w of done[l] ?? []) tiles.push(w);
    const w = open[l];
    if (w !== undefined) tiles.push(closeWrite(w));
  }
  return { frontier: { size, hashes: stack }, tiles };
}

/**
 * Where a complete node's hash comes from: the tile holding its leftmost descendant at the tile
 * level below it, and the run of `width` (a power of two, at most 128) hashes there it is the
 * perfect subtree of.
 */
export function nodeSpan(node: NodeId): TileId & { readonly offset: number; width: number } {
  const base = Math.floor(node.level / TILE_HEIGHT) * TILE_HEIGHT;
  const width = 2 ** (node.level - base);
  const tile = tileOf(base, node.index * width);
  return { ...tile, width };
}

// Rows of a subtree being hashed (at most 64 hashes after the first step), reused: hashing is
// synchronous and the buffer never escapes.
const work = new Uint8Array((TILE_WIDTH / 2) * HASH_SIZE);

/**
 * The hash of the perfect subtree over hashes [offset, offset + width) of a tile's bytes
 * (`width` a power of two, at most 256): `width - 1` hashes, each row written over the one
 * below it in one reused buffer (one digest allocated a hash, nothing else). The caller checks
 * the tile holds them.
 */
export function subtreeOfTile(tile: Uint8Array, offset: number, width: number): Uint8Array {
  if (width === 1) return tile.slice(offset * HASH_SIZE, (offset + 1) * HASH_SIZE);
  let n = width / 2;
  for (let i = 0; i < n; i++) {
    work.set(hashAdjacent(tile, (offset + 2 * i) * HASH_SIZE), i * HASH_SIZE);
  }
  while (n > 1) {
    n /= 2;
    for (let i = 0; i < n; i++) work.set(hashAdjacent(work, 2 * i * HASH_SIZE), i * HASH_SIZE);
  }
  return work.slice(0, HASH_SIZE);
}

/**
 * The inner tile of a stored tile (hashes of tree level 8L, one after the other): the nodes of
 * tree levels 8L + 4 … 8L + 7 its hashes complete, in `innerPosition` order (what `integrate`
 * writes there as the tile grows). Empty for a tile of fewer than 16 hashes.
 */
export function innerOfTile(tile: Uint8Array): Uint8Array {
  const width = tile.length / HASH_SIZE;
  const out: Uint8Array[] = [];
  const stack: Uint8Array[] = [];
  for (let p = 0; p < width; p++) {
    let h = tile.subarray(p * HASH_SIZE, (p + 1) * HASH_SIZE);
    let n = p;
    let k = 0;
    while (n % 2 === 1) {
      h = hashChildren(stack.pop()!, h);
      n = (n - 1) / 2;
      k++;
      if (k >= INNER_FROM && k < TILE_HEIGHT) out.push(h);
    }
    stack.push(h);
  }
  const bytes = new Uint8Array(out.length * HASH_SIZE);
  out.forEach((h, i) => bytes.set(h, i * HASH_SIZE));
  return bytes;
}
