import { recordedKind } from '@provenant/core';
import type { AppendOutcome, PreparedEntry } from '@provenant/ledger';
import type { CollectorContext } from '../context.js';
import { detectionAlert } from '../investigate/detections.js';
import { COLLECTOR_SOURCE } from '../identity/attributor.js';
import { COLLECTOR_PRINCIPAL } from '../identity/service.js';
import type { Sealed } from './draft.js';
import { prepareOwnRecord } from './prepare.js';
import type { IngestSource } from './source.js';
import { postureTrackerOf } from '../policy/posture.js';

/**
 * The one way records enter the log (the last ingest stage): appends `items` durably, in one
 * commit with `alongside` (the request's attribution alerts, whose outcomes are not returned),
 * then runs the detections over the items newly stored and appends the resulting
 * `security.alert` records, within the alert budget of `source` (who sent the items; the
 * collector for its own records). Re-sent duplicates are not inspected twice.
 */
export async function appendRecords(
  ctx: CollectorContext,
  items: readonly Sealed[],
  alongside: readonly PreparedEntry[] = [],
  source: IngestSource = COLLECTOR_SOURCE,
): Promise<AppendOutcome[]> {
  if (items.length === 0 && alongside.length === 0) return [];
  // One `append` call is one commit (group commit batches whole calls, never splits one).
  const entries = [...alongside, ...items.map((p) => p.entry)];
  const all = await ctx.log.append(entries);
  observeAlerts(ctx, entries, all);
  const outcomes = all.slice(alongside.length);
  await appendDetections(ctx, items, outcomes, source);
  return outcomes;
}

/**
 * A second commit, not the records' own: the detections inspect only what that commit stored as
 * new (not a re-sent duplicate, not an `id_conflict`), which only the commit decides — the
 * sequencer in its critical section, or the cluster's enqueue transaction. Running detectors
 * inside those would hold every concurrent request's commit behind them. If the process dies
 * between the two commits, the records are durable but unacknowledged, and their re-send is a
 * duplicate: those detection alerts are not written.
 */
async function appendDetections(
  ctx: CollectorContext,
  items: readonly Sealed[],
  outcomes: readonly AppendOutcome[],
  source: IngestSource,
): Promise<void> {
  const detector = ctx.detector;
  if (!detector) return;
  const now = (ctx.clock ?? Date.now)();
  const kindOf = (id: string) => recordedKind(id, ctx.identity?.directory.get(id)?.kind);
  const alerts = [];
  for (let i = 0; i < items.length; i++) {
    const o = outcomes[i]!;
    if (o.status !== 'accepted' || o.duplicate) continue;
    const { record, level } = items[i]!;
    const unverified = level === 'verified' ? undefined : source.id;
    for (const d of detector.inspect(record, now, unverified)) {
      const key = `${d.code}:${d.record.actor?.id ?? d.record.initiator?.id ?? ''}`;
      if (ctx.alerts && !ctx.alerts.allow(key, now, source)) continue;
      const own = detectionAlert(d, now, COLLECTOR_PRINCIPAL, { level, source, kindOf });
      const p = prepareOwnRecord(own.record, own.attribution);
      if (p.ok) alerts.push(p.entry);
    }
  }
  if (alerts.length > 0) observeAlerts(ctx, alerts, await ctx.log.append(alerts));
}

/** The alerts that were stored as new feed the posture decisions are made under. */
export function observeAlerts(
  ctx: CollectorContext,
  entries: readonly PreparedEntry[],
  outcomes: readonly AppendOutcome[],
): void {
  const stored = entries.filter((e, i) => {
    const o = outcomes[i];
    return e.type === 'security.alert' && o?.status === 'accepted' && !o.duplicate;
  });
  if (stored.length > 0) postureTrackerOf(ctx).observe(stored);
}
