import { equalBytes } from '@provenant/core/vocabulary';
import {
  appendLeafHashes,
  assemble,
  consistencyPlan,
  inclusionPlan,
  rootOfFrontier,
  rootPlan,
} from '../merkle/index.js';
import type { Frontier } from '../merkle/index.js';
import {
  formatCheckpoint,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  signNote,
  verifierKeyString,
} from '../note/index.js';
import type { NoteSignerKey, NoteVerifierKey } from '../note/index.js';
import { hasIngestQueue } from '../storage/port.js';
import type {
  EntryIndexFields,
  IngestQueue,
  LogState,
  LogStorage,
  NewEntry,
  StoredCheckpoint,
} from '../storage/port.js';
import { LogError } from './errors.js';
import { signPromise } from './promise.js';

/** A record ready for the log: canonical bytes already hashed, index columns extracted. */
export interface PreparedEntry extends EntryIndexFields {
  readonly canonical: string;
  readonly leafHash: Uint8Array;
}

export type AppendOutcome =
  | {
      readonly status: 'accepted';
      /** Null while the record waits in the ingest queue (queue mode); see `promise`. */
      readonly leafIndex: number | null;
      readonly duplicate: boolean;
      /** Queue mode: the signed promise of inclusion (`./promise.ts`). */
      readonly promise?: string;
    }
  | { readonly status: 'id_conflict'; readonly leafIndex: number | null };

export interface LogOptions {
  readonly storage: LogStorage;
  /** The checkpoint signer; its key name is the log's origin line. */
  readonly signer: NoteSignerKey;
  /** Most entries committed in one transaction (group commit). */
  readonly maxBatchEntries?: number;
  /**
   * `direct` (default): `append` sequences and commits. `queue` (several collectors on one
   * database): `append` stores records in the storage's ingest queue and answers with signed
   * promises; the one instance holding the sequencer lease calls `sequencePending`.
   */
  readonly ingest?: 'direct' | 'queue';
  /** Clock for promise receive times, microseconds since the epoch; default from Date.now(). */
  readonly nowUs?: () => number;
}

interface Pending {
  readonly entries: readonly PreparedEntry[];
  readonly resolve: (outcomes: AppendOutcome[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Rows taken out of the ingest queue by the commit that sequences them. */
type Dequeue = readonly number[];

/**
 * The sequencer: assigns leaf indices, integrates leaves into the Merkle tree, signs a
 * checkpoint, and commits all three in one storage transaction. Concurrent `append` calls are
 * grouped into one commit; each resolves only after that commit is durable.
 *
 * Invariant: every stored checkpoint is the root of the stored entries at its size, and each
 * new checkpoint extends the previous one (it is computed from the verified frontier), so the
 * log never signs a tree inconsistent with an earlier checkpoint. A failed commit (whose outcome
 * may be unknown) marks the frontier stale: it is re-read and re-verified before the next one.
 */
export class Log {
  readonly origin: string;
  readonly verifierKey: string;
  private readonly storage: LogStorage;
  private readonly signer: NoteSignerKey;
  private readonly verifier: NoteVerifierKey;
  private readonly maxBatchEntries: number;
  private readonly ingestQueue: IngestQueue | null;
  private readonly nowUs: () => number;
  private frontier: Frontier;
  private checkpoint: StoredCheckpoint;
  private queue: Pending[] = [];
  private queued = 0;
  private flushing: Promise<void> | null = null;
  private closed = false;
  private stale = false;
  /** Queue mode: appends waiting for the next ingest-queue transaction. */
  private enqueueWaiting: Pending[] = [];
  private enqueueing: Promise<void> | null = null;

  private constructor(options: LogOptions, verifier: NoteVerifierKey, tree: VerifiedTree) {
    this.storage = options.storage;
    this.signer = options.signer;
    this.verifier = verifier;
    this.origin = options.signer.name;
    this.verifierKey = verifierKeyString(options.signer);
    this.maxBatchEntries = options.maxBatchEntries ?? 10_000;
    this.nowUs = options.nowUs ?? (() => Date.now() * 1000);
    this.frontier = tree.frontier;
    this.checkpoint = tree.checkpoint;
    if (options.ingest === 'queue') {
      if (!hasIngestQueue(options.storage)) {
        throw new LogError(
          'log_not_sequencer',
          `The ${options.storage.kind} storage has no ingest queue; queue mode needs one.`,
        );
      }
      this.ingestQueue = options.storage;
    } else {
      this.ingestQueue = null;
    }
  }

  /**
   * Opens the log over its storage and checks, before serving anything, that the stored tree
   * still matches the latest checkpoint this key signed. Fails closed otherwise.
   */
  static async open(options: LogOptions): Promise<Log> {
    const verifier = parseVerifierKey(verifierKeyString(options.signer));
    const tree = await readVerifiedTree(options.storage, options.signer, verifier);
    return new Log(options, verifier, tree);
  }

  get size(): number {
    return this.frontier.size;
  }

  /** Whether `append` enqueues (several collectors) rather than sequences. */
  get queueMode(): boolean {
    return this.ingestQueue !== null;
  }

  /** Entries waiting for a commit: the collector pushes back when this grows too large. */
  get queuedEntries(): number {
    return this.queued;
  }

  /** The latest signed checkpoint (a C2SP signed note). */
  latestCheckpoint(): StoredCheckpoint {
    return this.checkpoint;
  }

  /** The log's verifier for checking notes it signed (e.g. checkpoints of other sizes). */
  noteVerifier(): NoteVerifierKey {
    return this.verifier;
  }

  /**
   * Appends entries; resolves once they are durable. Re-sending an id with the same canonical
   * content gives back its original leaf index; the same id with other content is an
   * `id_conflict` and stores nothing. In queue mode the entries are durable in the ingest queue
   * and each accepted one carries a signed promise of inclusion instead of a leaf index.
   */
  append(entries: readonly PreparedEntry[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new LogError('log_closed', 'The log is closed.'));
    if (this.ingestQueue) {
      const queue = this.ingestQueue;
      return new Promise((resolve, reject) => {
        this.enqueueWaiting.push({ entries, resolve, reject });
        this.queued += entries.length;
        // Requests that arrive together share one queue transaction (one WAL flush).
        this.enqueueing ??= new Promise<void>((done) => setImmediate(done)).then(() =>
          this.drainEnqueue(queue),
        );
      });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ entries, resolve, reject });
      this.queued += entries.length;
      if (!this.flushing) {
        // Yield once so requests that arrived together share one commit.
        this.flushing = new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
      }
    });
  }

