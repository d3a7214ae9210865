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
import type { EntryIndexFields, LogStorage, NewEntry, StoredCheckpoint } from '../storage/port.js';
import { LogError } from './errors.js';

/** A record ready for the log: canonical bytes already hashed, index columns extracted. */
export interface PreparedEntry extends EntryIndexFields {
  readonly canonical: string;
  readonly leafHash: Uint8Array;
}

export type AppendOutcome =
  | { readonly status: 'accepted'; readonly leafIndex: number; readonly duplicate: boolean }
  | { readonly status: 'id_conflict'; readonly leafIndex: number };

export interface LogOptions {
  readonly storage: LogStorage;
  /** The checkpoint signer; its key name is the log's origin line. */
  readonly signer: NoteSignerKey;
  /** Most entries committed in one transaction (group commit). */
  readonly maxBatchEntries?: number;
}

interface Pending {
  readonly entries: readonly PreparedEntry[];
  readonly resolve: (outcomes: AppendOutcome[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The sequencer: assigns leaf indices, integrates leaves into the Merkle tree, signs a
 * checkpoint, and commits all three in one storage transaction. Concurrent `append` calls are
 * grouped into one commit; each resolves only after that commit is durable.
 *
 * Invariant: every stored checkpoint is the root of the stored entries at its size, and each
 * new checkpoint extends the previous one (it is computed from the verified frontier), so the
 * log never signs a tree inconsistent with an earlier checkpoint.
 */
export class Log {
  readonly origin: string;
  readonly verifierKey: string;
  private readonly storage: LogStorage;
  private readonly signer: NoteSignerKey;
  private readonly verifier: NoteVerifierKey;
  private readonly maxBatchEntries: number;
  private frontier: Frontier;
  private checkpoint: StoredCheckpoint;
  private queue: Pending[] = [];
  private queued = 0;
  private flushing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    options: LogOptions,
    verifier: NoteVerifierKey,
    frontier: Frontier,
    checkpoint: StoredCheckpoint,
  ) {
    this.storage = options.storage;
    this.signer = options.signer;
    this.verifier = verifier;
    this.origin = options.signer.name;
    this.verifierKey = verifierKeyString(options.signer);
    this.maxBatchEntries = options.maxBatchEntries ?? 10_000;
    this.frontier = frontier;
    this.checkpoint = checkpoint;
  }

  /**
   * Opens the log over its storage and checks, before serving anything, that the stored tree
   * still matches the latest checkpoint this key signed. Fails closed otherwise.
   */
  static async open(options: LogOptions): Promise<Log> {
    const { storage, signer } = options;
    const verifier = parseVerifierKey(verifierKeyString(signer));
    const state = await storage.readState();
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
      const empty = { size: 0, rootHash: root, note: signCheckpoint(signer, 0, root) };
      return new Log(options, verifier, frontier, empty);
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
    return new Log(options, verifier, frontier, stored);
  }

  get size(): number {
    return this.frontier.size;
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
   * `id_conflict` and stores nothing.
   */
  append(entries: readonly PreparedEntry[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new LogError('log_closed', 'The log is closed.'));
    return new Promise((resolve, reject) => {
      this.queue.push({ entries, resolve, reject });
      this.queued += entries.length;
      if (!this.flushing) {
        // Yield once so requests that arrived together share one commit.
        this.flushing = new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
      }
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
    while (this.flushing) await this.flushing;
  }

  private checkTreeSize(treeSize: number): void {
    if (!Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > this.frontier.size) {
      throw new LogError(
        'tree_size_out_of_range',
        `Tree size ${treeSize} is outside 1..${this.frontier.size}.`,
      );
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let count = 0;
        while (
          this.queue.length > 0 &&
          (batch.length === 0 || count + this.queue[0]!.entries.length <= this.maxBatchEntries)
        ) {
          const next = this.queue.shift()!;
          batch.push(next);
          count += next.entries.length;
        }
        this.queued -= count;
        try {
          const outcomes = await this.commit(batch);
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async commit(batch: readonly Pending[]): Promise<AppendOutcome[][]> {
    const ids: string[] = [];
    for (const p of batch) for (const e of p.entries) ids.push(e.id);
    const existing = await this.storage.findExisting(ids);
    const fromSize = this.frontier.size;
    const fresh: NewEntry[] = [];
    const inBatch = new Map<string, NewEntry>();
    const outcomes = batch.map((p) =>
      p.entries.map((e): AppendOutcome => {
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
    if (fresh.length === 0) return outcomes;

    const { frontier, nodes } = appendLeafHashes(
      this.frontier,
      fresh.map((e) => e.leafHash),
    );
    const rootHash = rootOfFrontier(frontier);
    const checkpoint: StoredCheckpoint = {
      size: frontier.size,
      rootHash,
      note: signCheckpoint(this.signer, frontier.size, rootHash),
    };
    await this.storage.append({ fromSize, entries: fresh, nodes, checkpoint });
    this.frontier = frontier;
    this.checkpoint = checkpoint;
    return outcomes;
  }
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
  };
}

function signCheckpoint(signer: NoteSignerKey, size: number, rootHash: Uint8Array): string {
  return signNote(formatCheckpoint({ origin: signer.name, size, rootHash, extensions: [] }), [
    signer,
  ]);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
