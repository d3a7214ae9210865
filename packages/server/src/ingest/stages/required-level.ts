import { levelAtLeast, requiredLevelFor } from '@provenant/identity';
import type { MinimumLevelPolicy } from '@provenant/identity';
import { ruleFor } from '@provenant/policy';
import type { AuditRules } from '@provenant/policy';
import { reject } from '../draft.js';
import type { Stage } from '../draft.js';

/**
 * Stage 3: refuses a record below the attribution level its action class needs: the audit rule's
 * `minimumLevel` when it sets one, else the deployment's minimum levels.
 */
export function requireLevel(minimumLevels: MinimumLevelPolicy, auditRules?: AuditRules): Stage {
  return (draft) => {
    const rule = auditRules ? ruleFor(draft.record, auditRules) : undefined;
    const required = rule?.minimumLevel ?? requiredLevelFor(draft.record, minimumLevels);
    const { level } = draft.attribution;
    if (levelAtLeast(level, required)) return draft;
    return reject(
      draft,
      'attribution_required',
      `This action's class needs ${required} attribution; the record is ${level}. Send it with a credential (Authorization: Bearer).`,
    );
  };
}
