import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendLeafHashes, hashLeaf, rootOfFrontier } from '../merkle/index.js';
import type { Frontier, NewNode } from '../merkle/index.js';
import { formatCheckpoint, generateSignerKey, parseSignerKey, signNote } from '../note/index.js';
import { hasIngestQueue } from '../storage/port.js';
import type { AppendBatch, LogStorage, NewEntry } from '../storage/port.js';
import { integrate } from '../tiles/layout.js';
import { readNodes } from '../tiles/read.js';

const signer = parseSignerKey(generateSignerKey('contract.test/log').signerKey);
const encoder = new TextEncoder();

/** Builds a valid batch of `count` entries on top of `frontier`. */
export function makeBatch(
  frontier: Frontier,
  count: number,
  fields: (i: number) => Partial<NewEntry> = () => ({}),
): { batch: AppendBatch; frontier: Frontier; nodes: NewNode[] } {
  const entries: NewEntry[] = [];
  for (let k = 0; k < count; k++) {
    const i = frontier.size + k;
    const canonical = `{"i":${i},"id":"e-${i}"}`;
    entries.push({
      leafIndex: i,
      id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
      canonical,
      leafHash: hashLeaf(encoder.encode(canonical)),
      type: 'tool.called',
      timeUs: 1_800_000_000_000_000 + i,
      initiator: 'user:alice',
      actor: `agent-${i % 3}`,
      taskId: i % 2 === 0 ? 'task-even' : null,
      traceId: i % 5 === 0 ? 'a'.repeat(32) : null,
      level: i % 4 === 0 ? 'unattributed' : 'asserted',
      ...fields(i),
    });
  }
  const next = integrate(
    frontier,
    entries.map((e) => e.leafHash),
  );
  // The reference: every node the append completes, as the tree's definition has it.
  const { nodes } = appendLeafHashes(
    frontier,
    entries.map((e) => e.leafHash),
  );
  const rootHash = rootOfFrontier(next.frontier);
  const note = signNote(
    formatCheckpoint({ origin: signer.name, size: next.frontier.size, rootHash, extensions: [] }),
    [signer],
  );
  return {
    batch: {
      fromSize: frontier.size,
      entries,
      tiles: next.tiles,
      checkpoint: { size: next.frontier.size, rootHash, note },
    },
    frontier: next.frontier,
    nodes,
  };
}

/**
 * The signed checkpoint of a tree of these entries' leaf hashes: for ledgers of an older schema
 * written by hand, whose migration checks its rebuilt tree against the latest checkpoint.
 */
export function checkpointOf(entries: readonly Pick<NewEntry, 'leafHash'>[]): {
  size: number;
  rootHash: Uint8Array;
  note: string;
} {
  const { frontier } = appendLeafHashes(
    EMPTY,
    entries.map((e) => e.leafHash),
  );
  const rootHash = rootOfFrontier(frontier);
  const size = entries.length;
  const note = signNote(formatCheckpoint({ origin: signer.name, size, rootHash, extensions: [] }), [
    signer,
  ]);
  return { size, rootHash, note };
}

