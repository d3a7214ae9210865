import { describe, expect, it } from 'vitest';
import {
  Log,
  MemoryStorage,
  generateSignerKey,
  hashLeaf,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';
import type { AppendBatch, PreparedEntry } from '../src/index.js';
import { BATCH_PROMISE_HEADER, PROMISE_HEADER, openPromise, signNote } from '../src/index.js';
import type { PromiseProof } from '../src/index.js';

const keys = generateSignerKey('log.test/log');
const signer = parseSignerKey(keys.signerKey);
const verifier = parseVerifierKey(keys.verifierKey);
const encoder = new TextEncoder();

function entry(i: number, body = `{"n":${i}}`): PreparedEntry {
  return {
    id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    canonical: body,
    leafHash: hashLeaf(encoder.encode(body)),
    type: 'tool.called',
    timeUs: i,
    initiator: null,
    actor: null,
    taskId: null,
    traceId: null,
    level: 'unattributed',
  };
}

/** Memory storage that counts commits, and can be told to fail the next one. */
class CountingStorage extends MemoryStorage {
  commits = 0;
  failNext = false;
  /** Store the next batch, then fail as if the COMMIT answer was lost (outcome unknown). */
  loseNextAnswer = false;
  override async append(batch: AppendBatch): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      const { StorageError } = await import('../src/index.js');
      throw new StorageError('storage_unavailable', 'disk full');
    }
    this.commits++;
    await super.append(batch);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      const { StorageError } = await import('../src/index.js');
      throw new StorageError('storage_unavailable', 'connection lost during COMMIT', {
        outcome: 'unknown',
      });
    }
  }
}

function checkpointOf(note: string) {
  return parseCheckpoint(openNote(note, [verifier]).text);
}

