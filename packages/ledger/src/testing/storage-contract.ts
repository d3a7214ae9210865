import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendLeafHashes, hashLeaf, rootOfFrontier } from '../merkle/index.js';
import type { Frontier } from '../merkle/index.js';
import { formatCheckpoint, generateSignerKey, parseSignerKey, signNote } from '../note/index.js';
import { hasIngestQueue } from '../storage/port.js';
import type { AppendBatch, LogStorage, NewEntry } from '../storage/port.js';

const signer = parseSignerKey(generateSignerKey('contract.test/log').signerKey);
const encoder = new TextEncoder();

/** Builds a valid batch of `count` entries on top of `frontier`. */
export function makeBatch(
  frontier: Frontier,
  count: number,
  fields: (i: number) => Partial<NewEntry> = () => ({}),
): { batch: AppendBatch; frontier: Frontier } {
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
  const next = appendLeafHashes(
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
      nodes: next.nodes,
      checkpoint: { size: next.frontier.size, rootHash, note },
    },
    frontier: next.frontier,
  };
}

const EMPTY: Frontier = { size: 0, hashes: [] };

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
      const { batch } = makeBatch(EMPTY, 10);
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
      const node = batch.nodes.find((n) => n.level === 3 && n.index === 0)!;
      const [leaf7, level3] = await storage.getNodes([
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
      await expect(storage.getNodes([{ level: 0, index: 3 }])).rejects.toMatchObject({
        code: 'storage_corrupt',
      });
      await expect(storage.getNodes([{ level: 2, index: 0 }])).rejects.toMatchObject({
        code: 'storage_corrupt',
      });
    });

    it('returns node ranges in order and stops where the level ends', async () => {
      const { batch } = makeBatch(EMPTY, 9);
      await storage.append(batch);
      expect((await storage.getNodeRange(0, 5, 10)).length).toBe(4);
      const level1 = await storage.getNodeRange(1, 0, 10);
      expect(level1.length).toBe(4);
      const expected = batch.nodes.filter((n) => n.level === 1).sort((a, b) => a.index - b.index);
      expect(level1.map((h) => Buffer.from(h).toString('hex'))).toEqual(
        expected.map((n) => Buffer.from(n.hash).toString('hex')),
      );
      expect(await storage.getNodeRange(5, 0, 1)).toEqual([]);
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
      const again = { fromSize: 4, entries: [], nodes: [], checkpoint: first.batch.checkpoint };
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

    it('stops a node range at the first gap, and names a missing node as corrupt', async () => {
      const { batch } = makeBatch(EMPTY, 8);
      const gap = (n: { level: number; index: number }) => n.level === 1 && n.index === 2;
      await storage.append({ ...batch, nodes: batch.nodes.filter((n) => !gap(n)) });
      const level1 = batch.nodes.filter((n) => n.level === 1).sort((a, b) => a.index - b.index);
      const hex = (hs: readonly Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex'));
      expect(hex(await storage.getNodeRange(1, 0, 4))).toEqual(
        hex(level1.slice(0, 2).map((n) => n.hash)),
      );
      expect(await storage.getNodeRange(1, 2, 2)).toEqual([]);
      expect(hex(await storage.getNodeRange(1, 3, 1))).toEqual(hex([level1[3]!.hash]));
      await expect(storage.getNodes([{ level: 1, index: 2 }])).rejects.toMatchObject({
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
