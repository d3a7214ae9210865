import { equalBytes } from '@provenant/core/vocabulary';
import { assemble, rootOfFrontier, rootPlan } from '../merkle/index.js';
import type { Frontier } from '../merkle/index.js';
import {
  formatCheckpoint,
  openNote,
  parseCheckpoint,
  signNote,
  verifierKeyString,
} from '../note/index.js';
import type { NoteSignerKey, NoteVerifierKey } from '../note/index.js';
import type {
  LogState,
  LogStorage,
  NewEntry,
  PendingLeaf,
  SequencedLeaf,
  StoredCheckpoint,
} from '../storage/port.js';
import { integrate } from '../tiles/layout.js';
import { readNodes } from '../tiles/read.js';
import type { AppendOutcome, PreparedEntry } from './entry.js';
import { LogError } from './errors.js';

/**
 * The sequencer: the verified frontier and latest checkpoint of the stored tree, and the one
 * place that extends it. A commit assigns leaf indices, integrates the leaves into the Merkle
 * tree, signs a checkpoint, and stores all three in one storage transaction.
 *
 * Invariant: every stored checkpoint is the root of the stored entries at its size, and each
 * new checkpoint extends the previous one (it is computed from the verified frontier), so the
 * log never signs a tree inconsistent with an earlier checkpoint. A failed commit (whose outcome
 * may be unknown) marks the frontier stale: it is re-read and re-verified before the next one.
 */
export class Sequencer {
  private stale = false;
  /**
   * Why the tree must not be extended now (evidence that a checkpoint this log published is
   * ahead of, or beside, the stored tree), or null. Every commit checks it.
   */
  refusal: string | null = null;
  /** Tail of the chain of exclusive sections (commits, refreshes). */
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly storage: LogStorage,
    private readonly signer: NoteSignerKey,
    private readonly verifier: NoteVerifierKey,
    private frontier: Frontier,
    private checkpoint: StoredCheckpoint,
  ) {}

  /**
   * Reads the stored tree and checks, before anything is served, that it still matches the
   * latest checkpoint this key signed. Fails closed otherwise.
   */
  static async open(
    storage: LogStorage,
    signer: NoteSignerKey,
    verifier: NoteVerifierKey,
  ): Promise<Sequencer> {
    let tree = await readVerifiedTree(storage, signer, verifier);
    if (!tree.stored) {
      // An empty ledger gets the empty tree's checkpoint, signed by this key, as its first row:
      // it records which key the log is, so a collector with another key refuses to start on it
      // (log_key_mismatch) before it could take a cluster's lease. Write-once: of two collectors
      // starting at once, the second re-reads what the first stored.
      try {
        await storage.append({ fromSize: 0, entries: [], tiles: [], checkpoint: tree.checkpoint });
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code !== 'storage_checkpoint_conflict' && code !== 'storage_conflict') throw e;
        tree = await readVerifiedTree(storage, signer, verifier);
      }
    }
    return new Sequencer(storage, signer, verifier, tree.frontier, tree.checkpoint);
  }

  get size(): number {
    return this.frontier.size;
  }

  latestCheckpoint(): StoredCheckpoint {
    return this.checkpoint;
  }

  /** Runs `fn` with no other exclusive section in flight (they all read or move the frontier). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => {});
    return run;
  }

  /**
   * Re-reads the stored tree (another instance may have extended it) and checks it against the
   * latest checkpoint this key signed and that it contains the tree served before. Returns
   * whether the tree grew. Call inside `exclusive`.
   */
  async refresh(): Promise<boolean> {
    const before = this.frontier.size;
    this.stale = true;
    await this.resyncIfStale();
    return this.frontier.size > before;
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
          : assemble(rootPlan(size), await readNodes(this.storage, rootPlan(size).nodes))[0]!;
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

  /**
   * Commits groups of entries (one per append call); answers each group's outcomes: an id
   * already stored (or earlier in the batch) with the same leaf hash is a duplicate with its
   * original leaf index, with another one an `id_conflict`. Call inside `exclusive`.
   */
  async commit(groups: readonly (readonly PreparedEntry[])[]): Promise<AppendOutcome[][]> {
    if (this.refusal !== null) throw new LogError('log_behind_witness', this.refusal);
    try {
      await this.resyncIfStale();
      return await this.commitOnce(groups);
    } catch (e) {
      // The batch may or may not be stored (a lost COMMIT answer, another sequencer): never
      // build on the in-memory frontier again before checking the stored one.
      this.stale = true;
      throw e;
    }
  }

  /**
   * Sequences queued entries (queue mode): gives each row whose id is not logged yet the next
   * leaf, integrates their leaf hashes, signs the checkpoint, and has the storage move the rows
   * (bytes and index columns, which never pass through here) and take them out of the queue in
   * one transaction. A row whose id is logged already only leaves the queue. No id is read back
   * first: the queue checked each against the log when it took it, and the read that found these
   * rows joined the log's id index. Call inside `exclusive`.
   */
  async commitQueued(leaves: readonly PendingLeaf[]): Promise<void> {
    if (this.refusal !== null) throw new LogError('log_behind_witness', this.refusal);
    try {
      await this.resyncIfStale();
      await this.commitQueuedOnce(leaves);
    } catch (e) {
      this.stale = true; // as in `commit`
      throw e;
    }
  }

  private async commitQueuedOnce(leaves: readonly PendingLeaf[]): Promise<void> {
    const fromSize = this.frontier.size;
    const sequenced: SequencedLeaf[] = [];
    const dequeue: number[] = [];
    for (const l of leaves) {
      if (l.logged) dequeue.push(l.seq);
      else
        sequenced.push({
          seq: l.seq,
          leafIndex: fromSize + sequenced.length,
          leafHash: l.leafHash,
        });
    }
    if (sequenced.length === 0 && dequeue.length === 0) return;
    const { frontier, tiles } = integrate(
      this.frontier,
      sequenced.map((q) => q.leafHash),
    );
    const checkpoint = this.checkpointOf(frontier);
    await this.storage.append({
      fromSize,
      entries: [],
      tiles,
      checkpoint,
      ...(sequenced.length > 0 ? { sequenced } : {}),
      ...(dequeue.length > 0 ? { dequeue } : {}),
    });
    this.frontier = frontier;
    this.checkpoint = checkpoint;
  }

  /** The checkpoint of `frontier`: the latest one again when it did not grow (queued duplicates). */
  private checkpointOf(frontier: Frontier): StoredCheckpoint {
    if (frontier.size === this.frontier.size) return this.checkpoint;
    const rootHash = rootOfFrontier(frontier);
    return {
      size: frontier.size,
      rootHash,
      note: signCheckpoint(this.signer, frontier.size, rootHash),
    };
  }

  private async commitOnce(
    groups: readonly (readonly PreparedEntry[])[],
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
    if (fresh.length === 0) return outcomes;

    const { frontier, tiles } = integrate(
      this.frontier,
      fresh.map((e) => e.leafHash),
    );
    const checkpoint = this.checkpointOf(frontier);
    await this.storage.append({ fromSize, entries: fresh, tiles, checkpoint });
    this.frontier = frontier;
    this.checkpoint = checkpoint;
    return outcomes;
  }
}

