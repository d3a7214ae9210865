import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasIngestQueue, hashLeaf } from '../index.js';
import type { EnqueueOutcome, IngestQueue, LogStorage, PendingEntry } from '../index.js';
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
    receivedUs: 1_800_000_000_100_000 + n,
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

    it('takes sequenced entries out of the queue in the append transaction', async () => {
      await storage.enqueue([pendingEntry(1), pendingEntry(2), pendingEntry(3)]);
      const rows = await storage.readPending(2);
      const { batch } = makeBatch(EMPTY, 2, (i) => ({
        id: rows[i]!.id,
        canonical: rows[i]!.canonical,
        leafHash: rows[i]!.leafHash,
      }));
      await storage.append({ ...batch, dequeue: rows.map((r) => r.seq) });
      expect(await storage.pendingCount()).toBe(1);
      expect((await storage.readState()).size).toBe(2);
      expect(await storage.getQueued(rows[0]!.id)).toBeNull(); // logged now, not queued
      // A logged id is answered from the log, with its leaf index and stored hash.
      const outcomes = await storage.enqueue([pendingEntry(2), pendingEntry(2, '{"x":1}')]);
      expect(outcomes.map(withoutHash)).toEqual([
        { status: 'logged', leafIndex: 1 },
        { status: 'logged', leafIndex: 1 },
      ]);
      expect(outcomes.map(hex)).toEqual([hex(pendingEntry(2)), hex(pendingEntry(2))]);
      expect(await storage.pendingCount()).toBe(1);
    });

    it('refuses a batch whose queued entries are gone, and stores nothing of it', async () => {
      await storage.enqueue([pendingEntry(1)]);
      const [row] = await storage.readPending(1);
      const { batch } = makeBatch(EMPTY, 1, () => ({
        id: row!.id,
        canonical: row!.canonical,
        leafHash: row!.leafHash,
      }));
      await expect(storage.append({ ...batch, dequeue: [row!.seq + 1000] })).rejects.toMatchObject({
        code: 'storage_conflict',
      });
      expect((await storage.readState()).size).toBe(0);
      expect(await storage.pendingCount()).toBe(1);
    });
  });
}
