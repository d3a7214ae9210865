import { ACTION_CLASS_FLAGS, isActionRecord } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import { DEFAULT_DECISION_VALIDITY_MS, decidedAction, ruleFor } from '@provenant/policy';
import type { AuditRules, Decision } from '@provenant/policy';
import { policyRefOf } from '../../policy/service.js';
import type { WireErrorCode } from '../../errors.js';
import { reject, type Draft, type Rejection, type Stage } from '../draft.js';

/** Where the decision point's recorded decisions are read (the policy service). */
export interface DecisionLookup {
  getDecision(id: string): Decision | null | Promise<Decision | null>;
  /** The collector's clock (Unix ms): a record is judged by when it arrives. */
  now(): number;
}

/**
 * Stage 4: checks the policy decision an action record references against what the decision
 * point itself recorded: it must exist, be for this same actor, action, resource, class and risk
 * (as decided: the catalog's, raised by the caller's), have been made for this very credential
 * (jti and chain), still be valid (`valid_until`) and have allowed the action (unless the record
 * says it was denied). The record's `policy` is then rewritten from the recorded decision: an
 * agent cannot claim an engine, policy set or answer it never got; a record that names no class
 * or risk gets the decided ones. A mismatch or an expired decision is refused (and alerted) when
 * the action is privileged, irreversible or external by the decision or by the record: such a
 * record would launder a decision made for something else. Otherwise, and for a decision never
 * made or one that denied, it is flagged (a reason) and alerted, not refused: the action
 * happened and its record is evidence. A record the audit rule says needs a decision and names
 * none is flagged `decision_missing`.
 */
export function correlateDecision(
  decisions: DecisionLookup,
  auditRules: AuditRules,
  credential: VerifiedCredential | null,
): Stage {
  return async (draft) => {
    const { record } = draft;
    const ref = record.policy;
    if (!ref) {
      const required = ruleFor(record, auditRules).requireDecision ?? false;
      return required && isActionRecord(record) ? flagged(draft, 'decision_missing') : draft;
    }
    const realHolder = realHolderOf(record, credential);
    // Never keep a claimed decision the decision point cannot vouch for.
    const { policy: _claimed, ...unvouched } = record;
    const flag = (code: string, message: string): Draft => ({
      ...flagged(draft, code),
      record: unvouched,
      alert: { code, message, record, realHolder },
    });
    const d = await decisions.getDecision(ref.decision_id);
    if (!d) {
      return flag(
        'decision_not_found',
        `Decision ${ref.decision_id} was never made by this decision point.`,
      );
    }
    const decided = decidedAction(d);
    const claimedClass = record.action?.class;
    const highStakes = ACTION_CLASS_FLAGS.some((f) => decided.class[f] || claimedClass?.[f]);
    const refuseOrFlag = (code: WireErrorCode, message: string): Draft | Rejection =>
      highStakes ? reject(flag(code, message), code, message) : flag(code, message);
    const problems = mismatches(record, d, credential);
    if (problems.length > 0) {
      return refuseOrFlag(
        'decision_mismatch',
        `Decision ${d.decision_id} was made for another ${problems.join(', ')} than this record's.`,
      );
    }
    const now = decisions.now();
    const validUntil = validUntilOf(d);
    if (now > validUntil) {
      return refuseOrFlag(
        'decision_expired',
        `Decision ${d.decision_id} was valid until ${new Date(validUntil).toISOString()}; this record arrived at ${new Date(now).toISOString()}.`,
      );
    }
    if (d.decision === 'deny' && record.outcome?.status !== 'denied') {
      return flag(
        'decision_denied',
        `Decision ${d.decision_id} denied this action, yet the record says it ran.`,
      );
    }
    const action = record.action && {
      ...record.action,
      class: record.action.class ?? decided.class,
      ...(record.action.risk === undefined && decided.risk !== undefined
        ? { risk: decided.risk }
        : {}),
    };
    return {
      ...draft,
      record: { ...record, ...(action ? { action } : {}), policy: policyRefOf(d) },
    };
  };
}

/** Who really holds the record's credential (or, without one, whom the record names). */
export function realHolderOf(
  record: EventRecord,
  credential: VerifiedCredential | null,
): { initiator: string; actor: string } {
  return {
    initiator: credential?.subject ?? record.initiator?.id ?? 'unknown:initiator',
    actor: credential
      ? (credential.actors[0] ?? credential.subject)
      : (record.actor?.id ?? 'unknown:actor'),
  };
}

/** Until when a decision backs records (one stored before decisions carried it: the default). */
export function validUntilOf(d: Decision): number {
  const stored: Partial<Decision> = d;
  return stored.valid_until ?? d.time + DEFAULT_DECISION_VALIDITY_MS;
}

/**
 * What of the record the decision was not made for. A class or risk the record leaves out is
 * not a difference (the decided one is filled in); one it names must be the decided one, lower
 * or higher. The resource must be named, and be the decided one. A record under no verified
 * credential was not made under the decision's.
 */
function mismatches(
  record: EventRecord,
  d: Decision,
  credential: VerifiedCredential | null,
): string[] {
  const request = d.request;
  const decided = decidedAction(d);
  const action = record.action;
  const problems: string[] = [];
  if (record.actor && request.principal.id !== record.actor.id) problems.push('actor');
  // A record that names no action cannot be the one decided on (nor use up a single-use one).
  if (!action || decided.name !== action.name) problems.push('action');
  // The decision was made on a resource: a record that names none (an OTLP span without
  // `provenant.action.resource`, say) or another one is not the action decided on.
  if (action?.resource !== decided.resource) problems.push('resource');
  const claimedClass = action?.class;
  if (claimedClass && ACTION_CLASS_FLAGS.some((f) => claimedClass[f] !== decided.class[f]))
    problems.push('class');
  if (action?.risk !== undefined && action.risk !== decided.risk) problems.push('risk');
  if (credential === null || credential.jti !== d.credential_jti) problems.push('credential');
  const decidedChain = request.context['chain'];
  if (credential && JSON.stringify(decidedChain) !== JSON.stringify(credential.chain))
    problems.push('credential chain');
  return problems;
}

function flagged(draft: Draft, reason: string): Draft {
  const { attribution } = draft;
  return { ...draft, attribution: { ...attribution, reasons: [...attribution.reasons, reason] } };
}

/** The decision ids the inputs name, fetched before correlating (a cluster member made them). */
export function decisionIdsOf(inputs: readonly unknown[]): string[] {
  const ids: string[] = [];
  for (const input of inputs) {
    const ref = (input as { policy?: { decision_id?: unknown } } | null)?.policy?.decision_id;
    if (typeof ref === 'string' && ref.length <= 200) ids.push(ref);
  }
  return ids;
}
