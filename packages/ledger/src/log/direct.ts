import { GroupCommit } from './batcher.js';
import type { AppendOutcome, PreparedEntry } from './entry.js';
import type { Sequencer } from './sequencer.js';

/**
 * Direct appends (one collector): concurrent appends are grouped into one sequencer commit, and
 * each resolves only once that commit is durable.
 */
export class DirectAppender {
  private readonly batcher: GroupCommit<AppendOutcome[]>;

  constructor(sequencer: Sequencer, maxBatchEntries: number) {
    this.batcher = new GroupCommit(maxBatchEntries, (groups) =>
      sequencer.exclusive(() => sequencer.commit(groups)),
    );
  }

  get pendingEntries(): number {
    return this.batcher.pendingEntries;
  }

  append(entries: readonly PreparedEntry[]): Promise<AppendOutcome[]> {
    return this.batcher.submit(entries);
  }

  idle(): Promise<void> {
    return this.batcher.idle();
  }
}