const EMPTY: Frontier = { size: 0, hashes: [] };
const hex = (hs: readonly Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex'));

/** The behaviour every LogStorage driver must have; each driver's test file runs this suite. */
export function describeStorageContract(name: string, open: () => Promise<LogStorage>): void {
  describe(`${name} storage contract`, () => {
    let storage: LogStorage;
    beforeEach(async () => {
      storage = await open();
    });
    afterEach(async () => {
      await storage.close();
    });

    it('starts empty with no checkpoint', async () => {
      expect(await storage.readState()).toEqual({ size: 0, checkpoint: null });
    });

    it('finds no missing leaf in a complete log, and one past its end', async () => {
      expect(await storage.firstMissingLeaf(0)).toBeNull();
      await storage.append(makeBatch(EMPTY, 10).batch);
      expect(await storage.firstMissingLeaf(10)).toBeNull();
      expect(await storage.firstMissingLeaf(4)).toBeNull();
      expect(await storage.firstMissingLeaf(12)).toBe(10);
    });

    it('stores a batch and reads back entries, nodes and the checkpoint', async () => {
      const { batch, nodes } = makeBatch(EMPTY, 10);
      await storage.append(batch);
      const state = await storage.readState();
      expect(state.size).toBe(10);
      expect(state.checkpoint?.note).toBe(batch.checkpoint.note);
      expect(Buffer.from(state.checkpoint!.rootHash)).toEqual(
        Buffer.from(batch.checkpoint.rootHash),
      );
      const e3 = await storage.getEntryById(batch.entries[3]!.id);
      expect(e3?.canonical).toBe(batch.entries[3]!.canonical);
      expect(e3?.leafIndex).toBe(3);
      expect(e3?.taskId).toBeNull();
      expect(Buffer.from(e3!.leafHash)).toEqual(Buffer.from(batch.entries[3]!.leafHash));
      const range = await storage.getEntries(2, 5);
      expect(range.map((e) => e.leafIndex)).toEqual([2, 3, 4, 5, 6]);
      const node = nodes.find((n) => n.level === 3 && n.index === 0)!;
      const [leaf7, level3] = await readNodes(storage, [
        { level: 0, index: 7 },
        { level: 3, index: 0 },
      ]);
      expect(Buffer.from(leaf7!)).toEqual(Buffer.from(batch.entries[7]!.leafHash));
      expect(Buffer.from(level3!)).toEqual(Buffer.from(node.hash));
      expect(await storage.getCheckpoint(10)).toEqual(state.checkpoint);
      expect(await storage.getCheckpoint(9)).toBeNull();
    });

    it('refuses a batch built on another size and stores nothing of it', async () => {
      const first = makeBatch(EMPTY, 4);
      await storage.append(first.batch);
      const stale = makeBatch(EMPTY, 3); // built on size 0, log is at 4
      await expect(storage.append(stale.batch)).rejects.toMatchObject({ code: 'storage_conflict' });
      expect((await storage.readState()).size).toBe(4);
    });

    it('is atomic: a batch with an already stored id leaves nothing behind', async () => {
      const first = makeBatch(EMPTY, 4);
      await storage.append(first.batch);
      const second = makeBatch(first.frontier, 3, (i) =>
        i === 6 ? { id: first.batch.entries[0]!.id } : {},
      );
      await expect(storage.append(second.batch)).rejects.toMatchObject({
        code: 'storage_conflict',
      });
      const state = await storage.readState();
      expect(state.size).toBe(4);
      expect(state.checkpoint?.size).toBe(4);
      expect(await storage.getEntries(4, 10)).toEqual([]);
      expect(await storage.getEntryById(second.batch.entries[0]!.id)).toBeNull();
    });

    it('finds already stored ids with their leaf index and hash', async () => {
      const { batch } = makeBatch(EMPTY, 3);
      await storage.append(batch);
      const found = await storage.findExisting([batch.entries[1]!.id, 'not-there']);
      expect([...found.keys()]).toEqual([batch.entries[1]!.id]);
      expect(found.get(batch.entries[1]!.id)?.leafIndex).toBe(1);
    });

    it('throws storage_corrupt for a node it does not hold', async () => {
      const { batch } = makeBatch(EMPTY, 3);
      await storage.append(batch);
      await expect(readNodes(storage, [{ level: 0, index: 3 }])).rejects.toMatchObject({
        code: 'storage_corrupt',
      });
      await expect(readNodes(storage, [{ level: 2, index: 0 }])).rejects.toMatchObject({
        code: 'storage_corrupt',
      });
    });

    it('keeps the tree as hash tiles: the partial tile grows, a full one holds 256 hashes', async () => {
      const first = makeBatch(EMPTY, 200);
      await storage.append(first.batch);
      const second = makeBatch(first.frontier, 100);
      await storage.append(second.batch);
      const leaves = [...first.batch.entries, ...second.batch.entries].map((e) => e.leafHash);
      const [full, partial, level1, none] = await storage.getTiles([
        { level: 0, index: 0 },
        { level: 0, index: 1 },
        { level: 1, index: 0 },
        { level: 0, index: 2 },
      ]);
      expect(hex([full!])).toEqual(hex([Buffer.concat(leaves.slice(0, 256))]));
      expect(hex([partial!])).toEqual(hex([Buffer.concat(leaves.slice(256))]));
      // Tree level 8, node 0 (leaves 0..255): the first hash of tile 1/0.
      const node8 = second.nodes.find((n) => n.level === 8 && n.index === 0)!;
      expect(hex([level1!])).toEqual(hex([node8.hash]));
      expect(none).toBeNull();
      // Every node of the levels between, computed from the tiles, is the tree's.
      const all = [...first.nodes, ...second.nodes];
      expect(hex(await readNodes(storage, all))).toEqual(hex(all.map((n) => n.hash)));
    });

    it('refuses tile writes that do not continue the stored tiles, and stores nothing of them', async () => {
      const first = makeBatch(EMPTY, 4);
      await storage.append(first.batch);
      const next = makeBatch(first.frontier, 2);
      const shifted = next.batch.tiles.map((t) => ({ ...t, from: t.from + 1 }));
      await expect(storage.append({ ...next.batch, tiles: shifted })).rejects.toMatchObject({
        code: 'storage_conflict',
      });
      const anew = next.batch.tiles.map((t) => ({ ...t, from: 0 }));
      await expect(storage.append({ ...next.batch, tiles: anew })).rejects.toMatchObject({
        code: 'storage_conflict',
      });
      const state = await storage.readState();
      expect(state.size).toBe(4);
      expect(((await storage.getTiles([{ level: 0, index: 0 }]))[0]?.length ?? 0) / 32).toBe(4);
      await storage.append(next.batch);
      expect((await storage.readState()).size).toBe(6);
    });

    it('filters entries by every index column and pages by leaf index', async () => {
      const { batch } = makeBatch(EMPTY, 40);
      await storage.append(batch);
      const ids = async (f: Parameters<LogStorage['queryEntries']>[0]) =>
        (await storage.queryEntries(f)).map((e) => e.leafIndex);
      expect(await ids({ actor: 'agent-1', limit: 100 })).toEqual(
        [...Array(40).keys()].filter((i) => i % 3 === 1),
      );
      expect(await ids({ taskId: 'task-even', limit: 3 })).toEqual([0, 2, 4]);
      expect(await ids({ taskId: 'task-even', limit: 3, afterLeafIndex: 4 })).toEqual([6, 8, 10]);
      expect(await ids({ traceId: 'a'.repeat(32), limit: 100 })).toEqual([
        0, 5, 10, 15, 20, 25, 30, 35,
      ]);
      expect(await ids({ level: 'unattributed', limit: 100 })).toEqual([
        0, 4, 8, 12, 16, 20, 24, 28, 32, 36,
      ]);
      expect(await ids({ initiator: 'user:bob', limit: 100 })).toEqual([]);
      expect(await ids({ type: 'tool.called', limit: 2 })).toEqual([0, 1]);
      const t0 = 1_800_000_000_000_000;
      expect(await ids({ fromUs: t0 + 10, toUs: t0 + 13, limit: 100 })).toEqual([10, 11, 12]);
      expect(await ids({ actor: 'agent-0', level: 'unattributed', limit: 100 })).toEqual([
        0, 12, 24, 36,
      ]);
    });

    it('refuses entries that do not take the next leaves, and an id twice in one batch', async () => {
      const { batch } = makeBatch(EMPTY, 3);
      const shifted = batch.entries.map((e) => ({ ...e, leafIndex: e.leafIndex + 1 }));
      await expect(storage.append({ ...batch, entries: shifted })).rejects.toMatchObject({
        code: 'storage_conflict',
      });
      const twice = [batch.entries[0]!, { ...batch.entries[1]!, id: batch.entries[0]!.id }];
      await expect(
        storage.append({ ...batch, entries: [...twice, batch.entries[2]!] }),
      ).rejects.toMatchObject({ code: 'storage_conflict' });
      expect(await storage.readState()).toEqual({ size: 0, checkpoint: null });
    });

    it('keeps a checkpoint write-once: the same again changes nothing, another is refused', async () => {
      const first = makeBatch(EMPTY, 4);
      await storage.append(first.batch);
      const again = { fromSize: 4, entries: [], tiles: [], checkpoint: first.batch.checkpoint };
      await storage.append(again);
      // Another checkpoint of size 4 (another root, validly signed): a fork, never stored.
      const other = makeBatch(EMPTY, 4, (i) => ({ leafHash: new Uint8Array(32).fill(i + 1) })).batch
        .checkpoint;
      expect(other.note).not.toBe(first.batch.checkpoint.note);
      await expect(storage.append({ ...again, checkpoint: other })).rejects.toMatchObject({
        code: 'storage_checkpoint_conflict',
      });
      expect((await storage.getCheckpoint(4))?.note).toBe(first.batch.checkpoint.note);
      expect((await storage.readState()).checkpoint?.note).toBe(first.batch.checkpoint.note);
    });

    it('refuses to take entries out of an ingest queue it does not have', async (ctx) => {
      if (hasIngestQueue(storage)) {
        ctx.skip(`${name} has an ingest queue: its contract checks dequeue`);
        return;
      }
      const { batch } = makeBatch(EMPTY, 1);
      await expect(storage.append({ ...batch, dequeue: [1] })).rejects.toMatchObject({
        code: 'storage_no_queue',
      });
      const sequenced = [{ seq: 1, leafIndex: 0, leafHash: batch.entries[0]!.leafHash }];
      await expect(storage.append({ ...batch, entries: [], sequenced })).rejects.toMatchObject({
        code: 'storage_no_queue',
      });
      expect((await storage.readState()).size).toBe(0);
    });

    it('names a node whose tile is not stored as corrupt', async () => {
      const { batch } = makeBatch(EMPTY, 8);
      await storage.append({ ...batch, tiles: [] });
      expect(await storage.getTiles([{ level: 0, index: 0 }])).toEqual([null]);
      await expect(readNodes(storage, [{ level: 1, index: 2 }])).rejects.toMatchObject({
        code: 'storage_corrupt',
      });
    });

    it('reads leaves back as the stored bytes with their stored hash', async () => {
      const { batch } = makeBatch(EMPTY, 5);
      await storage.append(batch);
      const leaves = await storage.readLeaves(1, 10);
      expect(leaves.map((l) => l.leafIndex)).toEqual([1, 2, 3, 4]);
      const decoder = new TextDecoder();
      expect(leaves.map((l) => decoder.decode(l.data))).toEqual(
        batch.entries.slice(1).map((e) => e.canonical),
      );
      expect(leaves.map((l) => Buffer.from(l.storedLeafHash!).toString('hex'))).toEqual(
        batch.entries.slice(1).map((e) => Buffer.from(e.leafHash).toString('hex')),
      );
      expect(await storage.readLeaves(5, 3)).toEqual([]);
    });

    it('reports health and refuses use after close', async () => {
      expect((await storage.health()).ok).toBe(true);
      await storage.close();
      expect((await storage.health()).ok).toBe(false);
      await expect(storage.readState()).rejects.toThrow();
      storage = await open(); // so afterEach closes an open one
    });
  });
}
