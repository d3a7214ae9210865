import { bearerToken } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';
import { alertRecord } from '../identity/attributor.js';
import { prepareOwnRecord } from './prepare.js';
import type { AttributionAlert } from './prepare.js';

/** The request's verified credential, or null when it sends none. A bad one refuses the request. */
export async function credentialOf(
  ctx: CollectorContext,
  authorization: string | undefined,
): Promise<VerifiedCredential | null> {
  if (authorization === undefined) return null;
  if (!ctx.identity) {
    throw new RequestError('invalid_credential', 'This collector does not accept credentials.');
  }
  const token = bearerToken(authorization);
  if (!token) {
    throw new RequestError('invalid_credential', 'Authorization must be "Bearer <credential>".');
  }
  return ctx.identity.verifier.verify(token);
}

/** Writes rate-limited security alerts naming the real holder of a misused credential. */
export async function writeAlerts(
  ctx: CollectorContext,
  alerts: readonly AttributionAlert[],
  credential: VerifiedCredential | null,
): Promise<void> {
  const now = (ctx.clock ?? Date.now)();
  const entries = [];
  for (const alert of alerts) {
    const key = `${alert.code}:${credential?.jti ?? alert.realHolder.actor}`;
    if (ctx.alerts && !ctx.alerts.allow(key, now)) continue;
    const p = prepareOwnRecord(alertRecord(alert, credential, ctx.identity!, now), {
      level: 'verified',
      reasons: ['collector_alert'],
    });
    if (p.ok) entries.push(p.entry);
  }
  if (entries.length > 0) await ctx.log.append(entries);
}
