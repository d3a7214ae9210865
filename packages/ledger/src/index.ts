/**
 * `@provenant/ledger`: the transparency log (sequencing, proofs, checkpoints, evidence,
 * witnessing) and its storage port. The SQL drivers are separate entries, so importing this
 * one loads neither native SQLite nor node-postgres:
 *   `@provenant/ledger/sqlite`, `@provenant/ledger/postgres`, and `@provenant/ledger/testing`
 *   (the contract suites every driver passes).
 */

// Proofs and hashes (RFC 6962 / RFC 9162).
export { HASH_SIZE, hashLeaf, hashLeafText, hashChildren } from './merkle/hash.js';
export { verifyInclusion, verifyConsistency } from './merkle/verify.js';
export { MerkleError } from './merkle/errors.js';
export type { MerkleErrorCode } from './merkle/errors.js';
export type { Frontier, NewNode, NodeId } from './merkle/index.js';

// Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint).
export {
  generateSignerKey,
  parseSignerKey,
  parseVerifierKey,
  verifierKeyString,
} from './note/keys.js';
export type { NoteSignerKey, NoteVerifierKey } from './note/keys.js';
export { openLogCheckpoint, openNote, signNote } from './note/note.js';
export type { OpenedNote } from './note/note.js';
export { formatCheckpoint, parseCheckpoint } from './note/index.js';
export type { Checkpoint } from './note/index.js';
export { NoteError } from './note/errors.js';
export type { NoteErrorCode } from './note/errors.js';

// Tiles (C2SP tlog-tiles).
export { TILE_WIDTH, TileError, entriesPath, parseTilePath, tilePath } from './tiles/path.js';
export type { ParsedTilePath, TileErrorCode } from './tiles/path.js';
// The tree as hash tiles: what an append adds to them, and nodes read back from them.
export { TILE_HEIGHT, integrate } from './tiles/layout.js';
export { EMPTY_FRONTIER, rootOfFrontier } from './merkle/append.js';
export type { TileId, TileWrite } from './tiles/layout.js';
export { readNodes } from './tiles/read.js';
export type { TileReader } from './tiles/read.js';

// The storage port, its in-memory driver and the coverage index.
export type * from './storage/port.js';
export { hasIngestQueue } from './storage/port.js';
export {
  COVERAGE_FLAG,
  CoverageCounter,
  hasCoverageIndex,
  matchesCoverage,
} from './storage/coverage.js';
export type {
  CoverageCounts,
  CoverageFacts,
  CoverageFactsFilter,
  CoverageRule,
  CoverageIndex,
  CoverageRange,
} from './storage/coverage.js';
export { StorageError } from './storage/errors.js';
export type { StorageErrorCode } from './storage/errors.js';
export { MemoryStorage } from './storage/memory/index.js';

// The log.
export { Log, equalBytes } from './log/log.js';
export type { AppendOutcome, LogOptions, PreparedEntry } from './log/log.js';
export { LogError } from './log/errors.js';
export type { LogErrorCode } from './log/errors.js';
export { BATCH_PROMISE_HEADER, openPromise, PROMISE_HEADER, promiseLeaf } from './log/promise.js';
export type { InclusionPromise, PromiseProof } from './log/promise.js';
export { loadOrCreateSignerKey, SIGNER_KEY_FILE, VERIFIER_KEY_FILE } from './log/keyfile.js';

// Offline verification.
export { verifyLog, LogVerificationError } from './verify/verify-log.js';
export { storedLogInput } from './verify/stored-log.js';
export type {
  KnownCheckpoint,
  LeafSource,
  LogVerificationCode,
  VerifiedLog,
  VerifyLogInput,
} from './verify/verify-log.js';

// Evidence bundles and provenance chains.
export {
  DEFAULT_CHAIN_OPTIONS,
  chainRecords,
  checkChain,
  joinChain,
  narrate,
} from './evidence/chain.js';
export type { ChainCheck, ChainOptions, ChainRole, ProvenanceChain } from './evidence/chain.js';
export { formatTlogProof, parseTlogProof } from './evidence/index.js';
export type { TlogProof } from './evidence/index.js';
export {
  EVIDENCE_FORMAT,
  buildEvidenceBundle,
  formatEvidenceBundle,
  includedCheck,
  verifyEvidenceBundle,
} from './evidence/bundle.js';
export type {
  BundleFailure,
  BundleVerification,
  EvidenceBundle,
  EvidenceEntry,
  ProvedRecord,
} from './evidence/bundle.js';
export { EvidenceError } from './evidence/errors.js';
export type { EvidenceErrorCode } from './evidence/errors.js';

// Witnessing (C2SP tlog-witness, tlog-cosignature).
export {
  cosignerVerifierKeyString,
  generateCosignerKey,
  parseCosignerKey,
  parseCosignerVerifierKey,
  verifyCosignatureLine,
} from './witness/cosignature.js';
export { verifyCosignedCheckpoint } from './witness/policy.js';
export type { CosignedCheckpoint } from './witness/policy.js';
export type { Cosignature, CosignerKey, CosignerVerifierKey } from './witness/cosignature.js';
export { MAX_ADD_CHECKPOINT_BYTES, formatAddCheckpoint } from './witness/request.js';
export { MemoryWitnessStore } from './witness/store.js';
export type { WitnessLogState, WitnessStateStore } from './witness/store.js';
export { Witness } from './witness/witness.js';
export type { AddCheckpointResult, WitnessOptions } from './witness/witness.js';
export { WitnessError } from './witness/errors.js';
export type { WitnessErrorCode } from './witness/errors.js';

export { readSecretFile, writeSecretFile } from './lib/secret-file.js';
