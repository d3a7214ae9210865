import { equalBytes } from '@provenant/core/vocabulary';
import type { NoteSignerKey } from '../note/index.js';
import type { IngestQueue } from '../storage/port.js';
import type { AppendOutcome, PreparedEntry } from './entry.js';
import { signBatchPromise, signPromise } from './promise.js';
import type { Sequencer } from './sequencer.js';

/**
 * Cluster appends (several collectors on one database): appends that arrive together share one
 * ingest-queue transaction, and each accepted entry is answered with a signed promise of
 * inclusion once it is durable in the queue. The member holding the sequencer lease moves queued
 * entries into the log (`sequencePending`).
 */
export class ClusterAppender {
  constructor(
    private readonly sequencer: Sequencer,
    private readonly queue: IngestQueue,
    private readonly signer: NoteSignerKey,
    private readonly maxBatchEntries: number,
    private readonly nowUs: () => number,
  ) {}

  /** One group commit (`./batcher.ts`): every group's entries in one queue transaction. */
  async enqueueGroups(groups: readonly (readonly PreparedEntry[])[]): Promise<AppendOutcome[][]> {
    const outcomes = await this.enqueue(groups.flat());
    let at = 0;
    return groups.map((g) => outcomes.slice(at, (at += g.length)));
  }

  /**
   * Moves up to `limit` queued entries into the log (leaf indices, tree, checkpoint and their
   * removal from the queue in one transaction). Returns how many left the queue. The sequencer
   * reads only each row's seq and leaf hash: the members validated, canonicalized and hashed the
   * records when they queued them, and the storage copies the bytes itself. If another
   * sequencer moved the tree meanwhile the storage refuses the batch (no fork) and the next call
   * starts from the stored tree.
   */
  sequencePending(limit = this.maxBatchEntries): Promise<number> {
    return this.sequencer.exclusive(async () => {
      const leaves = await this.queue.readPendingLeaves(limit);
      if (leaves.length === 0) return 0;
      await this.sequencer.commitQueued(leaves);
      return leaves.length;
    });
  }

  /**
   * One queue transaction for every group; the records it queued share one signed batch promise
   * (`provenant.promise/v2`: one signature, each record answered with its proof), a re-sent one
   * still queued gets a promise of its own with its first receive time (`provenant.promise/v1`).
   */
  private async enqueue(entries: readonly PreparedEntry[]): Promise<AppendOutcome[]> {
    const receivedUs = this.nowUs();
    const outcomes = await this.queue.enqueue(entries.map((e) => ({ ...e, receivedUs })));
    const queued: number[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === 'queued') queued.push(i);
    });
    const batch =
      queued.length === 0
        ? null
        : signBatchPromise(
            this.signer,
            receivedUs,
            queued.map((i) => entries[i]!),
          );
    const proofOf = new Map(queued.map((i, k) => [i, batch!.proofs[k]!]));
    return outcomes.map((o, i): AppendOutcome => {
      const e = entries[i]!;
      // The queue reports what holds the id; the same rule as for direct appends decides.
      if (o.status === 'logged') {
        return equalBytes(o.leafHash, e.leafHash)
          ? { status: 'accepted', leafIndex: o.leafIndex, duplicate: true }
          : { status: 'id_conflict', leafIndex: o.leafIndex };
      }
      if (o.status === 'queued') {
        const promiseProof = proofOf.get(i)!;
        return {
          status: 'accepted',
          leafIndex: null,
          duplicate: false,
          promise: batch!.note,
          promiseProof,
        };
      }
      if (!equalBytes(o.leafHash, e.leafHash)) return { status: 'id_conflict', leafIndex: null };
      const promise = signPromise(this.signer, {
        id: e.id,
        leafHash: e.leafHash,
        receivedUs: o.receivedUs,
      });
      return { status: 'accepted', leafIndex: null, duplicate: true, promise };
    });
  }
}
