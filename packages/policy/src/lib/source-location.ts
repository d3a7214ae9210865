/**
 * Turns Cedar's diagnostics into one-line messages with a `file:line:column` location, the way a
 * compiler reports them, so an operator can find the fault in the folder they edited.
 */
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';

/** Where a diagnostic's offsets point: `text` (offsets count from `offset` within it) in `file`. */
export interface SourceRef {
  file: string;
  text: string;
  /** The offset, in UTF-8 bytes into `text`, of the snippet the diagnostic's offsets count from. */
  offset: number;
}

/** `file:line:column` of a UTF-8 byte offset into `text`; lines and columns count from 1. */
export function locate(file: string, text: string, byteOffset: number): string {
  // Cedar (Rust) counts in UTF-8 bytes; JavaScript strings in UTF-16 code units.
  const bytes = Buffer.from(text, 'utf8');
  const before = bytes.subarray(0, Math.max(0, Math.min(byteOffset, bytes.length))).toString();
  const lines = before.split('\n');
  const column = [...(lines[lines.length - 1] ?? '')].length + 1;
  return `${file}:${lines.length}:${column}`;
}

/** The UTF-8 length of `text`, for turning a string index into a byte offset. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * One message for a diagnostic: its location when it has one, the message, the labels of its
 * source spans, Cedar's help, and the related diagnostics (a parser often explains itself there).
 */
export function formatDiagnostic(error: DetailedError, where?: SourceRef): string {
  const span = error.sourceLocations?.[0];
  const at =
    where === undefined
      ? ''
      : span === undefined
        ? `${where.file}: `
        : `${locate(where.file, where.text, where.offset + span.start)}: `;
  let out = at + error.message;
  const labels = (error.sourceLocations ?? []).map((l) => l.label).filter((l) => l !== null);
  if (labels.length > 0) out += ` (${labels.join('; ')})`;
  if (error.help !== null && error.help !== '') out += `; help: ${error.help}`;
  for (const related of error.related ?? []) {
    out += `; ${formatDiagnostic(related, where)}`;
  }
  return out;
}
