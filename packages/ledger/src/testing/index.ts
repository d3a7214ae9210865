/**
 * `@provenant/ledger/testing`: the contract suites every storage driver passes (vitest), so a
 * driver outside this repository can be held to the same bar. `describeDriverContract` runs all
 * of them on a function that opens a fresh, empty instance of the driver; a suite for a port the
 * driver does not implement (IngestQueue, CoverageIndex) is skipped, test by test, saying why.
 */
import type { LogStorage } from '../storage/port.js';
import { describeCoverageContract } from './coverage-contract.js';
import { describeIngestQueueContract } from './queue-contract.js';
import { describeDenseSearchContract, describeSearchContract } from './search-contract.js';
import { describeStorageContract } from './storage-contract.js';

export { checkpointOf, describeStorageContract, makeBatch } from './storage-contract.js';
export { describeIngestQueueContract, pendingEntry } from './queue-contract.js';
export {
  SELECTIONS,
  describeDenseSearchContract,
  describeSearchContract,
  expectSearchLike,
  preSearchEntries,
  searchFields,
} from './search-contract.js';
export {
  LEGACY_RECORDS,
  describeCoverageContract,
  legacyEntries,
  reference,
  sorted,
} from './coverage-contract.js';

/** Every contract suite on one driver. */
export function describeDriverContract(name: string, open: () => Promise<LogStorage>): void {
  describeStorageContract(name, open);
  describeIngestQueueContract(name, open);
  describeCoverageContract(name, open);
  describeSearchContract(name, open);
  describeDenseSearchContract(name, open);
}
