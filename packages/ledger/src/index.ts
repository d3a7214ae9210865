export * from './merkle/index.js';
export * from './note/index.js';
export * from './tiles/path.js';
export type * from './storage/port.js';
export { hasIngestQueue } from './storage/port.js';
export {
  COVERAGE_ACTION_TYPES,
  COVERAGE_CREDENTIAL_TYPES,
  COVERAGE_FLAG,
  COVERAGE_WITNESS_TYPES,
  hasCoverageIndex,
  matchesCoverage,
} from './storage/coverage.js';
export type {
  CoverageCounts,
  CoverageFacts,
  CoverageFactsFilter,
  CoverageIndex,
  CoverageRange,
} from './storage/coverage.js';
export { StorageError } from './storage/errors.js';
export type { StorageErrorCode } from './storage/errors.js';
export { MemoryStorage } from './storage/memory.js';
export { SqliteStorage, sqliteWriteError } from './storage/sqlite.js';
export type { SqliteStorageOptions } from './storage/sqlite.js';
export { Log, equalBytes } from './log/log.js';
export type { AppendOutcome, LogOptions, PreparedEntry } from './log/log.js';
export { LogError } from './log/errors.js';
export type { LogErrorCode } from './log/errors.js';
export { formatPromise, openPromise, signPromise, PROMISE_HEADER } from './log/promise.js';
export type { InclusionPromise } from './log/promise.js';
export { loadOrCreateSignerKey, SIGNER_KEY_FILE, VERIFIER_KEY_FILE } from './log/keyfile.js';
export { verifyLog, LogVerificationError } from './verify/verify-log.js';
export type {
  KnownCheckpoint,
  LeafSource,
  LogVerificationCode,
  VerifiedLog,
  VerifyLogInput,
} from './verify/verify-log.js';
export * from './evidence/index.js';
export * from './witness/index.js';
export {
  PostgresStorage,
  POSTGRES_SCHEMA_VERSION,
  PostgresLease,
  createPostgresPool,
  migratePostgres,
} from './storage/postgres.js';
export type { PostgresLeaseOptions, PostgresStorageOptions } from './storage/postgres.js';
export { readSecretFile, writeSecretFile } from './lib/secret-file.js';