describe('Log', () => {
  it('groups concurrent appends into one durable commit', async () => {
    const storage = new CountingStorage();
    const log = await Log.open({ storage, signer });
    const opened = storage.commits; // the empty tree's checkpoint
    const results = await Promise.all([0, 1, 2, 3].map((i) => log.append([entry(i)])));
    expect(results.map((r) => r[0])).toEqual(
      [0, 1, 2, 3].map((i) => ({ status: 'accepted', leafIndex: i, duplicate: false })),
    );
    expect(storage.commits - opened).toBe(1);
    expect(log.size).toBe(4);
  });

  it('signs a checkpoint whose root the inclusion proofs verify against', async () => {
    const log = await Log.open({ storage: new MemoryStorage(), signer });
    await log.append([...Array(13).keys()].map((i) => entry(i)));
    const cp = checkpointOf(log.latestCheckpoint().note);
    expect(cp.size).toBe(13);
    expect(cp.origin).toBe('log.test/log');
    for (const i of [0, 5, 12]) {
      const proof = await log.inclusionProof(i, 13);
      expect(() => verifyInclusion(entry(i).leafHash, i, 13, proof, cp.rootHash)).not.toThrow();
    }
  });

  it('proves every new checkpoint consistent with the earlier ones', async () => {
    const log = await Log.open({ storage: new MemoryStorage(), signer });
    await log.append([entry(0), entry(1), entry(2)]);
    const old = checkpointOf(log.latestCheckpoint().note);
    await log.append([3, 4, 5, 6, 7, 8].map((i) => entry(i)));
    const now = checkpointOf(log.latestCheckpoint().note);
    const proof = await log.consistencyProof(3, 9);
    expect(() => verifyConsistency(3, 9, proof, old.rootHash, now.rootHash)).not.toThrow();
    expect(Buffer.from(await log.rootAt(3))).toEqual(Buffer.from(old.rootHash));
  });

  it('returns the original leaf index when an id is re-sent with the same content', async () => {
    const log = await Log.open({ storage: new MemoryStorage(), signer });
    await log.append([entry(0), entry(1)]);
    const [again] = await log.append([entry(1)]);
    expect(again).toEqual({ status: 'accepted', leafIndex: 1, duplicate: true });
    expect(log.size).toBe(2);
  });

  it('refuses an id re-sent with other content as id_conflict, in or across batches', async () => {
    const log = await Log.open({ storage: new MemoryStorage(), signer });
    await log.append([entry(0)]);
    const out = await log.append([entry(0, '{"other":1}'), entry(1), entry(1, '{"x":2}')]);
    expect(out).toEqual([
      { status: 'id_conflict', leafIndex: 0 },
      { status: 'accepted', leafIndex: 1, duplicate: false },
      { status: 'id_conflict', leafIndex: 1 },
    ]);
    expect(log.size).toBe(2);
  });

  it('rejects every append of a failed commit and keeps its state', async () => {
    const storage = new CountingStorage();
    const log = await Log.open({ storage, signer });
    await log.append([entry(0)]);
    storage.failNext = true;
    await expect(log.append([entry(1)])).rejects.toMatchObject({ code: 'storage_unavailable' });
    expect(log.size).toBe(1);
    const [ok] = await log.append([entry(1)]);
    expect(ok).toEqual({ status: 'accepted', leafIndex: 1, duplicate: false });
  });

  it('re-reads the stored tree after a commit whose outcome was unknown, and goes on from it', async () => {
    const storage = new CountingStorage();
    const log = await Log.open({ storage, signer });
    await log.append([entry(0)]);
    storage.loseNextAnswer = true;
    await expect(log.append([entry(1)])).rejects.toMatchObject({ code: 'storage_unavailable' });
    // The batch did land: the re-sent record is a duplicate, the next one takes leaf 2.
    expect(await log.append([entry(1), entry(2)])).toEqual([
      { status: 'accepted', leafIndex: 1, duplicate: true },
      { status: 'accepted', leafIndex: 2, duplicate: false },
    ]);
    expect(log.size).toBe(3);
    const note = openNote(log.latestCheckpoint().note, [verifier]);
    expect(parseCheckpoint(note.text).size).toBe(3);
  });

  it('refuses to open over a tree that no longer matches its signed checkpoint', async () => {
    const storage = new MemoryStorage();
    const log = await Log.open({ storage, signer });
    await log.append([entry(0), entry(1), entry(2)]);
    // Tamper with a hash the open check reads (leaf 2 is on the frontier of a 3-leaf tree: the
    // third hash of tile 0/0); edits elsewhere are found by a full `provenant verify`.
    const tiles = (storage as unknown as { tiles: Map<string, Uint8Array> }).tiles;
    tiles.get('0/0')!.set(new Uint8Array(32).fill(7), 64);
    await expect(Log.open({ storage, signer })).rejects.toMatchObject({ code: 'log_inconsistent' });
  });

  it('records its key in an empty ledger: a log with another key refuses it, even empty', async () => {
    const storage = new MemoryStorage();
    await Log.open({ storage, signer });
    const state = await storage.readState();
    expect(state.size).toBe(0);
    expect(checkpointOf(state.checkpoint!.note).size).toBe(0);
    const other = parseSignerKey(generateSignerKey('log.test/log').signerKey);
    await expect(Log.open({ storage, signer: other })).rejects.toMatchObject({
      code: 'log_key_mismatch',
      message: expect.stringContaining('needs the same log-signer.key') as string,
    });
    // The same key opens it again (its empty checkpoint is the same note: Ed25519 is deterministic).
    await expect(Log.open({ storage, signer })).resolves.toBeInstanceOf(Log);
  });

  it('of two logs opening one empty ledger with different keys, the second refuses', async () => {
    const storage = new MemoryStorage();
    const other = parseSignerKey(generateSignerKey('log.test/log').signerKey);
    const [a, b] = await Promise.allSettled([
      Log.open({ storage, signer }),
      Log.open({ storage, signer: other }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'log_key_mismatch' } });
  });

  it('refuses every append and commit while extension is refused, and resumes when lifted', async () => {
    const storage = new MemoryStorage();
    const log = await Log.open({ storage, signer });
    await log.append([entry(0)]);
    log.refuseExtension('a witness cosigned size 5');
    expect(log.extensionRefused).toBe('a witness cosigned size 5');
    await expect(log.append([entry(1)])).rejects.toMatchObject({
      code: 'log_behind_witness',
      message: 'a witness cosigned size 5',
    });
    expect(log.size).toBe(1);
    // Queue mode: records already queued are not sequenced either.
    const queued = await Log.open({ storage, signer, ingest: 'queue' });
    await queued.append([entry(2)]);
    queued.refuseExtension('behind');
    await expect(queued.sequencePending()).rejects.toMatchObject({ code: 'log_behind_witness' });
    expect((await storage.readState()).size).toBe(1);
    queued.refuseExtension(null);
    expect(await queued.sequencePending()).toBe(1);
    log.refuseExtension(null);
    await log.refresh();
    expect((await log.append([entry(3)]))[0]).toMatchObject({ leafIndex: 2 });
  });

  it('refuses to extend a log whose checkpoint another key signed', async () => {
    const storage = new MemoryStorage();
    const log = await Log.open({ storage, signer });
    await log.append([entry(0)]);
    const other = parseSignerKey(generateSignerKey('log.test/log').signerKey);
    await expect(Log.open({ storage, signer: other })).rejects.toMatchObject({
      code: 'log_key_mismatch',
    });
  });

  it('rejects proofs for sizes and leaves outside the log', async () => {
    const log = await Log.open({ storage: new MemoryStorage(), signer });
    await log.append([entry(0), entry(1)]);
    await expect(log.inclusionProof(0, 3)).rejects.toMatchObject({
      code: 'tree_size_out_of_range',
    });
    await expect(log.inclusionProof(2, 2)).rejects.toMatchObject({
      code: 'leaf_index_out_of_range',
    });
    await expect(log.consistencyProof(0, 2)).rejects.toMatchObject({
      code: 'tree_size_out_of_range',
    });
    await expect(log.consistencyProof(2, 1)).rejects.toMatchObject({
      code: 'tree_size_out_of_range',
    });
  });

  it('finishes queued appends on close and refuses new ones', async () => {
    const log = await Log.open({ storage: new MemoryStorage(), signer });
    const pending = log.append([entry(0)]);
    await log.close();
    expect((await pending)[0]).toMatchObject({ status: 'accepted', leafIndex: 0 });
    await expect(log.append([entry(1)])).rejects.toMatchObject({ code: 'log_closed' });
  });
});