  /**
   * Queue mode, on the instance holding the sequencer lease: moves up to `limit` queued entries
   * into the log (leaf indices, tree, checkpoint and their removal from the queue in one
   * transaction). Returns how many left the queue. If another sequencer moved the tree meanwhile
   * the storage refuses the batch (no fork) and the next call starts from the stored tree.
   */
  async sequencePending(limit = this.maxBatchEntries): Promise<number> {
    const queue = this.ingestQueue;
    if (!queue) throw new LogError('log_not_sequencer', 'This log has no ingest queue.');
    if (this.closed) throw new LogError('log_closed', 'The log is closed.');
    return this.exclusive(async () => {
      const rows = await queue.readPending(limit);
      if (rows.length === 0) return 0;
      await this.commit(
        [rows],
        rows.map((r) => r.seq),
      );
      return rows.length;
    });
  }

  /**
   * Catches up with a tree another instance extended (followers of a cluster): re-reads the
   * stored tree, checks it against the latest checkpoint this key signed and that it contains
   * the tree this instance served before. Returns whether the tree grew.
   */
  async refresh(): Promise<boolean> {
    if (this.closed) return false;
    return this.exclusive(async () => {
      const before = this.frontier.size;
      this.stale = true;
      await this.resyncIfStale();
      return this.frontier.size > before;
    });
  }

  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    this.checkTreeSize(treeSize);
    if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= treeSize) {
      throw new LogError(
        'leaf_index_out_of_range',
        `Leaf ${leafIndex} is not in a tree of size ${treeSize}.`,
      );
    }
    const plan = inclusionPlan(leafIndex, treeSize);
    return assemble(plan, await this.storage.getNodes(plan.nodes));
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    this.checkTreeSize(to);
    if (!Number.isSafeInteger(from) || from < 1 || from > to) {
      throw new LogError(
        'tree_size_out_of_range',
        `A consistency proof needs 1 <= from <= to; got from=${from}, to=${to}.`,
      );
    }
    const plan = consistencyPlan(from, to);
    return assemble(plan, await this.storage.getNodes(plan.nodes));
  }

  /** The root hash of the tree at an earlier size, from stored subtree hashes. */
  async rootAt(treeSize: number): Promise<Uint8Array> {
    this.checkTreeSize(treeSize);
    const plan = rootPlan(treeSize);
    const [root] = assemble(plan, await this.storage.getNodes(plan.nodes));
    return root!;
  }

  /** Waits for queued appends to commit, then refuses new ones. Does not close the storage. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.enqueueing) await (this.flushing ?? this.enqueueing);
  }

  private checkTreeSize(treeSize: number): void {
    if (!Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > this.frontier.size) {
      throw new LogError(
        'tree_size_out_of_range',
        `Tree size ${treeSize} is outside 1..${this.frontier.size}.`,
      );
    }
  }

  /** Runs `fn` with no commit of this instance in flight (they all change the frontier). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.flushing) await this.flushing;
    let done!: () => void;
    this.flushing = new Promise<void>((r) => (done = r));
    try {
      return await fn();
    } finally {
      this.flushing = null;
      done();
    }
  }

  private async enqueue(
    queue: IngestQueue,
    entries: readonly PreparedEntry[],
  ): Promise<AppendOutcome[]> {
    const receivedUs = this.nowUs();
    const outcomes = await queue.enqueue(entries.map((e) => ({ ...e, receivedUs })));
    return outcomes.map((o, i): AppendOutcome => {
      const e = entries[i]!;
      // The queue reports what holds the id; the same rule as for direct appends decides.
      if (o.status === 'logged') {
        return equalBytes(o.leafHash, e.leafHash)
          ? { status: 'accepted', leafIndex: o.leafIndex, duplicate: true }
          : { status: 'id_conflict', leafIndex: o.leafIndex };
      }
      const duplicate = o.status === 'already_queued';
      if (duplicate && !equalBytes(o.leafHash, e.leafHash)) {
        return { status: 'id_conflict', leafIndex: null };
      }
      const promise = signPromise(this.signer, {
        id: e.id,
        leafHash: e.leafHash,
        receivedUs: o.receivedUs,
      });
      return { status: 'accepted', leafIndex: null, duplicate, promise };
    });
  }

  private async drainEnqueue(queue: IngestQueue): Promise<void> {
    try {
      while (this.enqueueWaiting.length > 0) {
        const batch = this.takeBatch(this.enqueueWaiting);
        try {
          const outcomes = await this.enqueue(
            queue,
            batch.flatMap((p) => p.entries),
          );
          let at = 0;
          for (const p of batch) {
            p.resolve(outcomes.slice(at, at + p.entries.length));
            at += p.entries.length;
          }
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.enqueueing = null;
    }
  }

  /** Takes appends off `waiting` up to maxBatchEntries (at least one). */
  private takeBatch(waiting: Pending[]): Pending[] {
    const batch: Pending[] = [];
    let count = 0;
    while (
      waiting.length > 0 &&
      (batch.length === 0 || count + waiting[0]!.entries.length <= this.maxBatchEntries)
    ) {
      const next = waiting.shift()!;
      batch.push(next);
      count += next.entries.length;
    }
    this.queued -= count;
    return batch;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch(this.queue);
        try {
          const outcomes = await this.commit(batch.map((p) => p.entries));
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Re-reads the stored tree after a failed commit (whose outcome may be unknown). */
  private async resyncIfStale(): Promise<void> {
    if (!this.stale) return;
    const size = this.frontier.size;
    const state = await this.storage.readState();
    if (state.size === size && state.checkpoint?.note === this.checkpoint.note) {
      this.stale = false; // nothing moved (a follower's usual refresh): no more reads
      return;
    }
    const next = await readVerifiedTree(this.storage, this.signer, this.verifier, state);
    if (next.frontier.size < size) {
      throw new LogError(
        'log_inconsistent',
        `The stored tree shrank from ${size} to ${next.frontier.size} entries.`,
      );
    }
    if (size > 0) {
      // The stored tree must contain the one this instance signed or served before.
      const root =
        next.frontier.size === size
          ? next.checkpoint.rootHash // verified against the stored nodes just now
          : assemble(rootPlan(size), await this.storage.getNodes(rootPlan(size).nodes))[0]!;
      if (!equalBytes(root, this.checkpoint.rootHash)) {
        throw new LogError(
          'log_inconsistent',
          `The stored tree does not extend the checkpoint of size ${size} this log signed.`,
        );
      }
    }
    this.frontier = next.frontier;
    this.checkpoint = next.checkpoint;
    this.stale = false;
  }

  /** Commits groups of entries (one per append call); answers each group's outcomes. */
  private async commit(
    groups: readonly (readonly PreparedEntry[])[],
    dequeue?: Dequeue,
  ): Promise<AppendOutcome[][]> {
    try {
      await this.resyncIfStale();
      return await this.commitOnce(groups, dequeue);
    } catch (e) {
      // The batch may or may not be stored (a lost COMMIT answer, another sequencer): never
      // build on the in-memory frontier again before checking the stored one.
      this.stale = true;
      throw e;
    }
  }

  private async commitOnce(
    groups: readonly (readonly PreparedEntry[])[],
    dequeue?: Dequeue,
  ): Promise<AppendOutcome[][]> {
    const ids: string[] = [];
    for (const g of groups) for (const e of g) ids.push(e.id);
    const existing = await this.storage.findExisting(ids);
    const fromSize = this.frontier.size;
    const fresh: NewEntry[] = [];
    const inBatch = new Map<string, NewEntry>();
    const outcomes = groups.map((g) =>
      g.map((e): AppendOutcome => {
        const prior = existing.get(e.id) ?? inBatch.get(e.id);
        if (prior) {
          return equalBytes(prior.leafHash, e.leafHash)
            ? { status: 'accepted', leafIndex: prior.leafIndex, duplicate: true }
            : { status: 'id_conflict', leafIndex: prior.leafIndex };
        }
        const entry = toNewEntry(e, fromSize + fresh.length);
        fresh.push(entry);
        inBatch.set(e.id, entry);
        return { status: 'accepted', leafIndex: entry.leafIndex, duplicate: false };
      }),
    );
    if (fresh.length === 0 && !dequeue) return outcomes;

    const { frontier, nodes } = appendLeafHashes(
      this.frontier,
      fresh.map((e) => e.leafHash),
    );
    const rootHash = rootOfFrontier(frontier);
    // A batch of queued duplicates only leaves the queue: it re-signs the same size and root.
    const checkpoint: StoredCheckpoint =
      fresh.length === 0
        ? this.checkpoint
        : {
            size: frontier.size,
            rootHash,
            note: signCheckpoint(this.signer, frontier.size, rootHash),
          };
    await this.storage.append({
      fromSize,
      entries: fresh,
      nodes,
      checkpoint,
      ...(dequeue ? { dequeue } : {}),
    });
    this.frontier = frontier;
    this.checkpoint = checkpoint;
    return outcomes;
  }
}

interface VerifiedTree {
  readonly frontier: Frontier;
  readonly checkpoint: StoredCheckpoint;
}

/** Reads the stored tree and checks that it matches the latest checkpoint this key signed. */
async function readVerifiedTree(
  storage: LogStorage,
  signer: NoteSignerKey,
  verifier: NoteVerifierKey,
  state?: LogState,
): Promise<VerifiedTree> {
  state ??= await storage.readState();
  const hashes = await storage.getNodes(rootPlan(state.size).nodes);
  const frontier: Frontier = { size: state.size, hashes };
  const root = rootOfFrontier(frontier);
  const stored = state.checkpoint;
  if (!stored) {
    if (state.size !== 0) {
      throw new LogError(
        'log_inconsistent',
        `The ledger holds ${state.size} entries but no checkpoint.`,
      );
    }
    return {
      frontier,
      checkpoint: { size: 0, rootHash: root, note: signCheckpoint(signer, 0, root) },
    };
  }
  let checked;
  try {
    checked = parseCheckpoint(openNote(stored.note, [verifier]).text);
  } catch (e) {
    throw new LogError(
      'log_key_mismatch',
      'The latest stored checkpoint is not signed by this log key; refusing to extend it.',
      { cause: (e as Error).message },
    );
  }
  if (
    checked.origin !== signer.name ||
    checked.size !== state.size ||
    !equalBytes(checked.rootHash, root)
  ) {
    throw new LogError(
      'log_inconsistent',
      `The stored tree (size ${state.size}) does not match the latest signed checkpoint (size ${checked.size}).`,
    );
  }
  return { frontier, checkpoint: stored };
}

// A plain literal: object spread costs 2-3x on this hot path (shared/FLOORS.md).
function toNewEntry(e: PreparedEntry, leafIndex: number): NewEntry {
  return {
    leafIndex,
    id: e.id,
    canonical: e.canonical,
    leafHash: e.leafHash,
    type: e.type,
    timeUs: e.timeUs,
    initiator: e.initiator,
    actor: e.actor,
    taskId: e.taskId,
    traceId: e.traceId,
    level: e.level,
    coverage: e.coverage ?? null,
  };
}

function signCheckpoint(signer: NoteSignerKey, size: number, rootHash: Uint8Array): string {
  return signNote(formatCheckpoint({ origin: signer.name, size, rootHash, extensions: [] }), [
    signer,
  ]);
}

export { equalBytes };
