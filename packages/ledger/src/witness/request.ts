// C2SP tlog-witness add-checkpoint request body, as read for this implementation:
//
//     old <decimal size the client believes the witness last cosigned, 0 if none>\n
//     <base64 consistency proof hash>\n        (zero or more, one per line, old -> new size)
//     \n                                       (blank line)
//     <the signed checkpoint note>             (text, blank line, signature lines)
//
// The proof is empty when `old` is 0 or equal to the checkpoint size. A request whose shape
// differs is answered 400.
import { decodeBase64, encodeBase64 } from '../note/base64.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import { WitnessError } from './errors.js';

/** Most consistency proof lines accepted (a proof over 2^63 leaves has fewer than 64). */
export const MAX_PROOF_HASHES = 63;

/** Largest add-checkpoint body accepted, in bytes. */
export const MAX_ADD_CHECKPOINT_BYTES = MAX_NOTE_BYTES + 64 * 64;

export interface AddCheckpointRequest {
  /** The size of the checkpoint the client believes the witness last cosigned (0: none). */
  readonly oldSize: number;
  /** Consistency proof from `oldSize` to the checkpoint's size. */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note. */
  readonly checkpoint: string;
}

const SIZE = /^(?:0|[1-9][0-9]*)$/;

const malformed = (reason: string): WitnessError =>
  new WitnessError('malformed_add_checkpoint', `Malformed add-checkpoint request: ${reason}.`, {
    reason,
  });

export function formatAddCheckpoint(r: AddCheckpointRequest): string {
  if (!Number.isSafeInteger(r.oldSize) || r.oldSize < 0) throw malformed('bad old size');
  let out = `old ${r.oldSize}\n`;
  for (const h of r.proof) out += `${encodeBase64(h)}\n`;
  return `${out}\n${r.checkpoint}`;
}

export function parseAddCheckpoint(body: string | Uint8Array): AddCheckpointRequest {
  if (body instanceof Uint8Array) {
    if (body.length > MAX_ADD_CHECKPOINT_BYTES) throw malformed('too large');
    try {
      body = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
    } catch {
      throw malformed('not valid UTF-8');
    }
  }
  if (typeof body !== 'string') throw malformed('not text');
  if (body.length > MAX_ADD_CHECKPOINT_BYTES) throw malformed('too large');
  const blank = body.indexOf('\n\n');
  if (blank < 0) throw malformed('no blank line before the checkpoint');
  const head = body.slice(0, blank).split('\n');
  const checkpoint = body.slice(blank + 2);
  const first = head[0]!;
  if (!first.startsWith('old ')) throw malformed('the first line must be "old <size>"');
  const sizeText = first.slice(4);
  if (!SIZE.test(sizeText)) throw malformed('the old size must be decimal without leading zeros');
  const oldSize = Number(sizeText);
  if (!Number.isSafeInteger(oldSize)) throw malformed('the old size is too large');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_HASHES) throw malformed('too many proof hashes');
  const proof = lines.map((l) => {
    const h = decodeBase64(l);
    if (!h || h.length !== 32) throw malformed('a proof line is not a base64 32-byte hash');
    return h;
  });
  if (checkpoint.length === 0) throw malformed('no checkpoint');
  return { oldSize, proof, checkpoint };
}
