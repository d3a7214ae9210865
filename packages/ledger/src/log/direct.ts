import type { AppendOutcome, PreparedEntry } from './entry.js';
import type { Sequencer } from './sequencer.js';

/**
 * Direct appends (one collector): each group commit (`./batcher.ts`) is one sequencer commit, so
 * each append resolves only once its entries are durable in the tree.
 */
export function directCommit(
  sequencer: Sequencer,
): (groups: readonly (readonly PreparedEntry[])[]) => Promise<AppendOutcome[][]> {
  return (groups) => sequencer.exclusive(() => sequencer.commit(groups));
}
