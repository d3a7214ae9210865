import type { TileId } from '../../tiles/layout.js';
import { CoverageCounter, matchesCoverage } from '../coverage.js';
import type {
  CoverageCounts,
  CoverageFacts,
  CoverageIndex,
  CoverageRange,
  CoverageRule,
} from '../coverage.js';
import {
  StorageError,
  checkLeafIndices,
  checkTileWrites,
  checkpointConflict,
  tileConflict,
} from '../errors.js';
import { globMatcher } from '../search.js';
import { equalBytes } from '@provenant/core/vocabulary';
import type {
  AppendBatch,
  EntryCount,
  EntryFilter,
  EntrySelection,
  EnqueueOutcome,
  ExistingEntry,
  IngestQueue,
  LeafSource,
  LogState,
  LogStorage,
  PendingEntry,
  PendingLeaf,
  QueuedEntry,
  StoredCheckpoint,
  StoredEntry,
} from '../port.js';

/** In-memory driver: for tests and for embedding; loses everything when the process ends. */
export class MemoryStorage implements LogStorage, IngestQueue, CoverageIndex {
  readonly kind = 'memory';
  private readonly entries: StoredEntry[] = [];
  private readonly byId = new Map<string, StoredEntry>();
  /** The hash tiles by `level/index`, each its hashes as stored (the partial one grows). */
  private readonly tiles = new Map<string, Uint8Array>();
  private readonly checkpoints = new Map<number, StoredCheckpoint>();
  private latest: StoredCheckpoint | null = null;
  /** The ingest queue, in `seq` order (Map keeps insertion order). */
  private readonly queue = new Map<string, QueuedEntry>();
  private nextSeq = 1;
  private closed = false;

  async readState(): Promise<LogState> {
    this.assertOpen();
    return { size: this.entries.length, checkpoint: this.latest };
  }

  async append(batch: AppendBatch): Promise<void> {
    this.assertOpen();
    if (batch.fromSize !== this.entries.length) {
      throw new StorageError(
        'storage_conflict',
        `Batch built on size ${batch.fromSize} but the log has ${this.entries.length} entries.`,
      );
    }
    // Validate the whole batch first so a bad batch changes nothing.
    const stored = this.checkpoints.get(batch.checkpoint.size);
    if (stored && stored.note !== batch.checkpoint.note) throw checkpointConflict(stored.size);
    const dequeue = batch.dequeue ?? [];
    const sequenced = batch.sequenced ?? [];
    // The queued rows this batch logs, as stored entries with their leaf indices.
    const moved: StoredEntry[] = [];
    if (dequeue.length > 0 || sequenced.length > 0) {
      const queued = new Map([...this.queue.values()].map((q) => [q.seq, q]));
      for (const seq of dequeue) {
        if (!queued.has(seq)) {
          throw new StorageError('storage_conflict', `Queued entry ${seq} is no longer queued.`);
        }
      }
      for (const s of sequenced) {
        const q = queued.get(s.seq);
        if (!q || !equalBytes(q.leafHash, s.leafHash)) {
          throw new StorageError(
            'storage_conflict',
            `Queued entry ${s.seq} is no longer queued with that leaf hash.`,
          );
        }
        moved.push(loggedEntry(q, s.leafIndex));
      }
    }
    checkLeafIndices(batch);
    checkTileWrites(batch.tiles);
    for (const t of batch.tiles) {
      const held = (this.tiles.get(`${t.level}/${t.index}`)?.length ?? 0) / 32;
      if (held !== t.from) throw tileConflict(t, held);
    }
    const ids = new Set<string>();
    for (const e of [...batch.entries, ...moved]) {
      if (this.byId.has(e.id) || ids.has(e.id)) {
        throw new StorageError('storage_conflict', `Entry ${e.id} is already stored.`);
      }
      ids.add(e.id);
    }
    for (const e of [...batch.entries, ...moved]) {
      this.entries.push(e);
      this.byId.set(e.id, e);
    }
    for (const t of batch.tiles) {
      const key = `${t.level}/${t.index}`;
      const held = this.tiles.get(key);
      const next = new Uint8Array((held?.length ?? 0) + t.hashes.length);
      if (held) next.set(held);
      next.set(t.hashes, held?.length ?? 0);
      this.tiles.set(key, next);
    }
    if (!stored) {
      this.checkpoints.set(batch.checkpoint.size, batch.checkpoint);
      this.latest = batch.checkpoint;
    }
    if (dequeue.length > 0 || sequenced.length > 0) {
      const gone = new Set([...dequeue, ...sequenced.map((q) => q.seq)]);
      for (const [id, q] of this.queue) if (gone.has(q.seq)) this.queue.delete(id);
    }
  }

