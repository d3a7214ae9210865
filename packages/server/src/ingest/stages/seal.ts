import { MAX_RECORD_BYTES, canonicalize, coverageFacts } from '@provenant/core';
import { hashLeafText } from '@provenant/ledger';
import { reject } from '../draft.js';
import type { Draft, Rejection, Sealed } from '../draft.js';
import { timeToMicros } from '../time.js';

// A UTF-16 code unit is at most 3 UTF-8 bytes: a string this short is within the limit uncounted.
const SURELY_WITHIN = Math.floor(MAX_RECORD_BYTES / 3);

/**
 * Stage 6: the collector's attribution replaces whatever the input claimed; the record is
 * canonicalized (RFC 8785), bounded (`MAX_RECORD_BYTES`), hashed as a leaf, and its index facets are computed.
 * The canonical text is hashed as it is (its UTF-8 bytes are never materialized here: the
 * storage driver encodes it once, as it writes).
 */
export function seal(draft: Draft): Sealed | Rejection {
  const record = { ...draft.record, attribution: draft.attribution };
  const level = draft.attribution.level;
  let canonical: string;
  try {
    canonical = canonicalize(record);
  } catch (e) {
    return reject(draft, 'not_canonicalizable', (e as Error).message);
  }
  const size =
    canonical.length <= SURELY_WITHIN ? canonical.length : Buffer.byteLength(canonical, 'utf8');
  if (size > MAX_RECORD_BYTES) {
    return reject(
      draft,
      'record_too_large',
      `The canonical record is ${size} bytes; the limit is ${MAX_RECORD_BYTES}.`,
    );
  }
  return {
    ok: true,
    level,
    record,
    ...(draft.alert ? { alert: draft.alert } : {}),
    entry: {
      id: record.id,
      canonical,
      leafHash: hashLeafText(canonical),
      type: record.type,
      timeUs: timeToMicros(record.time),
      initiator: record.initiator?.id ?? null,
      actor: record.actor?.id ?? null,
      taskId: record.task_id ?? null,
      traceId: record.trace?.trace_id ?? null,
      level,
      actionName: record.action?.name ?? null,
      resource: record.action?.resource ?? null,
      outcome: record.outcome?.status ?? null,
      coverage: coverageFacts(record, { concludesIntent: draft.concludes !== undefined }),
    },
  };
}
