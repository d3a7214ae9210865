import { hashChildren, hashLeafText, rootFromInclusionProof } from '../merkle/index.js';
import { decodeBase64, encodeBase64 } from '../note/base64.js';
import { openNote, signNote } from '../note/index.js';
import type { NoteSignerKey, NoteVerifierKey } from '../note/index.js';
import { equalBytes } from '@provenant/core/vocabulary';
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

/**
 * A promise for the records queued together in one transaction (issue 18: one signature for the
 * batch, not one for each record). The signed note's text is
 *
 *     provenant.promise/v2
 *     <log origin>
 *     <receive time, RFC 3339 UTC, microseconds>
 *     <record count n>
 *     <batch root, base64>
 *
 * where the batch root is the RFC 6962 Merkle tree hash of n leaves, leaf i being the text
 * `<record id>\n<leaf hash, base64>\n` of the i-th record (`promiseLeaf`). Each record is
 * answered with the note and its `PromiseProof`: its leaf hash, its index among the n and the
 * audit path to the batch root (RFC 9162 inclusion proof).
 */
export const BATCH_PROMISE_HEADER = 'provenant.promise/v2';

/** A record's place in a batch promise (`provenant.promise/v2`). */
export interface PromiseProof {
  readonly leafHash: Uint8Array;
  readonly index: number;
  readonly path: readonly Uint8Array[];
}

/** The leaf of a batch promise for one record: its id and leaf hash, hashed as RFC 6962 data. */
export function promiseLeaf(id: string, leafHash: Uint8Array): Uint8Array {
  return hashLeafText(`${id}\n${encodeBase64(leafHash)}\n`);
}

/**
 * One signed note for records queued together at `receivedUs`, and each record's proof of its
 * place in it (in the order given).
 */
export function signBatchPromise(
  signer: NoteSignerKey,
  receivedUs: number,
  records: readonly { readonly id: string; readonly leafHash: Uint8Array }[],
): { note: string; proofs: PromiseProof[] } {
  const levels = [records.map((r) => promiseLeaf(r.id, r.leafHash))];
  // Bottom-up, an odd last node moving up a level unpaired: the RFC 6962 tree hash.
  for (let level = levels[0]!; level.length > 1;) {
    const up: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) up.push(hashChildren(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) up.push(level[level.length - 1]!);
    levels.push(up);
    level = up;
  }
  const root = levels[levels.length - 1]![0]!;
  const text = [
    BATCH_PROMISE_HEADER,
    signer.name,
    formatMicros(receivedUs),
    String(records.length),
    encodeBase64(root),
  ]
    .map((line) => `${line}\n`)
    .join('');
  const proofs = records.map((r, index): PromiseProof => {
    const path: Uint8Array[] = [];
    for (let l = 0, i = index; l < levels.length - 1; l++, i >>= 1) {
      const sibling = levels[l]![i ^ 1];
      if (sibling !== undefined) path.push(sibling);
    }
    return { leafHash: r.leafHash, index, path };
  });
  return { note: signNote(text, [signer]), proofs };
}

export function formatPromise(p: InclusionPromise): string {
  return [PROMISE_HEADER, p.origin, p.id, encodeBase64(p.leafHash), formatMicros(p.receivedUs)]
    .map((line) => `${line}\n`)
    .join('');
}

export function signPromise(signer: NoteSignerKey, p: Omit<InclusionPromise, 'origin'>): string {
  return signNote(formatPromise({ ...p, origin: signer.name }), [signer]);
}

/**
 * Checks the signature with the log's verifier key and parses the promise. A batch promise
 * (`provenant.promise/v2`) needs the record's id and its `PromiseProof`, which must lead from
 * that id and leaf hash to the signed batch root.
 */
export function openPromise(
  note: string,
  verifier: NoteVerifierKey,
  record?: { readonly id: string; readonly proof: PromiseProof },
): InclusionPromise {
  const { text } = openNote(note, [verifier]);
  if (text.startsWith(`${BATCH_PROMISE_HEADER}\n`)) return openBatch(text, verifier, record);
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

function openBatch(
  text: string,
  verifier: NoteVerifierKey,
  record: { readonly id: string; readonly proof: PromiseProof } | undefined,
): InclusionPromise {
  const [, origin, time, count, root, end, ...rest] = text.split('\n');
  const receivedUs = time === undefined ? NaN : parseMicros(time);
  const n = count !== undefined && /^[1-9][0-9]{0,8}$/.test(count) ? Number(count) : NaN;
  const rootHash = root === undefined ? null : decodeBase64(root);
  if (
    origin !== verifier.name ||
    !Number.isSafeInteger(receivedUs) ||
    !Number.isSafeInteger(n) ||
    !rootHash ||
    rootHash.length !== 32 ||
    end !== '' ||
    rest.length > 0
  ) {
    throw new LogError('promise_malformed', 'The note is not a promise of inclusion of this log.');
  }
  const proof = record?.proof;
  if (!record || !proof || proof.leafHash.length !== 32) {
    throw new LogError(
      'promise_malformed',
      "A batch promise needs the record's id, leaf hash and place in the batch.",
    );
  }
  let implied: Uint8Array | null;
  try {
    implied = rootFromInclusionProof(
      promiseLeaf(record.id, proof.leafHash),
      proof.index,
      n,
      proof.path,
    );
  } catch {
    implied = null;
  }
  if (!implied || !equalBytes(implied, rootHash)) {
    throw new LogError(
      'promise_malformed',
      `The promise does not cover record ${record.id} with that leaf hash.`,
    );
  }
  return { origin, id: record.id, leafHash: proof.leafHash, receivedUs };
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
