import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_FRONTIER,
  appendLeafHashes,
  assemble,
  consistencyPlan,
  inclusionPlan,
  rootFromLeafHashes,
  rootOfFrontier,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';
import type { Frontier, NewNode } from '../../src/merkle/index.js';
import {
  INNER_TILES,
  innerOfTile,
  innerPosition,
  integrate,
  nodeSpan,
} from '../../src/tiles/layout.js';
import type { TileId, TileWrite } from '../../src/tiles/layout.js';
import { TileTreeCache, readNodes } from '../../src/tiles/read.js';

const leaf = (i: number) => createHash('sha256').update(`leaf ${i}`).digest();
const hex = (hs: readonly Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex'));

/** Tiles as a driver stores them: each write appended at its `from` (checked). */
class Tiles {
  readonly map = new Map<string, Buffer>();
  apply(writes: readonly TileWrite[]): void {
    for (const w of writes) {
      const key = `${w.level}/${w.index}`;
      const held = this.map.get(key) ?? Buffer.alloc(0);
      expect(held.length / 32, key).toBe(w.from);
      this.map.set(key, Buffer.concat([held, w.hashes]));
    }
  }
  async getTiles(ids: readonly TileId[]): Promise<(Uint8Array | null)[]> {
    return ids.map((t) => this.map.get(`${t.level}/${t.index}`) ?? null);
  }
}

/** Appends `count` leaves in batches of the given sizes (cycled); the tiles and all nodes. */
function grow(count: number, batches: readonly number[]) {
  const tiles = new Tiles();
  const nodes: NewNode[] = [];
  let frontier: Frontier = EMPTY_FRONTIER;
  let reference: Frontier = EMPTY_FRONTIER;
  for (let at = 0, b = 0; at < count; b++) {
    const n = Math.min(batches[b % batches.length]!, count - at);
    const hashes = Array.from({ length: n }, (_, k) => leaf(at + k));
    const next = integrate(frontier, hashes);
    tiles.apply(next.tiles);
    const ref = appendLeafHashes(reference, hashes);
    nodes.push(...ref.nodes);
    expect(hex(next.frontier.hashes)).toEqual(hex(ref.frontier.hashes));
    frontier = next.frontier;
    reference = ref.frontier;
    at += n;
  }
  return { tiles, nodes, frontier };
}

/** The tiles' bottom rows as the tree's definition gives them: leaf hashes and level-8L nodes. */
function referenceTiles(count: number, nodes: readonly NewNode[]): Map<string, Buffer> {
  const rows = new Map<string, Buffer[]>();
  const put = (level: number, index: number, hash: Uint8Array) => {
    const key = `${level}/${Math.floor(index / 256)}`;
    const row = rows.get(key) ?? [];
    row[index % 256] = Buffer.from(hash);
    rows.set(key, row);
  };
  for (let i = 0; i < count; i++) put(0, i, leaf(i));
  for (const n of nodes) if (n.level % 8 === 0) put(n.level / 8, n.index, n.hash);
  // Inner tiles: tree levels 8L + 4 … 8L + 7 at the positions innerPosition gives.
  for (const n of nodes) {
    const k = n.level % 8;
    if (k < 4) continue;
    const per = 2 ** (8 - k);
    const key = `${INNER_TILES + (n.level - k) / 8}/${Math.floor(n.index / per)}`;
    const row = rows.get(key) ?? [];
    row[innerPosition(k, n.index % per)] = Buffer.from(n.hash);
    rows.set(key, row);
  }
  return new Map([...rows].map(([k, row]) => [k, Buffer.concat(row)]));
}

const COUNT = 66_000; // three tile levels: 257 full level-0 tiles, tile 1/0 full, tile 2/0
let grown: ReturnType<typeof grow> | undefined;
const tree = () => (grown ??= grow(COUNT, [1, 255, 3, 1000, 70, 4096]));

describe('hash tiles (C2SP tlog-tiles layout)', () => {
  it('integrates leaves into full and partial tiles of every eighth level, whatever the batches', () => {
    const { tiles, nodes, frontier } = tree();
    const reference = referenceTiles(COUNT, nodes);
    expect([...tiles.map.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [key, t] of reference) expect(tiles.map.get(key)!.equals(t), key).toBe(true);
    expect(tiles.map.get('0/0')!.length).toBe(256 * 32);
    expect(tiles.map.get('0/257')!.length).toBe((COUNT - 257 * 256) * 32);
    expect(tiles.map.get('1/0')!.length).toBe(256 * 32);
    expect(tiles.map.get('1/1')!.length).toBe(1 * 32); // level-8 node 256: leaves 65536..65791
    expect(tiles.map.get('2/0')!.length).toBe(1 * 32); // level-16 node 0: leaves 0..65535
    // Inner tiles: of the 257 full level-0 tiles and tile 1/0 (30 hashes each), and of 0/257;
    // 1/1 and 2/0 hold too few hashes for a node of level 8L + 4.
    expect(tiles.map.get(`${INNER_TILES}/0`)!.length).toBe(30 * 32);
    expect(tiles.map.get(`${INNER_TILES + 1}/0`)!.length).toBe(30 * 32);
    // 0/257 holds 66,000 - 65,792 = 208 hashes: 13 + 6 + 3 + 1 inner nodes.
    expect(tiles.map.get(`${INNER_TILES}/257`)!.length).toBe((13 + 6 + 3 + 1) * 32);
    expect(tiles.map.size).toBe(258 + 2 + 1 + 258 + 1);
    expect(rootOfFrontier(frontier)).toEqual(
      rootFromLeafHashes(Array.from({ length: COUNT }, (_, i) => leaf(i))),
    );
  });

  it('computes every node of the levels between from its tile', async () => {
    const { tiles, nodes } = grow(5000, [777]);
    expect(hex(await readNodes(tiles, nodes))).toEqual(hex(nodes.map((n) => n.hash)));
    expect(nodeSpan({ level: 11, index: 3 })).toEqual({ level: 1, index: 0, offset: 24, width: 8 });
  });

  it('answers RFC 6962 inclusion and consistency proofs from the tiles', async () => {
    const { tiles } = tree();
    const sizes = [1, 2, 255, 256, 257, 65_535, 65_536, 65_537, 65_999, 66_000];
    const roots = new Map<number, Uint8Array>();
    let frontier: Frontier = EMPTY_FRONTIER;
    for (const size of sizes) {
      const more = Array.from({ length: size - frontier.size }, (_, k) => leaf(frontier.size + k));
      frontier = integrate(frontier, more).frontier;
      roots.set(size, rootOfFrontier(frontier));
    }
    for (const size of sizes) {
      const root = roots.get(size)!;
      for (const i of new Set([0, size - 1, Math.floor(size / 3), Math.floor(size / 2)])) {
        const plan = inclusionPlan(i, size);
        const proof = assemble(plan, await readNodes(tiles, plan.nodes));
        verifyInclusion(leaf(i), i, size, proof, root);
      }
      for (const from of sizes.filter((s) => s <= size)) {
        const plan = consistencyPlan(from, size);
        const proof = assemble(plan, await readNodes(tiles, plan.nodes));
        verifyConsistency(from, size, proof, roots.get(from)!, root);
      }
    }
  });

  it('answers the same from its cache of full tiles above level 0, also while a partial tile grows', async () => {
    const { tiles, nodes } = grow(5000, [777]);
    const cache = new TileTreeCache(4);
    let reads = 0;
    const counted = {
      getTiles: (ids: readonly TileId[]) => {
        reads += ids.length;
        return tiles.getTiles(ids);
      },
    };
    expect(hex(await readNodes(counted, nodes, cache))).toEqual(hex(nodes.map((n) => n.hash)));
    // A level-0 tile is read each time (not kept: n / 256 of them, each rarely met twice).
    reads = 0;
    await readNodes(counted, [{ level: 3, index: 5 }], cache); // leaves 40..47: tile 0/0, full
    await readNodes(counted, [{ level: 2, index: 3 }], cache);
    expect(reads).toBe(2);
    // A full tile above level 0 and its inner tile, once kept, are not read again; a partial
    // one is (its width may have grown).
    const big = tree();
    let bigReads: string[] = [];
    const countedBig = {
      getTiles: (ids: readonly TileId[]) => {
        bigReads.push(...ids.map((t) => `${t.level}/${t.index}`));
        return big.tiles.getTiles(ids);
      },
    };
    const upper = big.nodes.filter((n) => n.level >= 8 && n.level <= 15);
    expect(hex(await readNodes(countedBig, upper, cache))).toEqual(hex(upper.map((n) => n.hash)));
    // 1/1 holds one hash (tree level 8, node 256): no node of tree level 12 … 15 there.
    expect(bigReads.sort()).toEqual(['1/0', '1/1', `${INNER_TILES + 1}/0`]);
    bigReads = [];
    expect(hex(await readNodes(countedBig, upper, cache))).toEqual(hex(upper.map((n) => n.hash)));
    expect(bigReads).toEqual(['1/1']);
    const more = grow(5100, [777]);
    const fresh = more.nodes.filter((n) => n.level <= 7 && (n.index + 1) * 2 ** n.level > 5000);
    expect(fresh.length).toBeGreaterThan(0);
    const counted2 = { getTiles: (ids: readonly TileId[]) => more.tiles.getTiles(ids) };
    expect(hex(await readNodes(counted2, fresh, cache))).toEqual(hex(fresh.map((n) => n.hash)));
  });

  it('keeps inner tiles that innerOfTile recomputes from the stored tiles, and proofs read them', async () => {
    const { tiles, nodes } = tree();
    for (const [key, t] of tiles.map) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      if (level >= INNER_TILES) continue;
      const inner = tiles.map.get(`${INNER_TILES + level}/${index}`);
      expect(Buffer.from(innerOfTile(t)).equals(inner ?? Buffer.alloc(0)), key).toBe(true);
    }
    // A node of tree level 4 … 7 comes from the inner tile: altered there, it reads altered.
    const node = { level: 7, index: 1 }; // leaves 128..255, inner tile 64/0 position 29
    expect(innerPosition(7, 1)).toBe(29);
    const want = nodes.find((n) => n.level === 7 && n.index === 1)!.hash;
    expect(hex(await readNodes(tiles, [node]))).toEqual(hex([want]));
    const inner = tiles.map.get(`${INNER_TILES}/0`)!;
    const altered = new Tiles();
    for (const [k, v] of tiles.map) altered.map.set(k, v);
    altered.map.set(
      `${INNER_TILES}/0`,
      Buffer.concat([inner.subarray(0, 29 * 32), Buffer.alloc(32)]),
    );
    expect(hex(await readNodes(altered, [node]))).toEqual(hex([Buffer.alloc(32)]));
    // Without inner tiles (a ledger from before them) every node is hashed from the tile below.
    const bare = new Tiles();
    for (const [k, v] of tiles.map) if (Number(k.split('/')[0]) < INNER_TILES) bare.map.set(k, v);
    const some = nodes.filter((_, i) => i % 97 === 0);
    expect(hex(await readNodes(bare, some))).toEqual(hex(some.map((n) => n.hash)));
    expect(hex(await readNodes(tiles, some))).toEqual(hex(some.map((n) => n.hash)));
  });

  it('refuses a frontier that does not match its size', () => {
    expect(() => integrate({ size: 3, hashes: [leaf(0)] }, [leaf(1)])).toThrow(
      expect.objectContaining({ code: 'bad_frontier' }),
    );
    expect(() => integrate(EMPTY_FRONTIER, [new Uint8Array(31)])).toThrow(
      expect.objectContaining({ code: 'bad_hash_size' }),
    );
  });
});
