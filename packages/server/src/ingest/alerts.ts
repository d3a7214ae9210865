import type { VerifiedCredential } from '@provenant/identity';
import type { PreparedEntry } from '@provenant/ledger';
import type { CollectorContext } from '../context.js';
import { alertRecord } from '../identity/attributor.js';
import type { AttributionAlert } from './draft.js';
import { prepareOwnRecord } from './prepare.js';

/**
 * The request's attribution alerts as the collector's own `security.alert` entries naming the
 * real holder of a misused credential, rate-limited (one per credential or holder and window).
 */
export function attributionAlertEntries(
  ctx: CollectorContext,
  alerts: readonly AttributionAlert[],
  credential: VerifiedCredential | null,
): PreparedEntry[] {
  const identity = ctx.identity;
  if (!identity) return [];
  const now = (ctx.clock ?? Date.now)();
  const entries: PreparedEntry[] = [];
  for (const alert of alerts) {
    const key = `${alert.code}:${credential?.jti ?? alert.realHolder.actor}`;
    if (ctx.alerts && !ctx.alerts.allow(key, now)) continue;
    const p = prepareOwnRecord(alertRecord(alert, credential, identity, now), {
      level: 'verified',
      reasons: ['collector_alert'],
    });
    if (p.ok) entries.push(p.entry);
  }
  return entries;
}
