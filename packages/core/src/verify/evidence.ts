import { canonicalize } from '../canonical/jcs.js';
import { decodeBase64, encodeBase64, utf8 } from './bytes.js';
import { parseCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { NoteError } from './errors.js';
import type { EvidenceErrorCode } from './errors.js';
import { leafHashSteps, verifyInclusionSteps } from './merkle.js';
import { openNoteSteps } from './note.js';
import type { NoteVerifierKey } from './note.js';
import type { Steps } from './steps.js';
import { parseTlogProof } from './tlog-proof.js';

// The proofs of an evidence bundle (`provenant.evidence/v1`): its checkpoint and, for each
// entry, the record's leaf, its inclusion proof and its tlog-proof. The joins, narrative and
// checks are recomputed by ledger's `verifyEvidenceBundle`, which runs these rules first.

export interface BundleFailure {
  readonly code: EvidenceErrorCode;
  /** What failed, e.g. `entries[2] (decision 0192…)`, `checkpoint`. */
  readonly where: string;
  readonly message: string;
}

/** The leaf hash of a stored record: RFC 6962 leaf of the RFC 8785 JSON of all but `integrity`. */
export function* recordLeafHashSteps(record: Record<string, unknown>): Steps<Uint8Array> {
  const { integrity: _omit, ...body } = record;
  return yield* leafHashSteps(utf8(canonicalize(body)));
}

/**
 * Opens a log's checkpoint: signed by `verifier`, with the verifier's name as its origin and a
 * SHA-256 root. Throws the note errors of `openNote`, or `invalid_checkpoint`.
 */
export function* openLogCheckpointSteps(
  note: string,
  verifier: NoteVerifierKey,
): Steps<Checkpoint> {
  const checkpoint = parseCheckpoint((yield* openNoteSteps(note, [verifier])).text);
  if (checkpoint.origin !== verifier.name || checkpoint.rootHash.length !== 32) {
    throw new NoteError('invalid_checkpoint', 'the origin or root hash is not this log’s');
  }
  return checkpoint;
}

/** One entry of a bundle as checked. */
export interface EntryVerification {
  /** `entries[i] (role id)`, or `entries[i]` when the entry is not even an entry. */
  readonly where: string;
  /** The record, when the entry holds one with an id and an integrity (else null). */
  readonly record: Record<string, unknown> | null;
  readonly role: unknown;
  /** Its leaf, inclusion proof and tlog-proof all verified against the signed checkpoint. */
  readonly included: boolean;
  readonly failures: readonly BundleFailure[];
}

export interface EvidenceProofs {
  /** The checkpoint, when signed by the given key (else null, and a failure says why). */
  readonly checkpoint: Checkpoint | null;
  /** Every failure, in bundle order: the checkpoint's, then each entry's. */
  readonly failures: readonly BundleFailure[];
  readonly entries: readonly EntryVerification[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const sameKeys = (o: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(o).length === keys.length && keys.every((k) => Object.hasOwn(o, k));

/**
 * Checks the checkpoint and every entry's proofs of a parsed bundle against the verifier key
 * the caller trusts. Never throws on bad input: every problem is a failure naming its part.
 */
export function* verifyEvidenceProofsSteps(
  bundle: { readonly checkpoint: string; readonly entries: readonly unknown[] },
  verifier: NoteVerifierKey,
): Steps<EvidenceProofs> {
  const failures: BundleFailure[] = [];
  let checkpoint: Checkpoint | null = null;
  try {
    checkpoint = yield* openLogCheckpointSteps(bundle.checkpoint, verifier);
  } catch (e) {
    failures.push({
      code: 'bad_checkpoint_signature',
      where: 'checkpoint',
      message: `not a checkpoint signed by ${verifier.name}: ${(e as Error).message}`,
    });
  }
  const entries: EntryVerification[] = [];
  for (let i = 0; i < bundle.entries.length; i++) {
    const entry = yield* verifyEntrySteps(bundle.entries[i], `entries[${i}]`, bundle, checkpoint);
    failures.push(...entry.failures);
    entries.push(entry);
  }
  return { checkpoint, failures, entries };
}

function* verifyEntrySteps(
  entry: unknown,
  where: string,
  bundle: { readonly checkpoint: string },
  checkpoint: Checkpoint | null,
): Steps<EntryVerification> {
  const failures: BundleFailure[] = [];
  const fail = (code: EvidenceErrorCode, at: string, message: string) =>
    failures.push({ code, where: at, message });
  const unchecked = (at: string, role: unknown = undefined): EntryVerification => ({
    where: at,
    record: null,
    role,
    included: false,
    failures,
  });
  if (
    !isObject(entry) ||
    !sameKeys(entry, ['role', 'record', 'proof', 'tlog_proof']) ||
    !isObject(entry['record']) ||
    !isObject(entry['proof']) ||
    typeof entry['tlog_proof'] !== 'string'
  ) {
    fail('malformed_bundle', where, 'not an entry {role, record, proof, tlog_proof}');
    return unchecked(where);
  }
  const record = entry['record'];
  const role = entry['role'];
  const label = `${where} (${String(role)} ${String(record['id'])})`;
  const integrity = record['integrity'];
  if (!isObject(integrity) || typeof record['id'] !== 'string') {
    fail('bad_record', label, 'the record has no id or no integrity');
    return unchecked(label, role);
  }
  let leafHash: Uint8Array;
  try {
    leafHash = yield* recordLeafHashSteps(record);
  } catch (e) {
    fail('bad_record', label, `the record cannot be canonicalised: ${(e as Error).message}`);
    return unchecked(label, role);
  }
  const proof = entry['proof'];
  const leafIndex = proof['leaf_index'];
  const treeSize = proof['tree_size'];
  const hashes = Array.isArray(proof['hashes'])
    ? proof['hashes'].map((h) => (typeof h === 'string' ? decodeBase64(h) : null))
    : [null];
  if (
    !sameKeys(proof, ['leaf_index', 'tree_size', 'hashes']) ||
    typeof leafIndex !== 'number' ||
    typeof treeSize !== 'number' ||
    hashes.some((h) => h === null || h.length !== 32)
  ) {
    fail('malformed_bundle', label, 'the proof is not {leaf_index, tree_size, hashes: base64[]}');
    return unchecked(label, role);
  }
  let ok = true;
  if (integrity['leaf_hash'] !== encodeBase64(leafHash) || integrity['leaf_index'] !== leafIndex) {
    ok = false;
    fail(
      'leaf_mismatch',
      label,
      `the record's canonical JSON hashes to ${encodeBase64(leafHash)}, not to its integrity's leaf ${String(integrity['leaf_index'])} ${String(integrity['leaf_hash'])}`,
    );
  }
  if (checkpoint) {
    try {
      if (treeSize !== checkpoint.size)
        throw new Error(`tree size ${treeSize} is not the checkpoint's`);
      yield* verifyInclusionSteps(
        leafHash,
        leafIndex,
        treeSize,
        hashes as Uint8Array[],
        checkpoint.rootHash,
      );
    } catch (e) {
      ok = false;
      fail(
        'inclusion_failed',
        label,
        `not included in the checkpoint's tree: ${(e as Error).message}`,
      );
    }
  } else ok = false;
  try {
    const t = parseTlogProof(entry['tlog_proof']);
    const same =
      t.index === leafIndex &&
      t.checkpoint === bundle.checkpoint &&
      t.extra === undefined &&
      t.hashes.length === hashes.length &&
      t.hashes.every((h, k) => encodeBase64(h) === encodeBase64(hashes[k]!));
    if (!same) throw new Error('it disagrees with the JSON proof or the bundle checkpoint');
  } catch (e) {
    ok = false;
    fail('bad_tlog_proof', label, (e as Error).message);
  }
  return { where: label, record, role, included: ok, failures };
}
