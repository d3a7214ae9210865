import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasIngestQueue, hashLeaf } from '../index.js';
import type {
  AppendBatch,
  EnqueueOutcome,
  IngestQueue,
  LogStorage,
  PendingEntry,
} from '../index.js';
import { makeBatch } from './storage-contract.js';

const encoder = new TextEncoder();
const EMPTY = { size: 0, hashes: [] };

export function pendingEntry(n: number, content = `{"n":${n}}`): PendingEntry {
  return {
    id: `00000000-0000-7000-9000-${String(n).padStart(12, '0')}`,
    canonical: content,
    leafHash: hashLeaf(encoder.encode(content)),
    type: 'tool.called',
    timeUs: 1_800_000_000_000_000 + n,
    initiator: 'user:alice',
    actor: n % 2 === 0 ? 'agent:even' : null,
    taskId: null,
    traceId: n % 3 === 0 ? 'b'.repeat(32) : null,
    level: 'verified',
    // Every facet a record may carry, on some entries (each travels from queue to log).
    ...(n % 2 === 1
      ? {
          actionName: 'github.create_issue',
          resource: `repo:acme/${n}`,
          outcome: 'error',
          coverage: { flags: 3, lifetimeSec: 600, instance: `i-${n}` },
        }
      : {}),
    receivedUs: 1_800_000_000_100_000 + n,
  };
}

/** An append that moves these queued rows into an empty log (`AppendBatch.sequenced`). */
function sequencedBatch(rows: readonly { seq: number; leafHash: Uint8Array }[]): AppendBatch {
  const { batch } = makeBatch(EMPTY, rows.length, (i) => ({ leafHash: rows[i]!.leafHash }));
  return {
    ...batch,
    entries: [],
    sequenced: rows.map((r, i) => ({ seq: r.seq, leafIndex: i, leafHash: r.leafHash })),
  };
}

type QueueStorage = LogStorage & IngestQueue;

function withoutHash(o: EnqueueOutcome): object {
  const { leafHash: _hash, ...rest } = o as EnqueueOutcome & { leafHash?: Uint8Array };
  return rest;
}

/** The leaf hash an outcome or entry carries, in hex ('' for none). */
function hex(o: EnqueueOutcome | PendingEntry | undefined): string {
  return o !== undefined && 'leafHash' in o ? Buffer.from(o.leafHash).toString('hex') : '';
}

/**
 * The ingest queue behaviour every driver with an IngestQueue must have (several collectors on
 * one database). On a driver without one every test is skipped, saying so.
 */
