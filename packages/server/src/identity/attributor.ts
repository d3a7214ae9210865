import { recordedKind, uuidv7 } from '@provenant/core';
import type { Attribution, AttributionLevel, EventRecord } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { AttributionAlert } from '../ingest/draft.js';
import { unverifiedInputAlert } from '../ingest/source.js';
import type { IngestSource } from '../ingest/source.js';
import { COLLECTOR_PRINCIPAL } from './service.js';
import type { IdentityService } from './service.js';

export interface AlertBudget {
  readonly windowMs: number;
  /** Alerts one authenticated source (a credential's holder) may cause per window. */
  readonly perAuthenticatedSource: number;
  /** Alerts one anonymous source (a client address) may cause per window. */
  readonly perAnonymousSource: number;
  /** Alerts all anonymous sources together may cause per window (addresses are cheap). */
  readonly anonymousTotal: number;
  /** Most sources tracked per window; past it, new anonymous sources are suppressed. */
  readonly maxSources: number;
}

export const DEFAULT_ALERT_BUDGET: AlertBudget = {
  windowMs: 60_000,
  perAuthenticatedSource: 50,
  perAnonymousSource: 10,
  anonymousTotal: 200,
  maxSources: 10_000,
};

/** The collector's own alerts (no request behind them) spend this source's budget. */
export const COLLECTOR_SOURCE: IngestSource = { id: COLLECTOR_PRINCIPAL, authenticated: true };

/**
 * Bounds the security alerts an attacker can make the collector write, per source (who sent the
 * records, `IngestSource`), so one source cannot silence another: each alert key once per
 * window, each source its own budget, and anonymous sources together a shared cap, which never
 * touches an authenticated source's budget. Alerts over the limit are counted, not written.
 */
export class AlertLimiter {
  private readonly perSource = new Map<string, { count: number; keys: Set<string> }>();
  private windowStart = 0;
  private anonymous = 0;
  suppressed = 0;

  constructor(private readonly budget: AlertBudget = DEFAULT_ALERT_BUDGET) {}

  allow(key: string, now: number, source: IngestSource = COLLECTOR_SOURCE): boolean {
    const b = this.budget;
    if (now - this.windowStart >= b.windowMs) {
      this.windowStart = now;
      this.anonymous = 0;
      this.perSource.clear();
    }
    let spent = this.perSource.get(source.id);
    if (!spent) {
      if (!source.authenticated && this.perSource.size >= b.maxSources) return this.suppress();
      spent = { count: 0, keys: new Set() };
      this.perSource.set(source.id, spent);
    }
    const limit = source.authenticated ? b.perAuthenticatedSource : b.perAnonymousSource;
    if (spent.keys.has(key) || spent.count >= limit) return this.suppress();
    if (!source.authenticated && this.anonymous >= b.anonymousTotal) return this.suppress();
    spent.keys.add(key);
    spent.count++;
    if (!source.authenticated) this.anonymous++;
    return true;
  }

  private suppress(): false {
    this.suppressed++;
    return false;
  }
}

/**
 * The collector's own record of a security event at ingest. About verified input (a credential
 * proves who sent it), it names who really acted and is `verified`; about input below that, it
 * names the input's source and is attributed at the input's level (see unverifiedInputAlert).
 */
export function alertRecord(
  alert: AttributionAlert,
  credential: VerifiedCredential | null,
  level: AttributionLevel,
  source: IngestSource,
  identity: IdentityService,
  now: number,
): { record: EventRecord; attribution: Attribution } {
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
  if (level !== 'verified') {
    const u = unverifiedInputAlert(claimed, level, source, kindOf, 'collector_alert');
    Object.assign(args, u.args, { detail: (u.detailPrefix + alert.message).slice(0, 500) });
    if (u.actor) record.actor = u.actor;
    return { record, attribution: u.attribution };
  }
  record.initiator = { id: alert.realHolder.initiator, kind: kindOf(alert.realHolder.initiator) };
  record.actor = { id: alert.realHolder.actor, kind: kindOf(alert.realHolder.actor) };
  return { record, attribution: { level: 'verified', reasons: ['collector_alert'] } };
}
