import { canonicalize, parseEventRecord } from '@provenant/core';
import type { AttributionLevel, EventRecord } from '@provenant/core';
import { hashLeaf } from '@provenant/ledger';
import type { PreparedEntry } from '@provenant/ledger';

/** Largest canonical record: a tlog-tiles entry bundle frames each entry with a uint16 length. */
export const MAX_CANONICAL_RECORD_BYTES = 65_535;

export type Prepared =
  | { readonly ok: true; readonly entry: PreparedEntry; readonly level: AttributionLevel }
  | {
      readonly ok: false;
      readonly id: string | null;
      readonly code: string;
      readonly message: string;
    };

const encoder = new TextEncoder();

/**
 * Validates one input record and turns it into a log entry: the collector's own attribution
 * replaces whatever the input claimed, then the record is canonicalized and hashed.
 */
export function prepareRecord(input: unknown): Prepared {
  const parsed = parseEventRecord(input);
  const claimedId = idOf(input);
  if (!parsed.ok) return { ok: false, id: claimedId, code: parsed.code, message: parsed.message };
  const record = parsed.record;
  const level = attributionWithoutCredential(record);
  // The parsed record is a fresh object of ours: set the attribution in place (no spread copy).
  record.attribution = { level, reasons: [] };
  let canonical: string;
  try {
    canonical = canonicalize(record);
  } catch (e) {
    return { ok: false, id: record.id, code: 'not_canonicalizable', message: (e as Error).message };
  }
  const bytes = encoder.encode(canonical);
  if (bytes.length > MAX_CANONICAL_RECORD_BYTES) {
    return {
      ok: false,
      id: record.id,
      code: 'record_too_large',
      message: `The canonical record is ${bytes.length} bytes; the limit is ${MAX_CANONICAL_RECORD_BYTES}.`,
    };
  }
  return {
    ok: true,
    level,
    entry: {
      id: record.id,
      canonical,
      leafHash: hashLeaf(bytes),
      type: record.type,
      timeUs: timeToMicros(record.time),
      initiator: record.initiator?.id ?? null,
      actor: record.actor?.id ?? null,
      taskId: record.task_id ?? null,
      traceId: record.trace?.trace_id ?? null,
      level,
    },
  };
}

/** Until credentials are checked, identity is only ever claimed by the record itself. */
function attributionWithoutCredential(record: EventRecord): AttributionLevel {
  return record.initiator && record.actor ? 'asserted' : 'unattributed';
}

function idOf(input: unknown): string | null {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const id = (input as Record<string, unknown>)['id'];
    if (typeof id === 'string' && id.length <= 64) return id;
  }
  return null;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 timestamp → microseconds since the epoch (UTC); NaN when it does not parse. */
export function timeToMicros(time: string): number {
  const m = RFC3339.exec(time);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const micros = frac ? Number(frac.padEnd(6, '0').slice(0, 6)) : 0;
  const offsetMin = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  return (ms - offsetMin * 60_000) * 1000 + micros;
}
