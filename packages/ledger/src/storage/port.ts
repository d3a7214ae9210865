import type { TileId, TileWrite } from '../tiles/layout.js';
import type { CoverageFacts, CoverageFactsFilter } from './coverage.js';

/**
 * The storage port. Drivers only store and read: sequencing, hashing and signing live in the
 * log (`../log`), so every driver gets the same guarantees from the same code.
 *
 * A driver keeps, for leaf index i: the canonical record bytes, their leaf hash, and the index
 * columns the query API filters on; the Merkle tree as C2SP tlog-tiles hash tiles (../tiles/
 * layout.ts: one row a tile, 256 hashes of every eighth tree level, a partial tile growing on the
 * right edge), so any proof or root reads O(log n) tiles (../tiles/read.ts); and every signed
 * checkpoint.
 */

/** The columns of an entry that queries filter on, extracted from the record by the log. */
export interface EntryIndexFields {
  readonly id: string;
  readonly type: string;
  /** Event time in microseconds since the epoch (UTC), for time-range filters. */
  readonly timeUs: number;
  readonly initiator: string | null;
  readonly actor: string | null;
  readonly taskId: string | null;
  readonly traceId: string | null;
  readonly level: string;
  /** `action.name` of the record; absent or null: it has none. */
  readonly actionName?: string | null;
  /**
   * `action.resource`; absent or null: none. Kept only beside an action name (a record's
   * resource is its action's): a driver stores null when `actionName` is null.
   */
  readonly resource?: string | null;
  /** `outcome.status` (core's OUTCOME_STATUSES); absent or null: none. */
  readonly outcome?: string | null;
  /** What the coverage report aggregates (./coverage.ts); absent or null: not computed. */
  readonly coverage?: CoverageFacts | null;
}

export interface NewEntry extends EntryIndexFields {
  readonly leafIndex: number;
  /** RFC 8785 canonical JSON of the record (without `integrity`): exactly the Merkle leaf data. */
  readonly canonical: string;
  readonly leafHash: Uint8Array;
}

export type StoredEntry = NewEntry;

export interface StoredCheckpoint {
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The signed note, byte for byte as served. */
  readonly note: string;
}

export interface LogState {
  readonly size: number;
  /** The checkpoint of the largest size, or null before the first append. */
  readonly checkpoint: StoredCheckpoint | null;
}

/** One atomic append: everything lands in one transaction or nothing does. */
export interface AppendBatch {
  /** The size the batch was built on; a driver refuses the batch if the stored size differs. */
  readonly fromSize: number;
  readonly entries: readonly NewEntry[];
  /**
   * What the batch adds to the hash tiles (`integrate` in ../tiles/layout.ts): level 0 the
   * entries' leaf hashes, then every node of tree levels 8, 16, … the batch completes. A driver
   * refuses the batch (`storage_conflict`) when a tile does not hold exactly `from` hashes.
   */
  readonly tiles: readonly TileWrite[];
  readonly checkpoint: StoredCheckpoint;
  /**
   * Queued rows this batch moves into the log (queue mode), taking the leaves after `entries`
   * (`fromSize + entries.length + i`) in this order: the driver copies each row's canonical bytes
   * and index columns from its queue itself, so they never pass through the sequencer, which
   * only reads the leaf hashes (`IngestQueue.readPendingLeaves`). It refuses the batch if a row
   * is no longer queued or holds another leaf hash, and removes the rows from the queue in the
   * same transaction.
   */
  readonly sequenced?: readonly SequencedLeaf[];
  /**
   * Pending rows (by `seq`) this batch takes out of the ingest queue without logging them (their
   * id is logged already), in the same transaction; the driver refuses the batch if any of them
   * is no longer queued.
   */
  readonly dequeue?: readonly number[];
}

/** A queued row the sequencer gives a leaf (see `AppendBatch.sequenced`). */
export interface SequencedLeaf {
  readonly seq: number;
  readonly leafIndex: number;
  /** The row's leaf hash, as `readPendingLeaves` read it (the driver checks it is unchanged). */
  readonly leafHash: Uint8Array;
}

