import { keyDigest } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { applyAuditRule, ruleFor } from '@provenant/policy';
import type { AuditRule, AuditRules } from '@provenant/policy';
import type { Stage } from '../draft.js';

/**
 * Stage 5: keeps of `action.args` what the record's audit rule says (metadata, digest, redact,
 * full), with `args_digest` the digest of the arguments — keyed under the deployment key, as is
 * `result_digest`, whenever the rule is not `full` (policy `applyAuditRule`).
 *
 * `argsDigestAsSent`: the inputs carry the call's arguments only as `args_digest` (an OTLP
 * span's `gen_ai.tool.call.arguments`); their `action.args` hold span attributes, so a digest of
 * `args` must not replace the one sent.
 */
export function redactArguments(
  auditRules: AuditRules,
  hmacKey: Uint8Array,
  argsDigestAsSent: boolean,
): Stage {
  return (draft) => {
    const rule = ruleFor(draft.record, auditRules);
    const kept = applyAuditRule(draft.record, rule, hmacKey);
    if (kept === draft.record) return draft;
    const sent = draft.record.action?.args_digest;
    return {
      ...draft,
      record: argsDigestAsSent ? withArgsDigest(kept, rule, sent, hmacKey) : kept,
    };
  };
}

/** The sent digest in place of the one of `args`: as sent under `full`, else keyed. */
function withArgsDigest(
  kept: EventRecord,
  rule: AuditRule,
  sent: string | undefined,
  hmacKey: Uint8Array,
): EventRecord {
  const { args_digest: _ofArgs, ...action } = kept.action!;
  if (rule.level === 'metadata' || sent === undefined) return { ...kept, action };
  const digest = rule.level === 'full' ? sent : keyDigest(hmacKey, sent);
  return { ...kept, action: { ...action, args_digest: digest } };
}
