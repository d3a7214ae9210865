import type { VerifiedCredential } from '@provenant/identity';
import { decidedAction } from '@provenant/policy';
import type { Decision } from '@provenant/policy';
import type { DecisionUse } from '../../policy/store.js';
import { reject, type Stage } from '../draft.js';
import { realHolderOf, type DecisionLookup } from './correlate.js';

/** Where single-use decisions are claimed: the policy store, shared by a cluster. */
export interface DecisionUses extends DecisionLookup {
  claimDecisionUse(use: DecisionUse): Promise<boolean>;
}

/**
 * Stage 5 (after `correlateDecision`, so the record's `policy` is one the decision point
 * vouched for): a decision for a privileged or irreversible action backs one action only. The
 * first record citing it claims it in the policy store (atomic, durable, shared by every member
 * of a cluster); after a pending intent, the one outcome that follows it (`cause.record_id`)
 * may cite it too, and a record re-sent with its own id passes again. Any other record citing it
 * is refused `decision_reused`, with an alert: one allow cannot back a second deletion.
 */
export function claimSingleUse(
  decisions: DecisionUses,
  credential: VerifiedCredential | null,
): Stage {
  return async (draft) => {
    const { record } = draft;
    const ref = record.policy;
    if (!ref) return draft;
    const d = await decisions.getDecision(ref.decision_id);
    if (!d || !isSingleUse(d)) return draft;
    const claimed = await decisions.claimDecisionUse({
      decisionId: d.decision_id,
      recordId: record.id,
      pending: record.outcome?.status === 'pending',
      follows: record.cause?.record_id ?? null,
    });
    if (claimed) return draft;
    const code = 'decision_reused';
    const message = `Decision ${d.decision_id} is single-use and already backs another action's records.`;
    const alert = { code, message, record, realHolder: realHolderOf(record, credential) };
    return reject({ ...draft, alert }, code, message);
  };
}

/** Privileged or irreversible as decided (a decision stored before `single_use`: by its class). */
export function isSingleUse(d: Decision): boolean {
  const stored: Partial<Decision> = d;
  if (stored.single_use !== undefined) return stored.single_use;
  const { privileged, irreversible } = decidedAction(d).class;
  return privileged || irreversible;
}
