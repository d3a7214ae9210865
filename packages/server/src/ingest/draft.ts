/**
 * What moves through the ingest stages. Each stage takes one of these and returns a new one (or a
 * rejection); none changes its input, so a stage can be tested, reordered or skipped alone.
 */
import type { Attribution, AttributionLevel, EventRecord } from '@provenant/core';
import type { PreparedEntry } from '@provenant/ledger';
import type { WireErrorCode } from '../errors.js';

/** A security event at ingest that the collector records as its own `security.alert`. */
export interface AttributionAlert {
  /** `attribution_mismatch`, or a policy correlation failure such as `decision_mismatch`. */
  readonly code: string;
  readonly message: string;
  /** The record as its sender claimed it. */
  readonly record: EventRecord;
  readonly realHolder: { readonly initiator: string; readonly actor: string };
}

/** A record refused at some stage: answered with its code, never stored. */
export interface Rejection {
  readonly ok: false;
  readonly id: string | null;
  /** A wire code of docs/errors.md's record errors. */
  readonly code: WireErrorCode;
  readonly message: string;
  /** A security event raised on the way, recorded although the record is not. */
  readonly alert?: AttributionAlert;
}

/** A record that passed the schema (`parse`). */
export interface Parsed {
  readonly ok: true;
  readonly record: EventRecord;
}

/** A record with the collector's attribution (`attribute` and every stage after it). */
export interface Draft {
  readonly ok: true;
  /** The record as it is to be stored so far (its `attribution` is set by `seal`). */
  readonly record: EventRecord;
  readonly attribution: Attribution;
  /** A security event to record although the record itself is kept (flagged). */
  readonly alert?: AttributionAlert;
  /**
   * The id of the intent (`pending`) this record is the outcome of: the action counts once in
   * coverage, by its intent (stages/concludes.ts).
   */
  readonly concludes?: string;
}

/** A record ready for the log (`seal`). */
export interface Sealed {
  readonly ok: true;
  readonly entry: PreparedEntry;
  readonly level: AttributionLevel;
  /** The record as stored (for detections over what was actually written). */
  readonly record: EventRecord;
  readonly alert?: AttributionAlert;
}

export type Prepared = Sealed | Rejection;

/** A stage between attribution and sealing; async so a stage may ask a port. */
export type Stage = (draft: Draft) => Draft | Rejection | Promise<Draft | Rejection>;

/** Refuses `draft`, keeping a security event an earlier stage raised. */
export function reject(draft: Draft, code: WireErrorCode, message: string): Rejection {
  return {
    ok: false,
    id: draft.record.id,
    code,
    message,
    ...(draft.alert ? { alert: draft.alert } : {}),
  };
}
