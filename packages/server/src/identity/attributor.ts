import { recordedKind, uuidv7 } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { AttributionAlert } from '../ingest/draft.js';
import { COLLECTOR_PRINCIPAL } from './service.js';
import type { IdentityService } from './service.js';

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
