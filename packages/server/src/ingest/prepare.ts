import { MAX_RECORD_BYTES, canonicalize, coverageFacts, parseEventRecord } from '@provenant/core';
import type { Attribution, AttributionLevel, EventRecord } from '@provenant/core';
import { hashLeaf } from '@provenant/ledger';
import type { PreparedEntry } from '@provenant/ledger';

export type Prepared =
  | {
      readonly ok: true;
      readonly entry: PreparedEntry;
      readonly level: AttributionLevel;
      /** The record as stored (for detections over what was actually written). */
      readonly record: EventRecord;
      readonly alert?: AttributionAlert;
    }
  | {
      readonly ok: false;
      readonly id: string | null;
      readonly code: string;
      readonly message: string;
      /** Set when the rejection is a security event the collector must record. */
      readonly alert?: AttributionAlert;
    };

export interface AttributionAlert {
  /** `attribution_mismatch`, or a policy correlation failure such as `decision_mismatch`. */
  readonly code: string;
  readonly message: string;
  readonly record: EventRecord;
  readonly realHolder: { readonly initiator: string; readonly actor: string };
}

/**
 * Decides a parsed record's attribution. It may complete the record from verified evidence
 * (e.g. set `credential` and `delegation` from the credential) and returns the attribution,
 * or refuses the record.
 */
export type Attributor = (record: EventRecord) =>
  | {
      readonly ok: true;
      readonly attribution: Attribution;
      /** The record as it is to be stored, when audit rules transformed it. */
      readonly record?: EventRecord;
      /** A security event to record although the record itself is kept (flagged). */
      readonly alert?: AttributionAlert;
    }
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly alert?: AttributionAlert;
    };

/** Without a credential, identity is only ever claimed by the record itself. */
export const assertedOnly: Attributor = (record) => ({
  ok: true,
  attribution: {
    level: record.initiator && record.actor ? 'asserted' : 'unattributed',
    reasons: [],
  },
});

const encoder = new TextEncoder();

/**
 * Validates one input record and turns it into a log entry: the collector's own attribution
 * replaces whatever the input claimed, then the record is canonicalized and hashed.
 */
export function prepareRecord(input: unknown, attributor: Attributor = assertedOnly): Prepared {
  const parsed = parseEventRecord(input);
  if (!parsed.ok) {
    return { ok: false, id: idOf(input), code: parsed.code, message: parsed.message };
  }
  const record = parsed.record;
  const decision = attributor(record);
  if (!decision.ok) {
    return {
      ok: false,
      id: record.id,
      code: decision.code,
      message: decision.message,
      ...(decision.alert ? { alert: decision.alert } : {}),
    };
  }
  // The parsed record is a fresh object of ours: set the attribution in place (no spread copy).
  const stored = decision.record ?? record;
  stored.attribution = decision.attribution;
  const sealed = seal(stored);
  return decision.alert && sealed.ok ? { ...sealed, alert: decision.alert } : sealed;
}

/** A record the collector writes itself (witness records, alerts), with its own attribution. */
export function prepareOwnRecord(record: EventRecord, attribution: Attribution): Prepared {
  // Parsed like any input: a bug in the collector must not put an invalid record in the log.
  const parsed = parseEventRecord(record);
  if (!parsed.ok)
    throw new Error(`collector built an invalid ${record.type} record: ${parsed.message}`);
  parsed.record.attribution = attribution;
  return seal(parsed.record);
}

function seal(record: EventRecord): Prepared {
  const level = record.attribution!.level;
  let canonical: string;
  try {
    canonical = canonicalize(record);
  } catch (e) {
    return { ok: false, id: record.id, code: 'not_canonicalizable', message: (e as Error).message };
  }
  const bytes = encoder.encode(canonical);
  if (bytes.length > MAX_RECORD_BYTES) {
    return {
      ok: false,
      id: record.id,
      code: 'record_too_large',
      message: `The canonical record is ${bytes.length} bytes; the limit is ${MAX_RECORD_BYTES}.`,
    };
  }
  return {
    ok: true,
    level,
    record,
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
      coverage: coverageFacts(record),
    },
  };
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
