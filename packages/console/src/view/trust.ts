/**
 * How the console shows outcomes, attribution levels and alerts: one tone per value, so a
 * denied deletion never looks like an allowed push and an asserted record never wears the
 * green of a verified one. Pure: values in, labels and tones out.
 */
import {
  ATTRIBUTION_LEVELS,
  OUTCOME_STATUSES,
  isActionRecord,
  isUuid,
} from '@provenant/core/vocabulary';
import type { AttributionLevel, OutcomeStatus } from '@provenant/core/vocabulary';

/** `ok` green, `bad` red, `pending` amber, `warn` amber outline, `neutral` no colour. */
export type Tone = 'ok' | 'bad' | 'pending' | 'warn' | 'neutral';

export interface Label {
  readonly text: string;
  readonly tone: Tone;
  /** A sentence for the title attribute and screen readers. */
  readonly explain: string;
}

const OUTCOMES: Readonly<Record<OutcomeStatus, Label>> = {
  success: { text: 'success', tone: 'ok', explain: 'The action ran and succeeded.' },
  denied: { text: 'denied', tone: 'bad', explain: 'The action was refused and did not run.' },
  error: { text: 'error', tone: 'bad', explain: 'The action ran and failed.' },
  pending: {
    text: 'pending',
    tone: 'pending',
    explain: 'The action was announced; no outcome has been recorded yet.',
  },
};

const isOutcome = (s: string): s is OutcomeStatus =>
  (OUTCOME_STATUSES as readonly string[]).includes(s);

/** An outcome status (`outcome.status`), or none recorded. */
export function outcomeLabel(status: string | undefined | null): Label {
  if (status === undefined || status === null) {
    return { text: 'no outcome', tone: 'warn', explain: 'The record names no outcome.' };
  }
  return isOutcome(status)
    ? OUTCOMES[status]
    : { text: status, tone: 'warn', explain: `Unknown outcome "${status}".` };
}

const LEVELS: Readonly<Record<AttributionLevel, Label>> = {
  verified: {
    text: 'verified',
    tone: 'ok',
    explain:
      "The collector checked the sender's credential: initiator, actor, chain and time match it.",
  },
  pooled: {
    text: 'pooled',
    tone: 'warn',
    explain: 'A shared service account sent it: only the pool is proven, not which instance acted.',
  },
  asserted: {
    text: 'asserted',
    tone: 'warn',
    explain: 'Identity claimed by the record, without a credential: nothing proves who acted.',
  },
  unattributed: {
    text: 'unattributed',
    tone: 'warn',
    explain: 'The record names no initiator or no actor.',
  },
};

const isLevel = (s: string): s is AttributionLevel =>
  (ATTRIBUTION_LEVELS as readonly string[]).includes(s);

/** An attribution level as the collector set it; anything below `verified` is a warning. */
export function levelLabel(level: string | undefined | null): Label {
  if (level === undefined || level === null) {
    return { text: 'no level', tone: 'warn', explain: 'The record carries no attribution.' };
  }
  return isLevel(level)
    ? LEVELS[level]
    : { text: level, tone: 'warn', explain: `Unknown attribution level "${level}".` };
}

/** A policy decision (`policy.decision`). */
export function decisionLabel(decision: string | undefined | null): Label {
  if (decision === 'allow') return { text: 'allowed', tone: 'ok', explain: 'Policy allowed it.' };
  if (decision === 'deny') return { text: 'denied', tone: 'bad', explain: 'Policy denied it.' };
  return { text: 'no decision', tone: 'warn', explain: 'No policy decision is recorded.' };
}

/** What a `security.alert` is about: the record it names and the detection or ingest check. */
export interface AlertTarget {
  /** The record the alert names (`action.resource` = `record:<id>`), or null. */
  readonly recordId: string | null;
  /** Whether that record was refused at ingest and so is not in the log (nothing to open). */
  readonly refused: boolean;
  /** Other records the alert names (a reclaimed id, a record kept beside a squat). */
  readonly related: readonly { readonly label: string; readonly id: string }[];
  readonly code: string;
  readonly detail: string;
  /** Who sent input below `verified` that the alert is about, and whom it claimed. */
  readonly source: string | null;
  readonly claimedActor: string | null;
}

interface AlertShape {
  readonly action?: {
    readonly name?: string;
    readonly resource?: string;
    readonly args?: Readonly<Record<string, unknown>>;
  };
  readonly outcome?: {
    readonly error?: { readonly code?: string; readonly message?: string } | null;
  };
}

/**
 * The links an alert offers. Ingest alerts about a record that contradicted its credential
 * (`rejected_record_id`) name a record that was never stored; the console says so instead of
 * linking to a 404.
 */
export function alertTarget(alert: AlertShape): AlertTarget {
  const resource = alert.action?.resource ?? '';
  const recordId = resource.startsWith('record:') ? resource.slice('record:'.length) : null;
  const args = alert.action?.args ?? {};
  const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
  const refused = recordId !== null && str('rejected_record_id') === recordId;
  const related: { label: string; id: string }[] = [];
  const reclaimed = str('reclaimed_record_id');
  if (reclaimed !== undefined && isUuid(reclaimed)) {
    related.push({ label: 'stored as', id: reclaimed });
  }
  const code = alert.outcome?.error?.code ?? alert.action?.name ?? 'alert';
  const detail = str('detail') ?? alert.outcome?.error?.message ?? '';
  return {
    recordId,
    refused,
    related,
    code,
    detail,
    source: str('source') ?? null,
    claimedActor: str('claimed_actor') ?? null,
  };
}

/** An alert is always shown in red, whatever its outcome says (the alert itself was written). */
export const ALERT_LABEL: Label = {
  text: 'alert',
  tone: 'bad',
  explain: 'A security alert the collector wrote: look at what it names.',
};

interface StatusShape extends AlertShape {
  readonly type: string;
  readonly policy?: { readonly decision?: string };
  readonly outcome?: AlertShape['outcome'] & { readonly status?: string };
}

/**
 * The status column of a record in a list: an action's outcome, a decision's answer, an
 * alert as an alert (never its `success` outcome), a revocation as a warning; null for the
 * other witness records (a credential issued, a principal registered), which have no status.
 */
export function recordStatus(r: StatusShape): Label | null {
  if (r.type === 'security.alert') return ALERT_LABEL;
  if (r.type === 'policy.decision') return decisionLabel(r.policy?.decision);
  if (r.type === 'credential.revoked') {
    return { text: 'revoked', tone: 'warn', explain: 'A credential was revoked.' };
  }
  if (isActionRecord(r)) return outcomeLabel(r.outcome?.status);
  return null;
}

/** Where the console shows a record: an action's provenance, else the record itself. */
export function recordHref(id: string, type: string | undefined): string {
  const path = type !== undefined && isActionRecord({ type }) ? 'provenance' : 'record';
  return `#/${path}/${encodeURIComponent(id)}`;
}
