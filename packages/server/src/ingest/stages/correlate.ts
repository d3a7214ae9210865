import { isActionRecord } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import { ruleFor } from '@provenant/policy';
import type { AuditRules, Decision } from '@provenant/policy';
import { policyRefOf } from '../../policy/service.js';
import type { Draft, Stage } from '../draft.js';

/** Where the decision point's recorded decisions are read (the policy service). */
export interface DecisionLookup {
  getDecision(id: string): Decision | null | Promise<Decision | null>;
}

/**
 * Stage 4: checks the policy decision an action record references against what the decision
 * point itself recorded: it must exist, be for this same actor, action and resource, have been
 * made under the same credential chain, and have allowed the action (unless the record says it
 * was denied). The record's `policy` is then rewritten from the recorded decision: an agent
 * cannot claim an engine, policy set or answer it never got. Mismatches are flagged (a reason)
 * and alerted, not refused: the action happened and its record is evidence. A record the audit
 * rule says needs a decision and names none is flagged `decision_missing`.
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
    const realHolder = {
      initiator: credential?.subject ?? record.initiator?.id ?? 'unknown:initiator',
      actor: credential
        ? (credential.actors[0] ?? credential.subject)
        : (record.actor?.id ?? 'unknown:actor'),
    };
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
    const problems = mismatches(record, d, credential);
    if (problems.length > 0) {
      return flag(
        'decision_mismatch',
        `Decision ${d.decision_id} was made for another ${problems.join(', ')} than this record's.`,
      );
    }
    if (d.decision === 'deny' && record.outcome?.status !== 'denied') {
      return flag(
        'decision_denied',
        `Decision ${d.decision_id} denied this action, yet the record says it ran.`,
      );
    }
    return { ...draft, record: { ...record, policy: policyRefOf(d) } };
  };
}

/** What of the record the decision was not made for. */
function mismatches(
  record: EventRecord,
  d: Decision,
  credential: VerifiedCredential | null,
): string[] {
  const request = d.request;
  const problems: string[] = [];
  if (record.actor && request.principal.id !== record.actor.id) problems.push('actor');
  if (record.action && request.action.id !== record.action.name) problems.push('action');
  if (record.action?.resource !== undefined && request.resource.id !== record.action.resource)
    problems.push('resource');
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