  async readPendingLeaves(limit: number): Promise<PendingLeaf[]> {
    this.assertOpen();
    const out: PendingLeaf[] = [];
    for (const q of this.queue.values()) {
      if (out.length >= limit) break;
      const e = this.byId.get(q.id);
      out.push({
        seq: q.seq,
        leafHash: q.leafHash,
        logged: e ? { leafIndex: e.leafIndex, leafHash: e.leafHash } : null,
      });
    }
    return out;
  }

  async enqueue(entries: readonly PendingEntry[]): Promise<EnqueueOutcome[]> {
    this.assertOpen();
    const outcomes: EnqueueOutcome[] = [];
    const added = new Map<string, QueuedEntry>();
    for (const e of entries) {
      const logged = this.byId.get(e.id);
      const queued = this.queue.get(e.id) ?? added.get(e.id);
      if (logged) {
        outcomes.push({ status: 'logged', leafIndex: logged.leafIndex, leafHash: logged.leafHash });
      } else if (queued) {
        outcomes.push({
          status: 'already_queued',
          leafHash: queued.leafHash,
          receivedUs: queued.receivedUs,
        });
      } else {
        added.set(e.id, { ...e, seq: this.nextSeq++ });
        outcomes.push({ status: 'queued', receivedUs: e.receivedUs });
      }
    }
    for (const [id, q] of added) this.queue.set(id, q);
    return outcomes;
  }

  async readPending(limit: number): Promise<QueuedEntry[]> {
    this.assertOpen();
    const out: QueuedEntry[] = [];
    for (const q of this.queue.values()) {
      if (out.length >= limit) break;
      out.push(q);
    }
    return out;
  }

  async getQueued(id: string): Promise<QueuedEntry | null> {
    this.assertOpen();
    return this.queue.get(id) ?? null;
  }

  async pendingCount(): Promise<number> {
    this.assertOpen();
    return this.queue.size;
  }

  async findExisting(ids: readonly string[]): Promise<Map<string, ExistingEntry>> {
    this.assertOpen();
    const found = new Map<string, ExistingEntry>();
    for (const id of ids) {
      const e = this.byId.get(id);
      if (e) found.set(id, { leafIndex: e.leafIndex, leafHash: e.leafHash });
    }
    return found;
  }

  async getEntryById(id: string): Promise<StoredEntry | null> {
    this.assertOpen();
    return this.byId.get(id) ?? null;
  }

  async getEntries(start: number, count: number): Promise<StoredEntry[]> {
    this.assertOpen();
    return this.entries.slice(start, start + count);
  }

  async readLeaves(start: number, count: number): Promise<LeafSource[]> {
    this.assertOpen();
    return this.entries.slice(start, start + count).map((e) => ({
      leafIndex: e.leafIndex,
      data: encoder.encode(e.canonical),
      storedLeafHash: e.leafHash,
    }));
  }

  async getTiles(ids: readonly TileId[]): Promise<(Uint8Array | null)[]> {
    this.assertOpen();
    return ids.map(({ level, index }) => this.tiles.get(`${level}/${index}`)?.slice() ?? null);
  }

  async queryEntries(filter: EntryFilter): Promise<StoredEntry[]> {
    this.assertOpen();
    const out: StoredEntry[] = [];
    const test = matcher(filter);
    const low = Math.max((filter.afterLeafIndex ?? -1) + 1, 0);
    const high = Math.min(filter.beforeLeafIndex ?? this.entries.length, this.entries.length);
    const desc = filter.order === 'desc';
    for (let k = 0; k < high - low && out.length < filter.limit; k++) {
      const e = this.entries[desc ? high - 1 - k : low + k]!;
      if (test(e)) out.push(e);
    }
    return out;
  }

  async countEntries(selection: EntrySelection, _cap: number): Promise<EntryCount> {
    this.assertOpen();
    const test = matcher(selection);
    let count = 0;
    for (const e of this.entries) if (test(e)) count++;
    return { count, exact: true };
  }

