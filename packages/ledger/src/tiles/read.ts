import { HASH_SIZE } from '../merkle/hash.js';
import type { NodeId } from '../merkle/node.js';
import { StorageError } from '../storage/errors.js';
import type { LogStorage } from '../storage/port.js';
import { TILE_HEIGHT, nodeSpan, subtreeOfTile } from './layout.js';
import type { TileId } from './layout.js';
import { TILE_WIDTH } from './path.js';

/** What reads the tree: the stored hash tiles. */
export type TileReader = Pick<LogStorage, 'getTiles'>;

/**
 * The hashes of complete nodes (any level; level 0 = leaf hashes), computed from the stored
 * tiles: each tile read once (one `getTiles` call), each node the subtree of at most 128 hashes
 * of its tile. A node whose hashes no tile holds is `storage_corrupt`. What proofs, roots and the
 * sequencer's frontier read: O(log n) tiles and at most 255 hashes a tile level.
 */
export async function readNodes(
  storage: TileReader,
  nodes: readonly NodeId[],
): Promise<Uint8Array[]> {
  if (nodes.length === 0) return [];
  const spans = nodes.map(nodeSpan);
  const ids: TileId[] = [];
  const slot = new Map<string, number>();
  const slots = spans.map((s) => {
    const key = `${s.level}/${s.index}`;
    let i = slot.get(key);
    if (i === undefined) {
      i = ids.length;
      slot.set(key, i);
      ids.push({ level: s.level, index: s.index });
    }
    return i;
  });
  const tiles = await storage.getTiles(ids);
  return spans.map((s, i) => {
    const tile = tiles[slots[i]!];
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