/**
 * The console's one search box (`q`): entries matching any of these lookups (an OR), each one
 * indexed. The caller decides which apply to its text (an id only when it is a UUID, …).
 */
export interface SearchTerms {
  readonly id?: string;
  readonly traceId?: string;
  readonly initiator?: string;
  readonly actor?: string;
  /** A resource prefix. */
  readonly resource?: string;
  /** An action-name glob (see `EntryFilter.action`). */
  readonly action?: string;
}

/** What a filter selects, without paging: what `countEntries` counts. */
export interface EntrySelection {
  readonly initiator?: string;
  readonly actor?: string;
  readonly type?: string;
  readonly taskId?: string;
  readonly traceId?: string;
  readonly level?: string;
  /** Inclusive lower bound on event time, microseconds since the epoch. */
  readonly fromUs?: number;
  /** Exclusive upper bound on event time, microseconds since the epoch. */
  readonly toUs?: number;
  /** Only entries whose coverage facts pass this filter (entries without facts never do). */
  readonly coverage?: CoverageFactsFilter;
  /**
   * Action-name glob: `*` matches any run of characters (also none), every other character
   * only itself (case-sensitive); without `*` an exact name.
   */
  readonly action?: string;
  /** Resource prefix (`repo:acme/` matches `repo:acme/payments`; the whole value matches too). */
  readonly resource?: string;
  /** Outcome status, exactly. */
  readonly outcome?: string;
  /** Only entries matching at least one of these lookups (and every other condition). */
  readonly anyOf?: SearchTerms;
}

export interface EntryFilter extends EntrySelection {
  /** Only entries with a leaf index strictly greater than this (cursor pagination). */
  readonly afterLeafIndex?: number;
  /** Only entries with a leaf index strictly less than this. */
  readonly beforeLeafIndex?: number;
  /**
   * Which `limit` entries, in which order: `asc` (default) the lowest leaf indices first, `desc`
   * the highest (newest in log order) first.
   */
  readonly order?: 'asc' | 'desc';
  readonly limit: number;
}

/** How many entries a selection holds: exact, or (`exact: false`) at least `count`. */
export interface EntryCount {
  readonly count: number;
  readonly exact: boolean;
}

/** One entry as read back for verification: its leaf data (the canonical bytes) and stored hash. */
export interface LeafSource {
  readonly leafIndex: number;
  readonly data: Uint8Array;
  readonly storedLeafHash?: Uint8Array;
}

export interface ExistingEntry {
  readonly leafIndex: number;
  readonly leafHash: Uint8Array;
}