  async lacksCoverageFacts(range: CoverageRange): Promise<boolean> {
    this.assertOpen();
    return this.entries.some((e) => inRange(e, range) && !e.coverage);
  }

  async coverageCounts(
    range: CoverageRange,
    lifetimeBoundsSec: readonly number[],
  ): Promise<CoverageCounts> {
    this.assertOpen();
    const counter = new CoverageCounter(lifetimeBoundsSec);
    for (const e of this.entries) if (inRange(e, range)) counter.add(e);
    return counter.counts();
  }

  async fillCoverageFacts(compute: CoverageRule): Promise<number> {
    this.assertOpen();
    // All facts first, then stored: a rule that fails stores nothing.
    const missing = this.entries.flatMap((e, i) => (e.coverage ? [] : [i]));
    const facts: CoverageFacts[] = [];
    for (const i of missing) {
      const e = this.entries[i]!;
      facts.push(await compute(e.canonical, e.level));
    }
    missing.forEach((i, k) => {
      this.entries[i] = { ...this.entries[i]!, coverage: facts[k]! };
    });
    return missing.length;
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    this.assertOpen();
    return this.checkpoints.get(size) ?? null;
  }

  async firstMissingLeaf(size: number): Promise<number | null> {
    this.assertOpen();
    // Entries are appended in order and never removed here, so only the tail can be short.
    return this.entries.length < size ? this.entries.length : null;
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return this.closed ? { ok: false, detail: 'closed' } : { ok: true };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('storage_unavailable', 'The storage is closed.');
  }
}

const encoder = new TextEncoder();

/** A test of one entry against a selection (the glob compiled once). */
function matcher(f: EntrySelection): (e: StoredEntry) => boolean {
  const action = f.action === undefined ? null : globMatcher(f.action);
  const terms = f.anyOf;
  const anyAction = terms?.action === undefined ? null : globMatcher(terms.action);
  const any = (e: StoredEntry): boolean =>
    terms === undefined ||
    (terms.id !== undefined && e.id === terms.id) ||
    (terms.traceId !== undefined && e.traceId === terms.traceId) ||
    (terms.initiator !== undefined && e.initiator === terms.initiator) ||
    (terms.actor !== undefined && e.actor === terms.actor) ||
    (terms.resource !== undefined && resourceOf(e)?.startsWith(terms.resource) === true) ||
    (anyAction !== null && typeof e.actionName === 'string' && anyAction(e.actionName));
  return (e) =>
    matches(e, f) &&
    (action === null || (typeof e.actionName === 'string' && action(e.actionName))) &&
    (f.resource === undefined || resourceOf(e)?.startsWith(f.resource) === true) &&
    (f.outcome === undefined || e.outcome === f.outcome) &&
    any(e);
}

/** The resource as the SQL drivers keep it: only beside an action name. */
function resourceOf(e: StoredEntry): string | null {
  return typeof e.actionName === 'string' ? (e.resource ?? null) : null;
}

function matches(e: StoredEntry, f: EntrySelection): boolean {
  return (
    (f.initiator === undefined || e.initiator === f.initiator) &&
    (f.actor === undefined || e.actor === f.actor) &&
    (f.type === undefined || e.type === f.type) &&
    (f.taskId === undefined || e.taskId === f.taskId) &&
    (f.traceId === undefined || e.traceId === f.traceId) &&
    (f.level === undefined || e.level === f.level) &&
    (f.fromUs === undefined || e.timeUs >= f.fromUs) &&
    (f.toUs === undefined || e.timeUs < f.toUs) &&
    (f.coverage === undefined || matchesCoverage(e.coverage, e.level, f.coverage))
  );
}

function inRange(e: StoredEntry, r: CoverageRange): boolean {
  return (
    (r.fromUs === undefined || e.timeUs >= r.fromUs) && (r.toUs === undefined || e.timeUs < r.toUs)
  );
}

/** A queued entry as the log stores it, at `leafIndex` (its queue fields dropped). */
function loggedEntry(q: QueuedEntry, leafIndex: number): StoredEntry {
  const { seq: _seq, receivedUs: _received, ...entry } = q;
  const actionName = q.actionName ?? null;
  return {
    ...entry,
    leafIndex,
    actionName,
    resource: actionName === null ? null : (q.resource ?? null),
    outcome: q.outcome ?? null,
    coverage: q.coverage ?? null,
  };
}
