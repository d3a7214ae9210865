import { decodeBase64, encodeBase64 } from './bytes.js';
import { EvidenceError } from './errors.js';

/**
 * C2SP `tlog-proof@v1` (https://c2sp.org/tlog-proof), as we read it: the header line
 * `c2sp.org/tlog-proof@v1`, an optional `extra <base64>` line, an `index <decimal>` line, one
 * line per inclusion-proof hash (base64, leaf upward), an empty line, then the checkpoint as its
 * signed note, byte for byte. The entry itself is not in the proof: the verifier holds it and
 * hashes it (here: the record's RFC 8785 canonical JSON, as an RFC 6962 leaf).
 */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export interface TlogProof {
  readonly index: number;
  readonly hashes: readonly Uint8Array[];
  /** The checkpoint signed note. */
  readonly checkpoint: string;
  readonly extra?: Uint8Array;
}

export function formatTlogProof(p: TlogProof): string {
  let text = `${TLOG_PROOF_HEADER}\n`;
  if (p.extra !== undefined) text += `extra ${encodeBase64(p.extra)}\n`;
  text += `index ${p.index}\n`;
  for (const h of p.hashes) text += `${encodeBase64(h)}\n`;
  return `${text}\n${p.checkpoint}`;
}

const bad = (reason: string) =>
  new EvidenceError('bad_tlog_proof', `Not a c2sp.org/tlog-proof@v1 proof: ${reason}.`);

/** Parses a tlog-proof; checks its layout only (the caller verifies the note and the proof). */
export function parseTlogProof(text: string): TlogProof {
  if (typeof text !== 'string') throw bad('not text');
  const split = text.indexOf('\n\n');
  if (split < 0) throw bad('no empty line before the checkpoint');
  const lines = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (lines.shift() !== TLOG_PROOF_HEADER) throw bad(`the first line must be ${TLOG_PROOF_HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[0]?.startsWith('extra ')) {
    extra = decodeBase64(lines.shift()!.slice('extra '.length)) ?? undefined;
    if (extra === undefined) throw bad('the extra data is not base64');
  }
  const indexLine = /^index (0|[1-9][0-9]{0,15})$/.exec(lines.shift() ?? '');
  if (!indexLine) throw bad('no "index N" line');
  const index = Number(indexLine[1]);
  if (!Number.isSafeInteger(index)) throw bad('the index is too large');
  const hashes = lines.map((l) => {
    const h = decodeBase64(l);
    if (!h || h.length !== 32) throw bad('a proof line is not a base64 SHA-256 hash');
    return h;
  });
  return extra === undefined ? { index, hashes, checkpoint } : { index, hashes, checkpoint, extra };
}
