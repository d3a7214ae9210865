import { openNote, parseCheckpoint } from '../note/index.js';
import type { Checkpoint, NoteVerifierKey } from '../note/index.js';
import { verifyCosignatureBytes } from './cosignature.js';
import type { Cosignature, CosignerVerifierKey } from './cosignature.js';
import { WitnessError } from './errors.js';

export interface CosignedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The signed text of the checkpoint. */
  readonly text: string;
  /** Valid cosignatures by the given witnesses, one per witness at most. */
  readonly cosignatures: readonly Cosignature[];
}

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
  const opened = openNote(note, [log]);
  const checkpoint = parseCheckpoint(opened.text);
  const cosignatures: Cosignature[] = [];
  const invalid: string[] = [];
  for (const w of witnesses) {
    let found: Cosignature | null = null;
    for (const s of opened.signatures) {
      if (s.verified || s.name !== w.name || s.keyId !== w.keyId) continue;
      const timestamp = verifyCosignatureBytes(opened.text, s.signature, w);
      if (timestamp === null) invalid.push(w.name);
      else found = { name: w.name, keyId: w.keyId, timestamp };
      if (found) break;
    }
    if (found) cosignatures.push(found);
  }
  if (cosignatures.length < policy || policy < 1) {
    throw new WitnessError(
      'witness_policy_unmet',
      `The checkpoint (size ${checkpoint.size}) has ${cosignatures.length} valid cosignature(s) by the given witnesses; the policy needs ${policy} of ${witnesses.length}.`,
      { valid: cosignatures.map((c) => c.name), invalid, policy, witnesses: witnesses.length },
    );
  }
  return { checkpoint, text: opened.text, cosignatures };
}
