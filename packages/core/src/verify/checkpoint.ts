import { decodeBase64, encodeBase64 } from './bytes.js';
import { NoteError } from './errors.js';
import { CONTROL_EXCEPT_NEWLINE, LONE_SURROGATE } from './text.js';

/** A C2SP tlog-checkpoint: the body (text) of the log's signed note. */
export interface Checkpoint {
  /** Unique identifier of the log, e.g. `example.com/log42`. */
  readonly origin: string;
  /** Number of leaves in the tree. */
  readonly size: number;
  /** RFC 6962 root hash at that size (32 bytes for SHA-256). */
  readonly rootHash: Uint8Array;
  /** Optional opaque extension lines, each non-empty, without newlines. */
  readonly extensions: readonly string[];
}

const SIZE = /^(?:0|[1-9][0-9]*)$/;

const invalid = (reason: string): NoteError =>
  new NoteError('invalid_checkpoint', `Invalid checkpoint: ${reason}.`, { reason });

function lineProblem(line: string, what: string): string | null {
  if (typeof line !== 'string' || line.length === 0) return `the ${what} must be non-empty`;
  if (line.includes('\n')) return `the ${what} must not contain a newline`;
  if (CONTROL_EXCEPT_NEWLINE.test(line)) return `the ${what} contains a control character`;
  if (LONE_SURROGATE.test(line)) return `the ${what} is not well-formed Unicode`;
  return null;
}

/**
 * The note text of a checkpoint: origin, decimal size, base64 root hash and any extension
 * lines, each followed by a newline.
 */
export function formatCheckpoint(c: Checkpoint): string {
  const problem =
    lineProblem(c.origin, 'origin') ??
    (Number.isSafeInteger(c.size) && c.size >= 0
      ? null
      : 'the size must be a safe non-negative integer') ??
    (c.rootHash instanceof Uint8Array && c.rootHash.length > 0 ? null : 'the root hash is empty') ??
    c.extensions.reduce<string | null>((p, e) => p ?? lineProblem(e, 'extension line'), null);
  if (problem) throw invalid(problem);
  let text = `${c.origin}\n${c.size}\n${encodeBase64(c.rootHash)}\n`;
  for (const e of c.extensions) text += `${e}\n`;
  return text;
}

/**
 * Parses checkpoint note text. Accepts any strict base64 root hash (the spec's own examples use
 * short ones); use `hasSha256RootHash` to require a 32-byte root. The size must be decimal
 * without leading zeros and at most 2^53 - 1.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string') throw invalid('not a string');
  if (!text.endsWith('\n')) throw invalid('the text must end with a newline');
  if (CONTROL_EXCEPT_NEWLINE.test(text)) throw invalid('control character');
  if (LONE_SURROGATE.test(text)) throw invalid('not well-formed Unicode');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw invalid('fewer than three lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  if (origin.length === 0) throw invalid('empty origin');
  if (!SIZE.test(sizeText)) throw invalid('the size must be decimal without leading zeros');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw invalid('the size is larger than 2^53 - 1');
  const rootHash = decodeBase64(rootText);
  if (!rootHash || rootHash.length === 0) throw invalid('the root hash is not base64');
  if (extensions.some((e) => e.length === 0)) throw invalid('empty extension line');
  return { origin, size, rootHash, extensions };
}

/** Whether the checkpoint's root hash has the size of a SHA-256 Merkle root (32 bytes). */
export function hasSha256RootHash(c: Checkpoint): boolean {
  return c.rootHash.length === 32;
}
