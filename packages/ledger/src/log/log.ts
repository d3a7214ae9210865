import { assemble, consistencyPlan, inclusionPlan, rootPlan } from '../merkle/index.js';
import { parseVerifierKey, verifierKeyString } from '../note/index.js';
import type { NoteSignerKey, NoteVerifierKey } from '../note/index.js';
import { hasIngestQueue } from '../storage/port.js';
import { TileTreeCache, readNodes } from '../tiles/read.js';
import type { LogStorage, StoredCheckpoint } from '../storage/port.js';
import { GroupCommit } from './batcher.js';
import { ClusterAppender } from './cluster.js';
import { directCommit } from './direct.js';
import type { AppendOutcome, PreparedEntry } from './entry.js';
import { LogError } from './errors.js';
import { Sequencer } from './sequencer.js';

export type { AppendOutcome, PreparedEntry } from './entry.js';
export { equalBytes } from '@provenant/core/vocabulary';

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

/**
 * The transparency log: a sequencer (`./sequencer.ts`: the verified tree, commits, checkpoint
 * signing) fed by one appender per ingest mode: direct (`./direct.ts`: group commits into the
 * tree) or cluster (`./cluster.ts`: group commits into the ingest queue, signed promises, and
 * draining the queue on the lease holder). Both group appends with `./batcher.ts`.
 */
export class Log {
  readonly origin: string;
  readonly verifierKey: string;
  private readonly storage: LogStorage;
  private readonly verifier: NoteVerifierKey;
  private readonly sequencer: Sequencer;
  /** Queue mode: the cluster appender (null for direct appends). */
  private readonly cluster: ClusterAppender | null;
  private readonly batcher: GroupCommit<AppendOutcome[]>;
  /** The levels of the tiles proofs read, computed once (../tiles/read.ts). */
  private readonly tileTrees = new TileTreeCache();
  private closed = false;

  private constructor(options: LogOptions, verifier: NoteVerifierKey, sequencer: Sequencer) {
    this.storage = options.storage;
    this.verifier = verifier;
    this.sequencer = sequencer;
    this.origin = options.signer.name;
    this.verifierKey = verifierKeyString(options.signer);
    const maxBatchEntries = options.maxBatchEntries ?? 10_000;
    if (options.ingest === 'queue') {
      if (!hasIngestQueue(options.storage)) {
        throw new LogError(
          'log_not_sequencer',
          `The ${options.storage.kind} storage has no ingest queue; queue mode needs one.`,
        );
      }
      const cluster = new ClusterAppender(
        sequencer,
        options.storage,
        options.signer,
        maxBatchEntries,
        options.nowUs ?? (() => Date.now() * 1000),
      );
      this.cluster = cluster;
      this.batcher = new GroupCommit(maxBatchEntries, (groups) => cluster.enqueueGroups(groups));
    } else {
      this.cluster = null;
      this.batcher = new GroupCommit(maxBatchEntries, directCommit(sequencer));
    }
  }

  /**
   * Opens the log over its storage and checks, before serving anything, that the stored tree
   * still matches the latest checkpoint this key signed. Fails closed otherwise.
   */
  static async open(options: LogOptions): Promise<Log> {
    const verifier = parseVerifierKey(verifierKeyString(options.signer));
    const sequencer = await Sequencer.open(options.storage, options.signer, verifier);
    return new Log(options, verifier, sequencer);
  }

  get size(): number {
    return this.sequencer.size;
  }

  /** Whether `append` enqueues (several collectors) rather than sequences. */
  get queueMode(): boolean {
    return this.cluster !== null;
  }

  /** Entries waiting for a commit: the collector pushes back when this grows too large. */
  get queuedEntries(): number {
    return this.batcher.pendingEntries;
  }

  /** The latest signed checkpoint (a C2SP signed note). */
  latestCheckpoint(): StoredCheckpoint {
    return this.sequencer.latestCheckpoint();
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
    const refusal = this.sequencer.refusal;
    if (refusal !== null) return Promise.reject(new LogError('log_behind_witness', refusal));
    return this.batcher.submit(entries);
  }

  /**
   * Refuses every append and every commit (`log_behind_witness`, with `reason` as its message)
   * while evidence shows a checkpoint of this log that the stored tree does not extend: its last
   * cosigned checkpoint, or a witness, is ahead or holds another root. Extending such a tree
   * would hand out leaf indices already published for other records. `null` lifts it.
   */
  refuseExtension(reason: string | null): void {
    this.sequencer.refusal = reason;
  }

  /** Why appends are refused (see `refuseExtension`), or null. */
  get extensionRefused(): string | null {
    return this.sequencer.refusal;
  }

  /**
   * Queue mode, on the instance holding the sequencer lease: moves up to `limit` queued entries
   * into the log. Returns how many left the queue (see `ClusterAppender.sequencePending`).
   */
  async sequencePending(limit?: number): Promise<number> {
    if (!this.cluster) throw new LogError('log_not_sequencer', 'This log has no ingest queue.');
    if (this.closed) throw new LogError('log_closed', 'The log is closed.');
    return this.cluster.sequencePending(limit);
  }

  /**
   * Catches up with a tree another instance extended (followers of a cluster): re-reads the
   * stored tree, checks it against the latest checkpoint this key signed and that it contains
   * the tree this instance served before. Returns whether the tree grew.
   */
  async refresh(): Promise<boolean> {
    if (this.closed) return false;
    return this.sequencer.exclusive(() => this.sequencer.refresh());
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
    return assemble(plan, await readNodes(this.storage, plan.nodes, this.tileTrees));
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
    return assemble(plan, await readNodes(this.storage, plan.nodes, this.tileTrees));
  }

  /** The root hash of the tree at an earlier size, from the stored hash tiles. */
  async rootAt(treeSize: number): Promise<Uint8Array> {
    this.checkTreeSize(treeSize);
    const plan = rootPlan(treeSize);
    const [root] = assemble(plan, await readNodes(this.storage, plan.nodes, this.tileTrees));
    return root!;
  }

  /** Waits for queued appends to commit, then refuses new ones. Does not close the storage. */
  async close(): Promise<void> {
    this.closed = true;
    await this.batcher.idle();
    await this.sequencer.exclusive(async () => {}); // a sequencing or refresh in flight
  }

  private checkTreeSize(treeSize: number): void {
    if (!Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > this.sequencer.size) {
      throw new LogError(
        'tree_size_out_of_range',
        `Tree size ${treeSize} is outside 1..${this.sequencer.size}.`,
      );
    }
  }
}
