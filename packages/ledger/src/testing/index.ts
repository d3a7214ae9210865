/**
 * `@provenant/ledger/testing`: the contract suites every storage driver passes (vitest), so a
 * driver outside this repository can be held to the same bar: call each `describe…Contract`
 * with a function that opens a fresh, empty instance of the driver.
 */
export { describeStorageContract, makeBatch } from './storage-contract.js';
export { describeIngestQueueContract, pendingEntry } from './queue-contract.js';
export {
  LEGACY_RECORDS,
  describeCoverageContract,
  legacyEntries,
  reference,
  sorted,
} from './coverage-contract.js';
