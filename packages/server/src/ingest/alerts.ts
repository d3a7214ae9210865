import type { AttributionLevel } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { PreparedEntry } from '@provenant/ledger';
import type { CollectorContext } from '../context.js';
import { alertRecord } from '../identity/attributor.js';
import type { AttributionAlert, Prepared } from './draft.js';
import { prepareOwnRecord } from './prepare.js';
import type { IngestSource } from './source.js';

/** A security event raised at ingest, with the attribution level of the input that raised it. */
export interface RaisedAlert {
  readonly alert: AttributionAlert;
  readonly level: AttributionLevel;
}

/**
 * The alerts the prepared records raised. A refused record has no level of its own: with a
 * credential the credential is what was verified; without one, only its claims.
 */
export function raisedAlerts(
  prepared: readonly Prepared[],
  credential: VerifiedCredential | null,
): RaisedAlert[] {
  const out: RaisedAlert[] = [];
  for (const p of prepared) {
    if (!p.alert) continue;
    const claimed = p.alert.record;
    const level: AttributionLevel = p.ok
      ? p.level
      : credential
        ? 'verified'
        : claimed.initiator && claimed.actor
          ? 'asserted'
          : 'unattributed';
    out.push({ alert: p.alert, level });
  }
  return out;
}

/**
 * The request's attribution alerts as the collector's own `security.alert` entries (naming the
 * real holder of a misused credential, or the source of unverified input), within the source's
 * alert budget (one per credential or holder and window).
 */
export function attributionAlertEntries(
  ctx: CollectorContext,
  alerts: readonly RaisedAlert[],
  credential: VerifiedCredential | null,
  source: IngestSource,
): PreparedEntry[] {
  const identity = ctx.identity;
  if (!identity) return [];
  const now = (ctx.clock ?? Date.now)();
  const entries: PreparedEntry[] = [];
  for (const { alert, level } of alerts) {
    const key = `${alert.code}:${credential?.jti ?? alert.realHolder.actor}`;
    if (ctx.alerts && !ctx.alerts.allow(key, now, source)) continue;
    const own = alertRecord(alert, credential, level, source, identity, now);
    const p = prepareOwnRecord(own.record, own.attribution);
    if (p.ok) entries.push(p.entry);
  }
  return entries;
}
