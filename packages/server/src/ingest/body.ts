import { RequestError } from '../errors.js';

export interface BodyItem {
  readonly index: number;
  /** The parsed value, or undefined when this NDJSON line was not JSON. */
  readonly value: unknown;
  readonly malformed: boolean;
}

export type IngestMediaType = 'json' | 'ndjson';

export function mediaTypeOf(contentType: string | undefined): IngestMediaType | null {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (
    type === 'application/x-ndjson' ||
    type === 'application/jsonl' ||
    type === 'application/ndjson'
  ) {
    return 'ndjson';
  }
  return null;
}

/**
 * Splits an ingest body into records: one JSON object, a JSON array, or NDJSON (one record a
 * line; a line that is not JSON rejects only that record).
 */
export function splitBody(raw: string, type: IngestMediaType, maxRecords: number): BodyItem[] {
  if (type === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new RequestError(
        'malformed_json',
        `The body is not valid JSON: ${(e as Error).message}.`,
      );
    }
    const values = Array.isArray(value) ? value : [value];
    checkCount(values.length, maxRecords);
    return values.map((v, index) => ({ index, value: v, malformed: false }));
  }
  const items: BodyItem[] = [];
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf('\n', start);
    if (end === -1) end = raw.length;
    const line = raw.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    checkCount(items.length + 1, maxRecords);
    try {
      items.push({ index: items.length, value: JSON.parse(line), malformed: false });
    } catch {
      items.push({ index: items.length, value: undefined, malformed: true });
    }
  }
  checkCount(items.length, maxRecords);
  return items;
}

function checkCount(count: number, max: number): void {
  if (count === 0) throw new RequestError('empty_batch', 'The request holds no record.');
  if (count > max) {
    throw new RequestError('too_many_records', `A request may hold at most ${max} records.`);
  }
}