export function describeIngestQueueContract(name: string, open: () => Promise<LogStorage>): void {
  describe(`${name} ingest queue contract`, () => {
    let storage: QueueStorage;
    let opened: LogStorage | undefined;
    beforeEach(async (ctx) => {
      opened = await open();
      if (!hasIngestQueue(opened)) {
        ctx.skip(`${name} has no ingest queue (IngestQueue): it serves one collector only`);
        return;
      }
      storage = opened;
    });
    afterEach(async () => {
      await opened?.close();
    });

    it('queues entries durably, in order, with every index field', async () => {
      const entries = [pendingEntry(1), pendingEntry(2), pendingEntry(3)];
      const outcomes = await storage.enqueue(entries);
      expect(outcomes).toEqual(
        entries.map((e) => ({ status: 'queued', receivedUs: e.receivedUs })),
      );
      expect(await storage.pendingCount()).toBe(3);
      const rows = await storage.readPending(10);
      expect(rows.map((r) => r.id)).toEqual(entries.map((e) => e.id));
      expect(rows[1]!.seq).toBeGreaterThan(rows[0]!.seq);
      const { seq: _seq, leafHash, ...rest } = rows[1]!;
      const { leafHash: expectedHash, ...expected } = entries[1]!;
      expect(rest).toEqual(expected);
      expect(Buffer.from(leafHash)).toEqual(Buffer.from(expectedHash));
      expect((await storage.readPending(2)).length).toBe(2);
      expect((await storage.getQueued(entries[2]!.id))?.canonical).toBe(entries[2]!.canonical);
      expect(await storage.getQueued(pendingEntry(99).id)).toBeNull();
      expect((await storage.readState()).size).toBe(0); // queued is not logged
    });

    it('stores an id once: a re-sent one is reported with what was queued first', async () => {
      await storage.enqueue([pendingEntry(1)]);
      const again = { ...pendingEntry(1), receivedUs: 42 };
      const other = pendingEntry(1, '{"n":"other"}');
      const outcomes = await storage.enqueue([
        again,
        other,
        pendingEntry(2),
        pendingEntry(2, '{}'),
      ]);
      const first = { status: 'already_queued', receivedUs: pendingEntry(1).receivedUs };
      expect(outcomes.map(withoutHash)).toEqual([
        first,
        first, // other content: the log, not the queue, calls it a conflict
        { status: 'queued', receivedUs: pendingEntry(2).receivedUs },
        { status: 'already_queued', receivedUs: pendingEntry(2).receivedUs },
      ]);
      // The hash of what holds the id, so the log can compare.
      expect(hex(outcomes[1])).toBe(hex(pendingEntry(1)));
      expect(hex(outcomes[3])).toBe(hex(pendingEntry(2)));
      expect(await storage.pendingCount()).toBe(2);
      expect((await storage.getQueued(pendingEntry(1).id))?.canonical).toBe('{"n":1}');
    });

    it('moves queued rows into the log in the append transaction, bytes and facets as queued', async () => {
      const queued = [pendingEntry(1), pendingEntry(2), pendingEntry(3)];
      await storage.enqueue(queued);
      const leaves = await storage.readPendingLeaves(2);
      expect(leaves.map((l) => l.logged)).toEqual([null, null]);
      expect(leaves.map((l) => Buffer.from(l.leafHash).toString('hex'))).toEqual(
        queued.slice(0, 2).map(hex),
      );
      await storage.append(sequencedBatch(leaves));
      expect(await storage.pendingCount()).toBe(1);
      expect((await storage.readState()).size).toBe(2);
      const logged = await storage.getEntries(0, 2);
      for (const [i, e] of logged.entries()) {
        const q = queued[i]!;
        expect(e).toMatchObject({
          leafIndex: i,
          id: q.id,
          canonical: q.canonical,
          type: q.type,
          timeUs: q.timeUs,
          initiator: q.initiator,
          actor: q.actor,
          traceId: q.traceId,
          level: q.level,
          actionName: q.actionName ?? null,
          resource: q.resource ?? null,
          outcome: q.outcome ?? null,
        });
        expect(hex(q)).toBe(Buffer.from(e.leafHash).toString('hex'));
      }
      expect(await storage.getQueued(queued[0]!.id)).toBeNull(); // logged now, not queued
      // A logged id is answered from the log, with its leaf index and stored hash.
      const outcomes = await storage.enqueue([pendingEntry(2), pendingEntry(2, '{"x":1}')]);
      expect(outcomes.map(withoutHash)).toEqual([
        { status: 'logged', leafIndex: 1 },
        { status: 'logged', leafIndex: 1 },
      ]);
      expect(outcomes.map(hex)).toEqual([hex(pendingEntry(2)), hex(pendingEntry(2))]);
      expect(await storage.pendingCount()).toBe(1);
    });

    it('refuses to move a row that is gone or holds another hash, and stores nothing', async () => {
      await storage.enqueue([pendingEntry(1)]);
      const [leaf] = await storage.readPendingLeaves(1);
      const gone = { ...leaf!, seq: leaf!.seq + 1000 };
      const otherHash = { ...leaf!, leafHash: new Uint8Array(32).fill(7) };
      for (const rows of [[gone], [otherHash]]) {
        await expect(storage.append(sequencedBatch(rows))).rejects.toMatchObject({
          code: 'storage_conflict',
        });
      }
      await expect(
        storage.append({ ...sequencedBatch([leaf!]), dequeue: [leaf!.seq + 1000] }),
      ).rejects.toMatchObject({ code: 'storage_conflict' });
      expect((await storage.readState()).size).toBe(0);
      expect(await storage.pendingCount()).toBe(1);
    });

    it('takes a row whose id is logged out of the queue without logging it again', async () => {
      await storage.enqueue([pendingEntry(1)]);
      const [leaf] = await storage.readPendingLeaves(1);
      // The same id appended directly meanwhile (a collector without the queue).
      const direct = makeBatch(EMPTY, 1, () => ({
        id: pendingEntry(1).id,
        leafHash: leaf!.leafHash,
      }));
      await storage.append(direct.batch);
      const [again] = await storage.readPendingLeaves(1);
      expect(again!.logged).toMatchObject({ leafIndex: 0 });
      await storage.append({
        fromSize: 1,
        entries: [],
        tiles: [],
        checkpoint: direct.batch.checkpoint,
        dequeue: [again!.seq],
      });
      expect(await storage.pendingCount()).toBe(0);
      expect((await storage.readState()).size).toBe(1);
    });
  });
}