describe('Log in queue mode (several collectors, one sequencer)', () => {
  async function cluster() {
    const storage = new MemoryStorage();
    let now = 1_800_000_000_000_000;
    const nowUs = () => ++now;
    const a = await Log.open({ storage, signer, ingest: 'queue', nowUs });
    const b = await Log.open({ storage, signer, ingest: 'queue', nowUs });
    return { storage, a, b };
  }

  it('acknowledges with a signed promise of inclusion, not a leaf index', async () => {
    const { storage, a } = await cluster();
    const [o] = await a.append([entry(1)]);
    expect(o).toMatchObject({ status: 'accepted', leafIndex: null, duplicate: false });
    const { promise: note, promiseProof: proof } = o as {
      promise: string;
      promiseProof: PromiseProof;
    };
    expect(note.startsWith(`${BATCH_PROMISE_HEADER}\n`)).toBe(true);
    const promise = openPromise(note, verifier, { id: entry(1).id, proof });
    expect(promise.id).toBe(entry(1).id);
    expect(Buffer.from(promise.leafHash)).toEqual(Buffer.from(entry(1).leafHash));
    expect(promise.receivedUs).toBe(1_800_000_000_000_001);
    expect(await storage.pendingCount()).toBe(1);
    expect(a.size).toBe(0);
    // The promise does not verify under another key, nor once edited.
    const other = parseVerifierKey(generateSignerKey('log.test/log').verifierKey);
    expect(() => openPromise(note, other, { id: entry(1).id, proof })).toThrow();
    const edited = note.replace('\n1\n', '\n2\n');
    expect(() => openPromise(edited, verifier, { id: entry(1).id, proof })).toThrow();
    // A note the log signed that is not a promise (a checkpoint) is refused as one.
    await a.sequencePending();
    expect(() => openPromise(a.latestCheckpoint().note, verifier)).toThrow(
      expect.objectContaining({ code: 'promise_malformed' }),
    );
    // And so is a promise with a field out of shape, even when signed by the log key.
    const bad = signNote(
      `${PROMISE_HEADER}\n${signer.name}\n${entry(1).id}\nnot-base64\n2026-11-27T00:00:00.000000Z\n`,
      [signer],
    );
    expect(() => openPromise(bad, verifier)).toThrow(
      expect.objectContaining({ code: 'promise_malformed' }),
    );
  });

  it('signs one promise for the records queued together, each with its proof in the batch', async () => {
    const { a } = await cluster();
    const sent = [1, 2, 3, 4, 5, 6, 7].map((i) => entry(i));
    const groups = await Promise.all([a.append(sent.slice(0, 3)), a.append(sent.slice(3))]);
    const outcomes = groups.flat() as { promise: string; promiseProof: PromiseProof }[];
    const notes = new Set(outcomes.map((o) => o.promise));
    expect(notes.size).toBe(1); // one transaction, one signature
    const [note] = [...notes] as [string];
    outcomes.forEach((o, i) => {
      const e = sent[i]!;
      expect(o.promiseProof.index).toBe(i);
      expect(openPromise(note, verifier, { id: e.id, proof: o.promiseProof }).id).toBe(e.id);
      // Another record's id, another leaf hash or another place does not verify.
      const wrong = (record: { id: string; proof: PromiseProof }) =>
        expect(() => openPromise(note, verifier, record)).toThrow(
          expect.objectContaining({ code: 'promise_malformed' }),
        );
      wrong({ id: sent[(i + 1) % 7]!.id, proof: o.promiseProof });
      wrong({ id: e.id, proof: { ...o.promiseProof, leafHash: sent[(i + 1) % 7]!.leafHash } });
      wrong({ id: e.id, proof: { ...o.promiseProof, index: (i + 1) % 7 } });
      wrong({ id: e.id, proof: { ...o.promiseProof, path: o.promiseProof.path.slice(1) } });
    });
    // Without the record and its proof a batch promise proves nothing.
    expect(() => openPromise(note, verifier)).toThrow(
      expect.objectContaining({ code: 'promise_malformed' }),
    );
    // A re-send still queued gets a promise of its own, with its first receive time.
    const [again] = await a.append([sent[0]!]);
    expect(again).toMatchObject({ status: 'accepted', leafIndex: null, duplicate: true });
    const own = openPromise((again as { promise: string }).promise, verifier);
    expect(own.id).toBe(sent[0]!.id);
    expect(own.receivedUs).toBe(1_800_000_000_000_001);
  });

  it('queues concurrent appends in one transaction, each answered with its own outcomes', async () => {
    class CountingQueue extends MemoryStorage {
      calls = 0;
      override async enqueue(...args: Parameters<MemoryStorage['enqueue']>) {
        this.calls++;
        return super.enqueue(...args);
      }
    }
    const storage = new CountingQueue();
    const log = await Log.open({ storage, signer, ingest: 'queue' });
    const [x, y, z] = await Promise.all([
      log.append([entry(1), entry(2)]),
      log.append([entry(3)]),
      log.append([entry(2), entry(4)]),
    ]);
    expect(storage.calls).toBe(1);
    expect(x!.map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect(y).toHaveLength(1);
    expect(z).toMatchObject([{ status: 'accepted', duplicate: true }, { duplicate: false }]);
    expect(await storage.pendingCount()).toBe(4);
    expect(log.queuedEntries).toBe(0);
  });

  it('sequences queued records from any collector into one tree that followers catch up with', async () => {
    const { storage, a, b } = await cluster();
    await a.append([entry(1), entry(2)]);
    await b.append([entry(3)]);
    expect(await a.sequencePending()).toBe(3);
    expect(a.size).toBe(3);
    expect(await storage.pendingCount()).toBe(0);
    expect(b.size).toBe(0);
    expect(await b.refresh()).toBe(true);
    expect(b.size).toBe(3);
    expect(b.latestCheckpoint()).toEqual(a.latestCheckpoint());
    expect(await b.refresh()).toBe(false);
    // A re-send after sequencing is answered from the log.
    expect(await b.append([entry(2)])).toEqual([
      { status: 'accepted', leafIndex: 1, duplicate: true },
    ]);
  });

  it('never forks when two instances sequence at once: the stale one re-reads and continues', async () => {
    const { a, b } = await cluster();
    await a.append([entry(1)]);
    await a.sequencePending();
    await a.append([entry(2)]);
    // b still believes the tree is empty: its batch is refused, nothing is stored twice.
    await expect(b.sequencePending()).rejects.toMatchObject({ code: 'storage_conflict' });
    expect(await b.sequencePending()).toBe(1); // re-read the tree, then sequenced entry 2
    expect(b.size).toBe(2);
    await a.append([entry(3)]);
    await expect(a.sequencePending()).rejects.toMatchObject({ code: 'storage_conflict' });
    expect(await a.sequencePending()).toBe(1);
    expect(a.size).toBe(3);
    const proof = await a.consistencyProof(1, 3);
    const root1 = await a.rootAt(1);
    const root3 = await a.rootAt(3);
    expect(() => verifyConsistency(1, 3, proof, root1, root3)).not.toThrow();
  });

  it('refuses to follow a stored tree that does not contain what it served', async () => {
    const { storage, a, b } = await cluster();
    await a.append([entry(1), entry(2)]);
    await a.sequencePending();
    await b.refresh();
    // Someone rewrites the stored tree under the followers (another key cannot sign for it).
    const forged = new MemoryStorage();
    const rogue = await Log.open({ storage: forged, signer });
    await rogue.append([entry(7), entry(8), entry(9)]);
    Object.assign(storage, forged);
    await expect(b.refresh()).rejects.toMatchObject({ code: 'log_inconsistent' });
    expect(b.size).toBe(2);
  });

  it('refuses another tree of the same size, and reads nothing more while the tree stands still', async () => {
    const { storage, a, b } = await cluster();
    await a.append([entry(1), entry(2)]);
    await a.sequencePending();
    await b.refresh();
    let nodeReads = 0;
    const getTiles = storage.getTiles.bind(storage);
    storage.getTiles = async (ids) => {
      nodeReads++;
      return getTiles(ids);
    };
    expect(await b.refresh()).toBe(false);
    expect(nodeReads).toBe(0);
    const forged = new MemoryStorage();
    const rogue = await Log.open({ storage: forged, signer });
    await rogue.append([entry(7), entry(8)]); // size 2 again, other leaves, same key
    Object.assign(storage, forged);
    await expect(b.refresh()).rejects.toMatchObject({ code: 'log_inconsistent' });
  });

  it('needs a storage with an ingest queue', async () => {
    const sqliteLike = new MemoryStorage() as unknown as Record<string, unknown>;
    sqliteLike['enqueue'] = undefined;
    await expect(
      Log.open({ storage: sqliteLike as unknown as MemoryStorage, signer, ingest: 'queue' }),
    ).rejects.toMatchObject({ code: 'log_not_sequencer' });
  });
});
