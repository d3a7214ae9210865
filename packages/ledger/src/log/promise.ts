import { decodeBase64, encodeBase64 } from '../note/base64.js';
import { openNote, signNote } from '../note/index.js';
import type { NoteSignerKey, NoteVerifierKey } from '../note/index.js';
import { LogError } from './errors.js';

/**
 * A signed promise of inclusion: what a collector of a cluster answers for a record it stored
 * in the ingest queue before the sequencer gave it a leaf index. It is a C2SP signed note,
 * signed with the log's own key, whose text is
 *
 *     provenant.promise/v1
 *     <log origin>
 *     <record id>
 *     <leaf hash, base64>
 *     <receive time, RFC 3339 UTC, microseconds>
 *
 * The first line keeps it from ever parsing as a checkpoint (whose second line is a size).
 * Whoever holds it can later demand the inclusion proof of that leaf hash; a log that signed a
 * promise and never included the record is caught by it.
 */
export interface InclusionPromise {
  readonly origin: string;
  readonly id: string;
  readonly leafHash: Uint8Array;
  /** Microseconds since the epoch. */
  readonly receivedUs: number;
}

export const PROMISE_HEADER = 'provenant.promise/v1';

export function formatPromise(p: InclusionPromise): string {
  return [PROMISE_HEADER, p.origin, p.id, encodeBase64(p.leafHash), formatMicros(p.receivedUs)]
    .map((line) => `${line}\n`)
    .join('');
}

export function signPromise(signer: NoteSignerKey, p: Omit<InclusionPromise, 'origin'>): string {
  return signNote(formatPromise({ ...p, origin: signer.name }), [signer]);
}

/** Checks the signature with the log's verifier key and parses the promise. */
export function openPromise(note: string, verifier: NoteVerifierKey): InclusionPromise {
  const { text } = openNote(note, [verifier]);
  const lines = text.split('\n');
  const [header, origin, id, hash, time, end, ...rest] = lines;
  const leafHash = hash === undefined ? null : decodeBase64(hash);
  const receivedUs = time === undefined ? NaN : parseMicros(time);
  if (
    header !== PROMISE_HEADER ||
    origin !== verifier.name ||
    !id ||
    !leafHash ||
    leafHash.length !== 32 ||
    !Number.isSafeInteger(receivedUs) ||
    end !== '' ||
    rest.length > 0
  ) {
    throw new LogError('promise_malformed', 'The note is not a promise of inclusion of this log.');
  }
  return { origin, id, leafHash, receivedUs };
}

function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = String(us - ms * 1000).padStart(3, '0');
  return new Date(ms).toISOString().replace('Z', `${micros}Z`);
}

function parseMicros(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{6})Z$/.exec(s);
  if (!m) return NaN;
  const seconds = Date.parse(`${m[1]}Z`);
  return Number.isNaN(seconds) ? NaN : seconds * 1000 + Number(m[2]);
}
