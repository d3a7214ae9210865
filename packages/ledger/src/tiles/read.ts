import { HASH_SIZE, hashChildren } from '../merkle/hash.js';
import type { NodeId } from '../merkle/node.js';
import { StorageError } from '../storage/errors.js';
import type { LogStorage } from '../storage/port.js';
import {
  INNER_FROM,
  INNER_TILES,
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
 * Every level of computed tiles above level 0 (row k: the tile's nodes at tree level 8L + k), by
 * `level/index/width`, least recently used first out: n / 65,536 tiles, few enough to keep. A tile's hashes at a given width never
 * change (tiles only grow), so an entry is never stale; a full tile's (width 256) is found
 * without reading the tile again. Used by the proof paths (`Log`), never by the sequencer's
 * checks of the stored tree, which read what is stored.
 */
export class TileTreeCache {
  private readonly map = new Map<string, Uint8Array[][]>();
  constructor(private readonly max = 512) {}

  get(key: string): Uint8Array[][] | undefined {
    const rows = this.map.get(key);
    if (rows) {
      this.map.delete(key);
      this.map.set(key, rows);
    }
    return rows;
  }

  set(key: string, rows: Uint8Array[][]): void {
    this.map.set(key, rows);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

/** Every level of a tile from its bottom row: 255 hashes for a full tile. */
function tileRows(tile: Uint8Array): Uint8Array[][] {
  const bottom: Uint8Array[] = [];
  for (let i = 0; i < tile.length / HASH_SIZE; i++) {
    bottom.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  }
  const rows = [bottom];
  for (let k = 1; k < TILE_HEIGHT; k++) {
    const below = rows[k - 1]!;
    const row: Uint8Array[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) row.push(hashChildren(below[i]!, below[i + 1]!));
    rows.push(row);
  }
  return rows;
}

/**
 * The hashes of complete nodes (any level; level 0 = leaf hashes), computed from the stored
 * tiles: each tile read once (one `getTiles` call), each node the subtree of at most 128 hashes
 * of its tile. A node whose hashes no tile holds is `storage_corrupt`. What proofs, roots and the
 * sequencer's frontier read: O(log n) tiles and at most 255 hashes a tile level. A node of tree
 * level 8L + 4 … 8L + 7 is read from the tile's inner tile (layout.ts INNER_TILES) when that
 * holds it, so one leaf's path in a full level-0 tile hashes 0 + 1 + 3 + 7 = 11 hashes instead of
 * 247. With a `cache`, each tile's levels above level 0 are computed once and kept (a full one is
 * then not read again); a level-0 tile is read each time.
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
  const full = new Map<string, Uint8Array[][]>();
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
  // A node of tree level 8L + k, k >= INNER_FROM, is read from the tile's inner tile when that
  // holds it (level 0, or any level without a cache); the tile itself is read too, in the same
  // call, for when it does not (a ledger from before the inner tiles, or a partial tile).
  const inner = spans.map((s) =>
    s.width >= 2 ** INNER_FROM && (s.level === 0 || !cache)
      ? slotOf(INNER_TILES + s.level, s.index)
      : -1,
  );
  const slots = spans.map((s) => {
    const key = `${s.level}/${s.index}`;
    const rows = s.level === 0 ? undefined : cache?.get(`${key}/${TILE_WIDTH}`);
    if (rows) {
      full.set(key, rows);
      return -1;
    }
    return slotOf(s.level, s.index);
  });
  const tiles = ids.length === 0 ? [] : await storage.getTiles(ids);
  const computed = new Map<number, Uint8Array[][]>();
  const rowsOf = (i: number): Uint8Array[][] | undefined => {
    // Level-0 tiles are not cached: there are n / 256 of them and a proof of a random leaf
    // rarely meets one twice, so caching them only evicted the few tiles above (each of which
    // every proof reads) and kept 255 hashes a tile alive for the collector's lifetime. A
    // level-0 node is hashed from the tile as read: the siblings of one leaf's path are
    // 1 + 3 + … + 127 = 247 hashes, no more than computing the whole tile (255).
    if (!cache || ids[i]!.level === 0) return undefined;
    let rows = computed.get(i);
    if (rows) return rows;
    const tile = tiles[i];
    if (!tile) return undefined;
    const key = `${ids[i]!.level}/${ids[i]!.index}/${tile.length / HASH_SIZE}`;
    rows = cache.get(key);
    if (!rows) {
      rows = tileRows(tile);
      cache.set(key, rows);
    }
    computed.set(i, rows);
    return rows;
  };
  return spans.map((s, i) => {
    const k = Math.log2(s.width);
    const innerTile = inner[i]! === -1 ? null : tiles[inner[i]!];
    if (innerTile) {
      const pos = innerPosition(k, s.offset / s.width);
      if (innerTile.length >= (pos + 1) * HASH_SIZE) {
        return innerTile.slice(pos * HASH_SIZE, (pos + 1) * HASH_SIZE);
      }
    }
    const at = slots[i]!;
    const rows = at === -1 ? full.get(`${s.level}/${s.index}`) : rowsOf(at);
    const cachedHash = rows?.[k]?.[s.offset / s.width];
    if (cachedHash) return cachedHash.slice();
    const tile = at === -1 ? undefined : tiles[at];
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
