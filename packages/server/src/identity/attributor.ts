import { recordedKind, uuidv7 } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { attribute, levelAtLeast, requiredLevelFor } from '@provenant/identity';
import type { VerifiedCredential } from '@provenant/identity';
import { applyAuditRule, ruleFor } from '@provenant/policy';
import type { AuditRule } from '@provenant/policy';
import type { AttributionAlert, Attributor } from '../ingest/prepare.js';
import { checkDecisionReference } from '../policy/correlate.js';
import type { PolicyService } from '../policy/service.js';
import { COLLECTOR_PRINCIPAL } from './service.js';
import type { IdentityService } from './service.js';

/**
 * The ingest attributor: compares each record with the request's verified credential, fills
 * `credential` (and `delegation`, initiator, actor when absent) from the credential itself,
 * checks the policy decision it references, enforces the minimum attribution level of its
 * action class, and applies the audit rule that decides which arguments are kept.
 */
export function credentialAttributor(
  identity: IdentityService,
  credential: VerifiedCredential | null,
  policy?: PolicyService,
  options: { argsDigestAsSent?: boolean } = {},
): Attributor {
  const { directory, config } = identity;
  return (record) => {
    const result = attribute(record, credential, directory, { skewSec: config.skewSec });
    if (!result.ok) {
      return {
        ok: false,
        code: 'attribution_mismatch',
        message: result.message,
        alert: {
          code: 'attribution_mismatch',
          message: result.message,
          record,
          realHolder: result.realHolder,
        },
      };
    }
    if (credential) {
      const { claims } = credential;
      record.credential = { jti: claims.jti, iss: claims.iss, iat: claims.iat, exp: claims.exp };
      if (!record.delegation && result.delegation) record.delegation = result.delegation;
      if (!record.initiator && result.initiator) record.initiator = result.initiator;
      if (!record.actor && result.actor) record.actor = result.actor;
    }
    const rule = policy ? ruleFor(record, policy.config.auditRules) : undefined;
    const required = rule?.minimumLevel ?? requiredLevelFor(record, config.minimumLevels);
    if (!levelAtLeast(result.level, required)) {
      return {
        ok: false,
        code: 'attribution_required',
        message: `This action's class needs ${required} attribution; the record is ${result.level}. Send it with a credential (Authorization: Bearer).`,
      };
    }
    const reasons = [...result.reasons];
    let alert: AttributionAlert | undefined;
    if (policy) {
      const check = checkDecisionReference(
        record,
        credential,
        policy,
        rule?.requireDecision ?? false,
      );
      reasons.push(...check.reasons);
      if (check.alert) alert = check.alert;
    }
    const kept = policy && rule ? applyAuditRule(record, rule, policy.config.hmacKey) : record;
    const stored =
      options.argsDigestAsSent && rule && kept !== record
        ? withArgsDigestAsSent(kept, rule, record.action?.args_digest)
        : kept;
    return {
      ok: true,
      attribution: { level: result.level, reasons },
      ...(stored === record ? {} : { record: stored }),
      ...(alert ? { alert } : {}),
    };
  };
}

/**
 * An OTLP span's `action.args` hold span attributes, not the call's arguments, which arrive only
 * as the digest the mapping computed: the audit rule's digest of `args` must not replace it.
 */
function withArgsDigestAsSent(
  kept: EventRecord,
  rule: AuditRule,
  sent: string | undefined,
): EventRecord {
  const { args_digest: _recomputed, ...action } = kept.action!;
  return {
    ...kept,
    action:
      rule.level === 'metadata' || sent === undefined ? action : { ...action, args_digest: sent },
  };
}

/**
 * Bounds the security alerts an attacker can make the collector write: one per credential and
 * window, and a global cap per window. Alerts over the limit are counted, not written.
 */
export class AlertLimiter {
  private readonly perKey = new Map<string, number>();
  private windowStart = 0;
  private inWindow = 0;
  suppressed = 0;

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxPerWindow = 100,
  ) {}

  allow(key: string, now: number): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.inWindow = 0;
      this.perKey.clear();
    }
    if (this.perKey.has(key) || this.inWindow >= this.maxPerWindow) {
      this.suppressed++;
      return false;
    }
    this.perKey.set(key, now);
    this.inWindow++;
    return true;
  }
}

/** The collector's own record of a security event at ingest, naming who really acted. */
export function alertRecord(
  alert: AttributionAlert,
  credential: VerifiedCredential | null,
  identity: IdentityService,
  now: number,
): EventRecord {
  const kindOf = (id: string) => recordedKind(id, identity.directory.get(id)?.kind);
  const claimed = alert.record;
  const args: Record<string, string> = {
    rejected_record_id: claimed.id,
    record_type: claimed.type,
    detail: alert.message.slice(0, 500),
  };
  if (claimed.initiator) args['claimed_initiator'] = claimed.initiator.id;
  if (claimed.actor) args['claimed_actor'] = claimed.actor.id;
  if (claimed.policy) args['claimed_decision_id'] = claimed.policy.decision_id;
  const record: EventRecord = {
    schema: 'provenant.event/v1',
    id: uuidv7(now),
    time: new Date(now).toISOString(),
    type: 'security.alert',
    initiator: { id: alert.realHolder.initiator, kind: kindOf(alert.realHolder.initiator) },
    actor: { id: alert.realHolder.actor, kind: kindOf(alert.realHolder.actor) },
    action: { name: `ingest.${alert.code}`, resource: `record:${claimed.id}`, risk: 'high', args },
    outcome: {
      status: alert.code === 'attribution_mismatch' ? 'denied' : 'success',
      error: { code: alert.code, message: alert.message.slice(0, 500) },
    },
    source: { producer: COLLECTOR_PRINCIPAL },
  };
  if (credential) {
    const { claims } = credential;
    record.credential = { jti: claims.jti, iss: claims.iss, iat: claims.iat, exp: claims.exp };
  }
  return record;
}