export interface LogStorage {
  /** The driver's name, e.g. `sqlite` or `memory`, for health reports. */
  readonly kind: string;
  readState(): Promise<LogState>;
  /**
   * Atomically stores a batch; resolves only once it is durable. Refuses (and stores nothing of)
   * a batch built on another size or whose entries do not take the leaves from `fromSize` on
   * (`storage_conflict`), tile writes that do not extend the stored tiles (`storage_conflict`),
   * a checkpoint of a stored size with other bytes (checkpoints are
   * write-once: `storage_checkpoint_conflict`), and `dequeue` without an ingest queue
   * (`storage_no_queue`).
   */
  append(batch: AppendBatch): Promise<void>;
  /** Already stored entries among these ids (for idempotent re-sends). */
  findExisting(ids: readonly string[]): Promise<Map<string, ExistingEntry>>;
  getEntryById(id: string): Promise<StoredEntry | null>;
  /** Entries with leaf index in [start, start + count), in order. */
  getEntries(start: number, count: number): Promise<StoredEntry[]>;
  /**
   * Leaf data as stored (bytes, not decoded) and stored leaf hash for [start, start + count),
   * in order, skipping none that exist: what offline verification reads (`verifyStoredLog`).
   */
  readLeaves(start: number, count: number): Promise<LeafSource[]>;
  /**
   * The stored hash tiles, in the order asked: each as stored (32 bytes a hash, 256 for a full
   * tile, fewer for the partial one on the right edge), null where none is stored. Proofs, roots
   * and the tile routes read only these (../tiles/read.ts computes the levels between).
   */
  getTiles(ids: readonly TileId[]): Promise<(Uint8Array | null)[]>;
  queryEntries(filter: EntryFilter): Promise<StoredEntry[]>;
  /**
   * How many entries match: exact when at most `cap` do, else `{ count: cap, exact: false }`
   * (at least `cap`). A driver may answer exactly beyond the cap; its cost stays bounded by the
   * cap for the indexed lookups (action, resource, outcome, search terms).
   */
  countEntries(selection: EntrySelection, cap: number): Promise<EntryCount>;
  /** Checkpoint of exactly this size, or null. */
  getCheckpoint(size: number): Promise<StoredCheckpoint | null>;
  /**
   * The lowest leaf index below `size` with no stored entry, or null when [0, size) is complete:
   * a row deleted from the middle of a ledger leaves its tree and checkpoints intact, so only
   * this finds it. One count on an intact ledger.
   */
  firstMissingLeaf(size: number): Promise<number | null>;
  /** Liveness of the backing store. */
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

/** A record accepted by a collector and stored durably, waiting for the sequencer. */
export interface PendingEntry extends EntryIndexFields {
  readonly canonical: string;
  readonly leafHash: Uint8Array;
  /** When the collector received it, microseconds since the epoch. */
  readonly receivedUs: number;
}

export interface QueuedEntry extends PendingEntry {
  /** Queue order (increasing; gaps allowed). */
  readonly seq: number;
}

/** What the sequencer reads of a queued entry: its place in the queue and its leaf hash. */
export interface PendingLeaf {
  readonly seq: number;
  readonly leafHash: Uint8Array;
  /** The entry of the log that holds this row's id already (then the row only leaves), or null. */
  readonly logged: ExistingEntry | null;
}

/**
 * What the queue found for one entry. The queue decides nothing about duplicates: it reports what
 * holds the id, and the log compares leaf hashes (the same rule as for direct appends).
 */
export type EnqueueOutcome =
  /** Stored in the queue now. */
  | { readonly status: 'queued'; readonly receivedUs: number }
  /** The id was already queued (earlier, or earlier in this call); nothing stored. */
  | {
      readonly status: 'already_queued';
      readonly leafHash: Uint8Array;
      readonly receivedUs: number;
    }
  /** The id is already in the log; nothing stored. */
  | { readonly status: 'logged'; readonly leafIndex: number; readonly leafHash: Uint8Array };

/**
 * The ingest queue of several collectors over one database (issue 8): every collector enqueues,
 * the one sequencer drains the queue into the log (`AppendBatch.dequeue`). A driver that
 * implements it checks ids against both the queue and the log atomically with respect to the
 * sequencer's appends, so an id is never queued twice nor queued once it is logged.
 */
export interface IngestQueue {
  /** Stores entries durably in the queue (one transaction); resolves once committed. */
  enqueue(entries: readonly PendingEntry[]): Promise<EnqueueOutcome[]>;
  /** The oldest queued entries, by `seq`. */
  readPending(limit: number): Promise<QueuedEntry[]>;
  /**
   * The oldest queued entries, by `seq`, as the sequencer needs them: seq, leaf hash and whether
   * the id is logged already; not their bytes (the append copies those, `AppendBatch.sequenced`).
   */
  readPendingLeaves(limit: number): Promise<PendingLeaf[]>;
  /** How many entries wait in the queue. */
  pendingCount(): Promise<number>;
  /** The queued entry with this id, or null (not queued: logged, or never received). */
  getQueued(id: string): Promise<QueuedEntry | null>;
}

export function hasIngestQueue(storage: LogStorage): storage is LogStorage & IngestQueue {
  return typeof (storage as Partial<IngestQueue>).enqueue === 'function';
}
