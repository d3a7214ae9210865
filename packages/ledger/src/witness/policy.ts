import { verifyCosignedCheckpointSteps } from '@provenant/core/verify';
import type {
  CosignedCheckpoint,
  CosignerVerifierKey,
  NoteVerifierKey,
} from '@provenant/core/verify';
import { runNode } from '../lib/node-crypto.js';

export type { CosignedCheckpoint } from '@provenant/core/verify';

/**
 * Opens a checkpoint note signed by the log and checks its witness cosignatures: at least
 * `policy` of `witnesses` (k of n) must have a valid cosignature line in the note. A line by a
 * known witness name and key ID that does not verify counts as no cosignature (and is reported
 * through the error's details when the policy fails). Throws the note errors of `openNote` for
 * the log signature, `witness_policy_unmet` otherwise.
 */
export function verifyCosignedCheckpoint(
  note: string,
  log: NoteVerifierKey,
  witnesses: readonly CosignerVerifierKey[],
  policy: number = witnesses.length,
): CosignedCheckpoint {
  return runNode(verifyCosignedCheckpointSteps(note, log, witnesses, policy));
}
