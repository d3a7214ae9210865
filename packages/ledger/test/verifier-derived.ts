// Node only: the signed cases the vectors lack (cosignatures, a checkpoint of the wrong
// origin), made deterministically with ledger's signers from the vectors' own keys.
import { parseSignerKey } from '../src/note/keys.js';
import { signNote } from '../src/note/note.js';
import {
  cosignCheckpoint,
  cosignerKeyFromSeed,
  cosignerVerifierKeyString,
} from '../src/witness/cosignature.js';
import type { DerivedVectors } from '../../../test/support/verifier-vectors.js';

export function deriveVectors(notes: {
  valid_notes: { verifier_key: string; signer_key?: string; note: string }[];
}): DerivedVectors {
  const log = notes.valid_notes.find((n) => n.verifier_key.startsWith('Log+'))!;
  const signer = parseSignerKey(log.signer_key!);
  const text = log.note.slice(0, log.note.lastIndexOf('\n\n') + 1);
  const witness = cosignerKeyFromSeed('witness.test/a', new Uint8Array(32).fill(7));
  const other = cosignerKeyFromSeed('witness.test/b', new Uint8Array(32).fill(9));
  const cosignatureLine = cosignCheckpoint(text, witness, 1_700_000_000);
  return {
    wrongOriginNote: signNote(text.replace(/^Log\n/, 'Other Log\n'), [signer]),
    logKey: log.verifier_key,
    cosignedNote: log.note + cosignatureLine,
    cosignatureLine,
    witnessKey: cosignerVerifierKeyString(witness),
    otherWitnessKey: cosignerVerifierKeyString(other),
  };
}
