import { RequestError } from '../errors.js';

/**
 * Paging of the read routes: a `limit` (1..max) and an opaque `cursor` naming the last leaf
 * index served. Cursors are opaque to clients; the version prefix lets the format change later.
 */

export function encodeCursor(leafIndex: number): string {
  return `c1.${Buffer.from(String(leafIndex)).toString('base64url')}`;
}

/** The leaf index in a cursor this collector issued (`invalid_cursor` otherwise). */
export function decodeCursor(cursor: unknown): number {
  const m = typeof cursor === 'string' ? /^c1\.([A-Za-z0-9_-]{1,24})$/.exec(cursor) : null;
  const text = m ? Buffer.from(m[1]!, 'base64url').toString('latin1') : '';
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) {
    throw new RequestError('invalid_cursor', 'The cursor was not issued by this collector.');
  }
  return Number(text);
}

/** A `limit` query parameter: absent gives `fallback`; else an integer in [1, max]. */
export function parseLimit(value: unknown, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : 0;
  if (n < 1 || n > max)
    throw new RequestError('invalid_parameter', `"limit" must be between 1 and ${max}.`);
  return n;
}
