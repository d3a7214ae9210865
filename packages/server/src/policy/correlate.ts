import { isActionRecord, type EventRecord } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { AttributionAlert } from '../ingest/prepare.js';
import { policyRefOf } from './service.js';
import type { PolicyService } from './service.js';

export interface DecisionCheck {
  /** Attribution reasons to add, e.g. `decision_missing`, `decision_actor_mismatch`. */
  readonly reasons: string[];
  readonly alert?: AttributionAlert;
}

/**
 * Checks the policy decision an action record references against what the decision point
 * itself recorded: it must exist, be for this same actor, action and resource, have been made
 * under the same credential chain, and have allowed the action (unless the record says it was
 * denied). The record's `policy` is then rewritten from the recorded decision: an agent cannot
 * claim an engine, policy set or answer it never got. Mismatches are flagged and alerted, not
 * refused: the action happened and its record is evidence.
 */
export function checkDecisionReference(
  record: EventRecord,
  credential: VerifiedCredential | null,
  policy: PolicyService,
  requireDecision: boolean,
): DecisionCheck {
  const ref = record.policy;
  if (!ref) {
    return { reasons: requireDecision && isActionRecord(record) ? ['decision_missing'] : [] };
  }
  const holder = {
    initiator: credential?.subject ?? record.initiator?.id ?? 'unknown:initiator',
    actor: credential
      ? (credential.actors[0] ?? credential.subject)
      : (record.actor?.id ?? 'unknown:actor'),
  };
  const flag = (code: string, message: string): DecisionCheck => {
    delete record.policy; // never keep a claimed decision the decision point cannot vouch for
    return { reasons: [code], alert: { code, message, record, realHolder: holder } };
  };
  const d = policy.getDecision(ref.decision_id);
  if (!d)
    return flag(
      'decision_not_found',
      `Decision ${ref.decision_id} was never made by this decision point.`,
    );
  const request = d.request;
  const problems: string[] = [];
  if (record.actor && request.principal.id !== record.actor.id) problems.push('actor');
  if (record.action && request.action.id !== record.action.name) problems.push('action');
  if (record.action?.resource !== undefined && request.resource.id !== record.action.resource)
    problems.push('resource');
  const decidedChain = request.context['chain'];
  if (credential && JSON.stringify(decidedChain) !== JSON.stringify(credential.chain))
    problems.push('credential chain');
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
  record.policy = policyRefOf(d);
  return { reasons: [] };
}
