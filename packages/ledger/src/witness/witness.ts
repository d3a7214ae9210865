// The witness side of C2SP tlog-witness, as read for this implementation. For each
// add-checkpoint request, in this order:
//   400 the body is not `old <size>` + proof lines + blank line + a signed note, or the note's
//       body is not a checkpoint, or `old` is larger than the checkpoint size, or a proof is
//       given where none is possible (old = 0 or old = size);
//   404 the checkpoint's origin (first line) is not a log this witness is configured for;
//   403 the note carries no valid signature by a verifier key configured for that origin;
//   409 `old` is not the size of the checkpoint the witness last cosigned for that origin, or
//       old = size but the root hash differs (a fork at that size); the body is the witness's
//       size, `text/x.tlog.size`, so the client can retry with a proof from there;
//   422 the consistency proof from the witness's checkpoint to the new one does not verify;
//   200 otherwise: the witness records the new checkpoint (atomically, compare-and-swap on the
//       size) and answers its cosignature line(s), `— <witness name> <base64>`.
import { equalBytes } from '@provenant/core/vocabulary';
import { verifyConsistency } from '../merkle/index.js';
import { openNote, parseCheckpoint } from '../note/index.js';
import type { Checkpoint, NoteVerifierKey } from '../note/index.js';
import { cosignCheckpoint } from './cosignature.js';
import type { CosignerKey } from './cosignature.js';
import { parseAddCheckpoint } from './request.js';
import type { WitnessStateStore } from './store.js';

export type AddCheckpointResult =
  | { readonly status: 200; readonly cosignatures: string; readonly checkpoint: Checkpoint }
  | { readonly status: 409; readonly size: number; readonly reason: string }
  | {
      readonly status: 400 | 403 | 404 | 422;
      readonly code: WitnessRejection;
      readonly reason: string;
    };

/** Why a witness refused a checkpoint (the wire codes of the witness server). */
export type WitnessRejection =
  | 'malformed_add_checkpoint' // 400
  | 'unknown_log' // 404
  | 'log_signature_invalid' // 403
  | 'consistency_proof_failed'; // 422

export interface WitnessOptions {
  readonly key: CosignerKey;
  /** The logs this witness cosigns: origin -> the log's checkpoint verifier key(s). */
  readonly logs: ReadonlyMap<string, readonly NoteVerifierKey[]>;
  readonly store: WitnessStateStore;
  /** Unix seconds; default the system clock. */
  readonly now?: () => number;
}

export class Witness {
  readonly name: string;
  private readonly options: WitnessOptions;

  constructor(options: WitnessOptions) {
    this.options = options;
    this.name = options.key.name;
  }

  /** Handles one add-checkpoint request body. Never throws on bad input. */
  async addCheckpoint(body: string | Uint8Array): Promise<AddCheckpointResult> {
    const reject = (
      status: 400 | 403 | 404 | 422,
      code: WitnessRejection,
      reason: string,
    ): AddCheckpointResult => ({ status, code, reason });
    let request;
    try {
      request = parseAddCheckpoint(body);
    } catch (e) {
      return reject(400, 'malformed_add_checkpoint', (e as Error).message);
    }
    const { oldSize, proof } = request;
    const newline = request.checkpoint.indexOf('\n');
    if (newline <= 0)
      return reject(400, 'malformed_add_checkpoint', 'The checkpoint has no origin line.');
    const origin = request.checkpoint.slice(0, newline);
    const verifiers = this.options.logs.get(origin);
    if (!verifiers || verifiers.length === 0) {
      return reject(
        404,
        'unknown_log',
        `This witness does not know the log "${origin.slice(0, 200)}".`,
      );
    }
    let text: string;
    try {
      text = openNote(request.checkpoint, verifiers).text;
    } catch (e) {
      return reject(
        403,
        'log_signature_invalid',
        `The checkpoint is not signed by a known key of the log: ${(e as Error).message}`,
      );
    }
    let checkpoint: Checkpoint;
    try {
      checkpoint = parseCheckpoint(text);
    } catch (e) {
      return reject(400, 'malformed_add_checkpoint', (e as Error).message);
    }
    if (checkpoint.origin !== origin) {
      return reject(400, 'malformed_add_checkpoint', 'The checkpoint origin is malformed.');
    }
    if (oldSize > checkpoint.size) {
      return reject(
        400,
        'malformed_add_checkpoint',
        `old (${oldSize}) is larger than the checkpoint size (${checkpoint.size}).`,
      );
    }
    if ((oldSize === 0 || oldSize === checkpoint.size) && proof.length > 0) {
      return reject(
        400,
        'malformed_add_checkpoint',
        'No consistency proof is possible from old to this size, yet one was given.',
      );
    }
    const state = await this.options.store.get(origin);
    const current = state?.size ?? 0;
    if (current !== oldSize) {
      return {
        status: 409,
        size: current,
        reason: `The witness last cosigned size ${current}, not ${oldSize}.`,
      };
    }
    if (state && oldSize === checkpoint.size) {
      if (!equalBytes(state.rootHash, checkpoint.rootHash)) {
        return {
          status: 409,
          size: current,
          reason:
            'The checkpoint has the size of the one the witness cosigned, but another root hash: a fork.',
        };
      }
    } else if (state && oldSize > 0) {
      try {
        verifyConsistency(oldSize, checkpoint.size, proof, state.rootHash, checkpoint.rootHash);
      } catch (e) {
        return reject(
          422,
          'consistency_proof_failed',
          `The consistency proof from size ${oldSize} does not verify: ${(e as Error).message}`,
        );
      }
    }
    const stored = await this.options.store.compareAndSwap(origin, oldSize, {
      size: checkpoint.size,
      rootHash: checkpoint.rootHash,
      note: request.checkpoint,
    });
    if (!stored) {
      const now = (await this.options.store.get(origin))?.size ?? 0;
      return { status: 409, size: now, reason: 'Another checkpoint was cosigned concurrently.' };
    }
    const timestamp = (this.options.now ?? (() => Math.floor(Date.now() / 1000)))();
    return {
      status: 200,
      cosignatures: cosignCheckpoint(text, this.options.key, timestamp),
      checkpoint,
    };
  }
}
