/**
 * Id squatting. A record's id is the client's choice (`POST /v1/events`) or a public function of
 * its trace and span ids (`POST /v1/traces`, `otlpRecordId`), and the log keeps the first record
 * of an id: anyone who knows an id before its record arrives could post a weaker record under it
 * and keep the real one out. So that a lower attribution level never keeps a higher one out, a
 * record refused as `id_conflict` whose id is held by a record of a weaker level is stored beside
 * it, under its reclaimed id (`reclaimedId`: unguessable without the deployment key, the same for
 * the same id and sender, so a retry is a duplicate), with the attribution reason `id_reclaimed`;
 * an `ingest.id_squatted` alert about the squat names both. A verified record is also stored
 * beside a verified one of another actor (another credential's holder wrote its id first);
 * otherwise an equal or stronger holder keeps the plain `id_conflict`.
 */
import { createHmac } from 'node:crypto';
import { ATTRIBUTION_LEVELS, recordedKind, uuidv7 } from '@provenant/core';
import type { Attribution, AttributionLevel, EventRecord } from '@provenant/core';
import { hasIngestQueue } from '@provenant/ledger';
import type { AppendOutcome } from '@provenant/ledger';
import type { CollectorContext } from '../context.js';
import { COLLECTOR_PRINCIPAL } from '../identity/service.js';
import { appendRecords, observeAlerts } from './append.js';
import type { Sealed } from './draft.js';
import { prepareOwnRecord } from './prepare.js';
import { keyOf } from './source.js';
import type { IngestSource } from './source.js';
import { seal } from './stages/seal.js';

/** The attribution reason of a record stored under its reclaimed id. */
export const RECLAIMED_REASON = 'id_reclaimed';

/**
 * A UUIDv8 (RFC 9562 §5.8) from HMAC-SHA256 under the deployment key of the squatted id and the
 * sender (the credential's holder, or the anonymous source).
 */
export function reclaimedId(key: Uint8Array, id: string, sender: string): string {
  const b = createHmac('sha256', key)
    .update(`provenant.reclaimed/v1:${id}:${sender}`)
    .digest()
    .subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const rank = (level: string) => ATTRIBUTION_LEVELS.indexOf(level as AttributionLevel);

/** One item whose id was squatted, as stored beside the squat. */
export interface Reclaimed {
  readonly index: number;
  readonly item: Sealed;
  readonly outcome: AppendOutcome;
  readonly squattedId: string;
}

/**
 * Stores beside its squat each of `items` refused as `id_conflict` (`outcomes`, in order) whose
 * id a weaker record holds; returns what became of those.
 */
export async function reclaimSquatted(
  ctx: CollectorContext,
  items: readonly Sealed[],
  outcomes: readonly AppendOutcome[],
  source: IngestSource,
): Promise<Reclaimed[]> {
  const found: { index: number; item: Sealed; squat: Holder }[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (outcomes[i]!.status !== 'id_conflict' || item.level === 'unattributed') continue;
    const holder = await holderOf(ctx, item.entry.id);
    if (holder && squats(holder, item)) {
      const moved = beside(item, reclaimedId(keyOf(ctx.deploymentKey), item.entry.id, source.id));
      if (moved) found.push({ index: i, item: moved, squat: holder });
    }
  }
  if (found.length === 0) return [];
  const stored = await appendRecords(
    ctx,
    found.map((f) => f.item),
    [],
    source,
  );
  const now = (ctx.clock ?? Date.now)();
  const alerts = [];
  for (let k = 0; k < found.length; k++) {
    const o = stored[k]!;
    if (o.status !== 'accepted' || o.duplicate) continue;
    const { item, squat } = found[k]!;
    if (ctx.alerts && !ctx.alerts.allow(`id_squatted:${squat.id}`, now, source)) continue;
    const own = squatAlert(squat, item.record, now);
    const p = prepareOwnRecord(own.record, own.attribution);
    if (p.ok) alerts.push(p.entry);
  }
  if (alerts.length > 0) observeAlerts(ctx, alerts, await ctx.log.append(alerts));
  return found.map((f, k) => ({
    index: f.index,
    item: f.item,
    outcome: stored[k]!,
    squattedId: f.squat.id,
  }));
}

/** What of the record holding an id is compared (index fields of a stored or queued entry). */
interface Holder {
  readonly id: string;
  readonly level: string;
  readonly actor: string | null;
}

/**
 * Whether `holder` keeps `item` out unfairly: it is of a weaker level, or both are verified and
 * another principal (a verified actor is its credential's holder) wrote it first.
 */
function squats(holder: Holder, item: Sealed): boolean {
  if (rank(holder.level) > rank(item.level)) return true;
  return (
    item.level === 'verified' && holder.level === 'verified' && holder.actor !== item.entry.actor
  );
}

/** What holds `id`: a stored entry, or one queued for the sequencer in a cluster. */
async function holderOf(ctx: CollectorContext, id: string): Promise<Holder | null> {
  const stored = await ctx.storage.getEntryById(id);
  if (stored) return stored;
  return hasIngestQueue(ctx.storage) ? ctx.storage.getQueued(id) : null;
}

/** `item` sealed again under `id`, with the reason that says so (null if it no longer seals). */
function beside(item: Sealed, id: string): Sealed | null {
  const { attribution, ...record } = item.record;
  const a: Attribution = attribution ?? { level: item.level, reasons: [] };
  const sealed = seal({
    ok: true,
    record: { ...record, id },
    attribution: { level: a.level, reasons: [...a.reasons, RECLAIMED_REASON] },
  });
  return sealed.ok ? sealed : null;
}

/**
 * The alert flagging a squat. About input below `verified` it is attributed at the squat's level
 * and names no principal (its source is not known any more); a verified squat names its actor.
 */
function squatAlert(
  squat: Holder,
  reclaimed: EventRecord,
  now: number,
): { record: EventRecord; attribution: Attribution } {
  const message = `Record ${squat.id} (${squat.level}) holds the id of a ${reclaimed.attribution?.level ?? 'stronger'} record, stored beside it as ${reclaimed.id}.`;
  return {
    record: {
      schema: 'provenant.event/v1',
      id: uuidv7(now),
      time: new Date(now).toISOString(),
      type: 'security.alert',
      action: {
        name: 'ingest.id_squatted',
        resource: `record:${squat.id}`,
        risk: 'high',
        args: {
          squat_level: squat.level,
          reclaimed_record_id: reclaimed.id,
          record_type: reclaimed.type,
          detail: message,
        },
      },
      outcome: { status: 'success', error: { code: 'id_squatted', message } },
      source: { producer: COLLECTOR_PRINCIPAL },
      ...(squat.level === 'verified' && squat.actor !== null
        ? { actor: { id: squat.actor, kind: recordedKind(squat.actor, undefined) } }
        : {}),
    },
    attribution:
      squat.level === 'verified'
        ? { level: 'verified', reasons: ['collector_alert'] }
        : {
            level: squat.level as AttributionLevel,
            reasons: ['collector_alert', 'unverified_input'],
          },
  };
}
