// The verifier's operations on WebCrypto: each runs the same rule (`…Steps`) that ledger runs
// synchronously on node:crypto, so the results and error codes are the same in every runtime.
import type { Checkpoint } from './checkpoint.js';
import {
  parseCosignerVerifierKeySteps,
  verifyCosignatureLineSteps,
  verifyCosignedCheckpointSteps,
  witnessCosignatureSteps,
} from './cosignature.js';
import type {
  CosignedCheckpoint,
  Cosignature,
  CosignerVerifierKey,
  SignatureParts,
  WitnessCosignature,
} from './cosignature.js';
import {
  openLogCheckpointSteps,
  recordLeafHashSteps,
  verifyEvidenceProofsSteps,
} from './evidence.js';
import type { EvidenceProofs } from './evidence.js';
import {
  leafHashSteps,
  nodeHashSteps,
  rootFromInclusionProofSteps,
  verifyConsistencySteps,
  verifyInclusionSteps,
} from './merkle.js';
import { noteKeyIdSteps, openNoteSteps, parseVerifierKeySteps } from './note.js';
import type { NoteVerifierKey, OpenedNote } from './note.js';
import { runWebCrypto as run } from './webcrypto.js';

type Proof = readonly Uint8Array[];
type Int = number | bigint;

/** RFC 6962 leaf hash: SHA-256(0x00 || data). */
export const leafHash = (data: Uint8Array): Promise<Uint8Array> => run(leafHashSteps(data));

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Promise<Uint8Array> =>
  run(nodeHashSteps(left, right));

/** The root an inclusion proof gives for a leaf; rejects with a `MerkleError` when malformed. */
export const rootFromInclusionProof = (
  leafHash: Uint8Array,
  leafIndex: Int,
  treeSize: Int,
  proof: Proof,
): Promise<Uint8Array> => run(rootFromInclusionProofSteps(leafHash, leafIndex, treeSize, proof));

/** Resolves when `leafHash` is leaf `leafIndex` of the tree with `root`; else a `MerkleError`. */
export const verifyInclusion = (
  leafHash: Uint8Array,
  leafIndex: Int,
  treeSize: Int,
  proof: Proof,
  root: Uint8Array,
): Promise<void> => run(verifyInclusionSteps(leafHash, leafIndex, treeSize, proof, root));

/** Resolves when the tree (`size2`, `root2`) extends (`size1`, `root1`); else a `MerkleError`. */
export const verifyConsistency = (
  size1: Int,
  size2: Int,
  proof: Proof,
  root1: Uint8Array,
  root2: Uint8Array,
): Promise<void> => run(verifyConsistencySteps(size1, size2, proof, root1, root2));

/** The C2SP key ID of an Ed25519 note key. */
export const noteKeyId = (name: string, publicKey: Uint8Array): Promise<number> =>
  run(noteKeyIdSteps(name, publicKey));

/** Parses a note verifier key; rejects with `invalid_verifier_key`. */
export const parseVerifierKey = (s: string): Promise<NoteVerifierKey> =>
  run(parseVerifierKeySteps(s));

/** Opens a signed note against the verifier keys one trusts (C2SP signed-note). */
export const openNote = (
  note: string | Uint8Array,
  verifiers: readonly NoteVerifierKey[],
): Promise<OpenedNote> => run(openNoteSteps(note, verifiers));

/** A log's checkpoint: signed by `verifier`, of its origin, with a SHA-256 root. */
export const openLogCheckpoint = (note: string, verifier: NoteVerifierKey): Promise<Checkpoint> =>
  run(openLogCheckpointSteps(note, verifier));

/** Parses a witness verifier key (cosignature/v1); rejects with `invalid_cosigner_key`. */
export const parseCosignerVerifierKey = (s: string): Promise<CosignerVerifierKey> =>
  run(parseCosignerVerifierKeySteps(s));

/** Checks one cosignature line by `witness`; rejects with `invalid_cosignature`. */
export const verifyCosignatureLine = (
  checkpointText: string,
  line: string,
  witness: CosignerVerifierKey,
): Promise<Cosignature> => run(verifyCosignatureLineSteps(checkpointText, line, witness));

/** `witness`'s cosignature among a note's signature lines (see `noteSignatureLines`). */
export const witnessCosignature = (
  checkpointText: string,
  signatures: readonly SignatureParts[],
  witness: CosignerVerifierKey,
): Promise<WitnessCosignature> => run(witnessCosignatureSteps(checkpointText, signatures, witness));

/** Opens a log-signed checkpoint and requires `policy` of `witnesses` to have cosigned it. */
export const verifyCosignedCheckpoint = (
  note: string,
  log: NoteVerifierKey,
  witnesses: readonly CosignerVerifierKey[],
  policy: number = witnesses.length,
): Promise<CosignedCheckpoint> => run(verifyCosignedCheckpointSteps(note, log, witnesses, policy));

/** The leaf hash of a stored record (its RFC 8785 JSON without `integrity`). */
export const recordLeafHash = (record: Record<string, unknown>): Promise<Uint8Array> =>
  run(recordLeafHashSteps(record));

/** The checkpoint and every entry's proofs of a parsed evidence bundle. */
export const verifyEvidenceProofs = (
  bundle: { readonly checkpoint: string; readonly entries: readonly unknown[] },
  verifier: NoteVerifierKey,
): Promise<EvidenceProofs> => run(verifyEvidenceProofsSteps(bundle, verifier));
