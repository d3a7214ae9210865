import { HASH_SIZE } from '../merkle/hash.js';
import type { NodeId } from '../merkle/node.js';
import { StorageError } from '../storage/errors.js';
import type { LogStorage } from '../storage/port.js';
import {
  INNER_FROM,
  INNER_TILES,
  INNER_WIDTH,
  TILE_HEIGHT,
  innerPosition,
  nodeSpan,
  subtreeOfTile,
} from './layout.js';
import type { TileId } from './layout.js';
import { TILE_WIDTH } from './path.js';

/** What reads the tree: the stored hash tiles. */
export type TileReader = Pick<LogStorage, 'getTiles'>;

/**
 * Full tiles above level 0 and their full inner tiles, as stored (bytes, no JS object per hash),
 * by `level/index`, least recently used first out: a full tile never changes (tiles only
 * grow), so an entry is never stale. There are n / 65,536 such tiles (153 at 10,000,000
 * entries, 8 KiB each and 960 B for the inner one), every proof reads one of each level above
 * 0, and level-0 tiles (n / 256, a proof of a random leaf rarely meets one twice) are never
 * kept. Used by the proof paths (`Log`), never by the sequencer's checks of the stored tree,
 * which read what is stored.
 */
export class TileTreeCache {
  private readonly map = new Map<string, Uint8Array>();
  constructor(private readonly max = 1024) {}

  get(key: string): Uint8Array | undefined {
    const tile = this.map.get(key);
    if (tile) {
      this.map.delete(key);
      this.map.set(key, tile);
    }
    return tile;
  }

  set(key: string, tile: Uint8Array): void {
    this.map.set(key, tile);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

/** Whether a tile read is kept: full, above level 0 (and not level 0's inner tiles). */
function keeps(id: TileId, tile: Uint8Array): boolean {
  if (id.level === 0 || id.level === INNER_TILES) return false;
  return tile.length === (id.level >= INNER_TILES ? INNER_WIDTH : TILE_WIDTH) * HASH_SIZE;
}

/**
 * The hashes of complete nodes (any level; level 0 = leaf hashes), computed from the stored
 * tiles: the tiles needed read in one `getTiles` call. A node of tree level 8L + 4 … 8L + 7 is
 * read from the tile's inner tile (layout.ts INNER_TILES) when that holds it; any other is the
 * perfect subtree of 2^k hashes of its tile (k < 4: at most 7 hashes), so one leaf's path in a
 * full tile hashes 0 + 1 + 3 + 7 = 11 hashes instead of 247. A ledger without inner tiles (one
 * from before them, opened read-only) has each node hashed from its tile (at most 127 hashes).
 * A node whose hashes no tile holds is `storage_corrupt`. What proofs, roots and the
 * sequencer's frontier read: O(log n) tiles. With a `cache`, full tiles above level 0 are kept
 * and not read again.
 */
export async function readNodes(
  storage: TileReader,
  nodes: readonly NodeId[],
  cache?: TileTreeCache,
): Promise<Uint8Array[]> {
  if (nodes.length === 0) return [];
  const spans = nodes.map(nodeSpan);
  const ids: TileId[] = [];
  const slot = new Map<string, number>();
  const slotOf = (level: number, index: number): number => {
    const key = `${level}/${index}`;
    let i = slot.get(key);
    if (i === undefined) {
      i = ids.length;
      slot.set(key, i);
      ids.push({ level, index });
    }
    return i;
  };
  // The inner tile for the nodes it may hold; the tile itself for the others, and for when the
  // inner tile does not hold one (a ledger from before them).
  const inner = spans.map((s) =>
    s.width >= 2 ** INNER_FROM ? slotOf(INNER_TILES + s.level, s.index) : -1,
  );
  const base = spans.map((s) => slotOf(s.level, s.index));
  const tiles = new Array<Uint8Array | null>(ids.length).fill(null);
  const missing: number[] = [];
  ids.forEach((id, i) => {
    const kept = cache?.get(`${id.level}/${id.index}`);
    if (kept) tiles[i] = kept;
    else missing.push(i);
  });
  if (missing.length > 0) {
    const read = await storage.getTiles(missing.map((i) => ids[i]!));
    missing.forEach((i, k) => {
      const tile = read[k] ?? null;
      tiles[i] = tile;
      const id = ids[i]!;
      if (cache && tile && keeps(id, tile)) cache.set(`${id.level}/${id.index}`, tile);
    });
  }
  return spans.map((s, i) => {
    const innerTile = inner[i]! === -1 ? null : tiles[inner[i]!];
    if (innerTile) {
      const pos = innerPosition(Math.log2(s.width), s.offset / s.width);
      if (innerTile.length >= (pos + 1) * HASH_SIZE) {
        return innerTile.slice(pos * HASH_SIZE, (pos + 1) * HASH_SIZE);
      }
    }
    const tile = tiles[base[i]!];
    if (!tile || tile.length < (s.offset + s.width) * HASH_SIZE) {
      const n = nodes[i]!;
      throw new StorageError(
        'storage_corrupt',
        `No stored hash for node ${n.level}/${n.index} (tile ${s.level}/${s.index}).`,
      );
    }
    return subtreeOfTile(tile, s.offset, s.width);
  });
}

/**
 * Stored hashes of tree level `level` (a multiple of TILE_HEIGHT), nodes [start, start + count),
 * undefined where no tile holds one: what offline verification compares its recomputed tree
 * with. Reads the tiles the range spans in one call.
 */
export async function readLevelRange(
  storage: TileReader,
  level: number,
  start: number,
  count: number,
): Promise<(Uint8Array | undefined)[]> {
  const out = new Array<Uint8Array | undefined>(count).fill(undefined);
  if (count <= 0 || level % TILE_HEIGHT !== 0) return out;
  const first = Math.floor(start / TILE_WIDTH);
  const last = Math.floor((start + count - 1) / TILE_WIDTH);
  const ids: TileId[] = [];
  for (let n = first; n <= last; n++) ids.push({ level: level / TILE_HEIGHT, index: n });
  const tiles = await storage.getTiles(ids);
  tiles.forEach((tile, t) => {
    if (!tile) return;
    const base = (first + t) * TILE_WIDTH;
    const from = Math.max(start, base);
    const to = Math.min(start + count, base + tile.length / HASH_SIZE);
    for (let i = from; i < to; i++) {
      out[i - start] = tile.subarray((i - base) * HASH_SIZE, (i - base + 1) * HASH_SIZE);
    }
  });
  return out;
}