interface VerifiedTree {
  readonly frontier: Frontier;
  readonly checkpoint: StoredCheckpoint;
  /** False for an empty ledger with no checkpoint yet (the checkpoint is signed, not stored). */
  readonly stored: boolean;
}

/** Reads the stored tree and checks that it matches the latest checkpoint this key signed. */
async function readVerifiedTree(
  storage: LogStorage,
  signer: NoteSignerKey,
  verifier: NoteVerifierKey,
  state?: LogState,
): Promise<VerifiedTree> {
  state ??= await storage.readState();
  const hashes = await readNodes(storage, rootPlan(state.size).nodes);
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
      stored: false,
    };
  }
  let checked;
  try {
    checked = parseCheckpoint(openNote(stored.note, [verifier]).text);
  } catch (e) {
    throw new LogError(
      'log_key_mismatch',
      `The ledger belongs to another log key: its latest checkpoint (size ${stored.size}) is not signed by this collector's key ${verifierKeyString(verifier)}. Every collector of one log needs the same log-signer.key; refusing to extend it.`,
      { cause: (e as Error).message, size: stored.size },
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
  return { frontier, checkpoint: stored, stored: true };
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
    actionName: e.actionName ?? null,
    resource: e.resource ?? null,
    outcome: e.outcome ?? null,
    coverage: e.coverage ?? null,
  };
}

function signCheckpoint(signer: NoteSignerKey, size: number, rootHash: Uint8Array): string {
  return signNote(formatCheckpoint({ origin: signer.name, size, rootHash, extensions: [] }), [
    signer,
  ]);
}
