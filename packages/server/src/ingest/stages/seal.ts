import { MAX_RECORD_BYTES, canonicalize, coverageFacts } from '@provenant/core';
import { hashLeaf } from '@provenant/ledger';
import { reject } from '../draft.js';
import type { Draft, Rejection, Sealed } from '../draft.js';
import { timeToMicros } from '../time.js';

const encoder = new TextEncoder();

/**
 * Stage 6: the collector's attribution replaces whatever the input claimed; the record is
 * canonicalized (RFC 8785), bounded (`MAX_RECORD_BYTES`), hashed as a leaf, and its index facets are computed.
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
  const bytes = encoder.encode(canonical);
  if (bytes.length > MAX_RECORD_BYTES) {
    return reject(
      draft,
      'record_too_large',
      `The canonical record is ${bytes.length} bytes; the limit is ${MAX_RECORD_BYTES}.`,
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
      leafHash: hashLeaf(bytes),
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
