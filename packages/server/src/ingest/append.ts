import type { AppendOutcome } from '@provenant/ledger';
import type { CollectorContext } from '../context.js';
import { detectionAlert } from '../investigate/detections.js';
import { COLLECTOR_PRINCIPAL } from '../identity/service.js';
import { prepareOwnRecord } from './prepare.js';
import type { Prepared } from './prepare.js';

type PreparedOk = Extract<Prepared, { ok: true }>;

/**
 * The one way records enter the log: appends them (durably), then runs the detections over
 * those newly stored and appends the resulting `security.alert` records, rate-limited.
 * Re-sent duplicates are not inspected twice.
 */
export async function appendRecords(
  ctx: CollectorContext,
  items: readonly PreparedOk[],
): Promise<AppendOutcome[]> {
  if (items.length === 0) return [];
  const outcomes = await ctx.log.append(items.map((p) => p.entry));
  const detector = ctx.detector;
  if (!detector) return outcomes;
  const now = (ctx.clock ?? Date.now)();
  const alerts = [];
  for (let i = 0; i < items.length; i++) {
    const o = outcomes[i]!;
    if (o.status !== 'accepted' || o.duplicate) continue;
    for (const d of detector.inspect(items[i]!.record, now)) {
      const key = `${d.code}:${d.record.actor?.id ?? d.record.initiator?.id ?? ''}`;
      if (ctx.alerts && !ctx.alerts.allow(key, now)) continue;
      const p = prepareOwnRecord(detectionAlert(d, now, COLLECTOR_PRINCIPAL), {
        level: 'verified',
        reasons: ['collector_detection'],
      });
      if (p.ok) alerts.push(p.entry);
    }
  }
  if (alerts.length > 0) await ctx.log.append(alerts);
  return outcomes;
}
