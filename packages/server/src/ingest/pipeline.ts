/**
 * The ingest pipeline: every route that takes records (`POST /v1/events`, `POST /v1/traces`)
 * is an adapter that reads its body into candidate records and turns the outcomes into its own
 * wire answer; everything between is here, once.
 *
 *   (access hook: authenticate, role) → admit → read (the adapter) → per record: parse → attribute → required level
 *   → correlate decision → required level (again: the decision may raise the class) → claim a
 *   single-use decision → redact → mark an intent's outcome (coverage counts the action once)
 *   → seal → append (one commit, with the attribution alerts)
 *   → reclaim (a record whose id a weaker one holds is stored beside it, ./reclaim.ts)
 *
 * Each per-record stage is a function from a draft to a new draft or a rejection (./draft.ts);
 * as tessera wraps an `AddFn` in decorators, the stages a collector runs are chosen once per
 * request from what it has (identity, policy) and applied in turn, and a rejection ends the
 * record's way.
 */
import type { AttributionLevel } from '@provenant/core';
import type { Correlation } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { PromiseProof } from '@provenant/ledger';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';
import { attributionAlertEntries, raisedAlerts } from './alerts.js';
import { appendRecords } from './append.js';
import type { Draft, Parsed, Prepared, Rejection, Sealed, Stage } from './draft.js';
import { assertedAttribution, attributeWith } from './stages/attribute.js';
import { correlateDecision, decisionIdsOf } from './stages/correlate.js';
import { parse } from './stages/parse.js';
import { redactArguments } from './stages/redact.js';
import { requireLevel } from './stages/required-level.js';
import { seal } from './stages/seal.js';
import { reclaimSquatted } from './reclaim.js';
import { claimSingleUse } from './stages/single-use.js';
import { markConclusions } from './stages/concludes.js';
import { correlateTxn } from './stages/correlate-txn.js';
import { sourceOf } from './source.js';
import { SLICE_MS, Slices, foreground } from '../lib/slices.js';

export interface IngestRequest<Body> {
  /** The request's verified credential (the access hook checked it), or null when it sent none. */
  readonly credential: VerifiedCredential | null;
  /** Reads the body; runs after the access hook checked the credential and the role. */
  readonly read: () => Body | Promise<Body>;
  /** The candidate records of the body, in order. */
  readonly candidates: (body: Body) => readonly unknown[];
  /** The client's network address: names an anonymous source (never stored as it is). */
  readonly clientAddress?: string;
  /** The candidates carry the call's arguments only as `args_digest` (see stages/redact.ts). */
  readonly argsDigestAsSent?: boolean;
  /** The request's verified Txn-Token as records keep it (`correlation`), or null / absent. */
  readonly correlation?: Correlation | null;
}

/** What became of one candidate record, in the order of `candidates`. */
export type IngestOutcome =
  | {
      readonly status: 'accepted';
      readonly id: string;
      readonly level: AttributionLevel;
      /** Null on a cluster member until the sequencer includes the record (`promise`). */
      readonly leafIndex: number | null;
      /** A cluster's signed promise of inclusion. */
      readonly promise?: string;
      /** With a batch promise (`provenant.promise/v2`): the record's place in it. */
      readonly promiseProof?: PromiseProof;
      /** The id a weaker record held: this record is stored beside it under `id`. */
      readonly reclaimedFrom?: string;
    }
  | {
      readonly status: 'rejected';
      readonly id: string | null;
      readonly code: string;
      readonly message: string;
    }
  | {
      /** The id is stored with other content. */
      readonly status: 'id_conflict';
      readonly id: string;
      readonly leafIndex: number | null;
    };

export function ingest<Body>(
  ctx: CollectorContext,
  request: IngestRequest<Body>,
): Promise<{ body: Body; outcomes: IngestOutcome[] }> {
  // Foreground work: investigation reads give way to it on the event loop (../lib/slices.ts).
  return foreground(() => ingestRequest(ctx, request));
}

async function ingestRequest<Body>(
  ctx: CollectorContext,
  request: IngestRequest<Body>,
): Promise<{ body: Body; outcomes: IngestOutcome[] }> {
  if (ctx.log.queuedEntries > ctx.limits.maxQueuedEntries) {
    throw new RequestError('overloaded', 'The sequencer queue is full; retry in a second.');
  }
  const { credential } = request;
  const body = await request.read();
  const inputs = request.candidates(body);
  if (ctx.policy) await ctx.policy.prefetchDecisions(decisionIdsOf(inputs));

  const prepare = recordStages(
    ctx,
    credential,
    request.argsDigestAsSent ?? false,
    request.correlation ?? null,
  );
  const prepared: Prepared[] = [];
  // A large batch is prepared in slices: between them the event loop answers other requests
  // (a refusal from the transport guards, /healthz), instead of waiting for the whole batch.
  const slices = new Slices(SLICE_MS);
  for (const input of inputs) {
    await slices.turn();
    prepared.push(await prepare(input));
  }

  const source = sourceOf(credential, request.clientAddress, ctx.deploymentKey);
  const alerts = attributionAlertEntries(
    ctx,
    raisedAlerts(prepared, credential),
    credential,
    source,
  );
  const sealed = prepared.filter((p): p is Sealed => p.ok);
  const appended = await appendRecords(ctx, sealed, alerts, source);
  // A weaker record holding an id never keeps this one out (./reclaim.ts).
  const reclaimed = new Map(
    (await reclaimSquatted(ctx, sealed, appended, source)).map((r) => [r.index, r]),
  );
  let next = 0;
  const outcomes = prepared.map((p): IngestOutcome => {
    if (!p.ok) return { status: 'rejected', id: p.id, code: p.code, message: p.message };
    const moved = reclaimed.get(next);
    const o = moved?.outcome ?? appended[next]!;
    next++;
    const id = moved?.item.entry.id ?? p.entry.id;
    if (o.status === 'id_conflict') return { status: 'id_conflict', id, leafIndex: o.leafIndex };
    return {
      status: 'accepted',
      id,
      level: p.level,
      leafIndex: o.leafIndex,
      ...(o.promise === undefined ? {} : { promise: o.promise }),
      ...(o.promiseProof === undefined ? {} : { promiseProof: o.promiseProof }),
      ...(moved ? { reclaimedFrom: moved.squattedId } : {}),
    };
  });
  return { body, outcomes };
}

/** The per-record stages this collector runs for one request. */
export function recordStages(
  ctx: Pick<CollectorContext, 'identity' | 'policy'> & Partial<Pick<CollectorContext, 'storage'>>,
  credential: VerifiedCredential | null,
  argsDigestAsSent: boolean,
  correlation: Correlation | null = null,
): (input: unknown) => Promise<Prepared> {
  const { identity, policy, storage } = ctx;
  // An outcome following its intent is the same action (coverage counts it once).
  const conclusions = storage ? [markConclusions(storage)] : [];
  const correlate = correlateTxn(correlation);
  // Without identity the collector keeps records as sent, asserted (policy needs identity).
  if (!identity) return composeStages(assertedAttribution, [correlate, ...conclusions]);
  const rules = policy?.config.auditRules;
  const required = requireLevel(identity.config.minimumLevels, rules);
  return composeStages(attributeWith(identity.directory, identity.config.skewSec, credential), [
    correlate,
    required,
    ...(policy
      ? [
          correlateDecision(policy, policy.config.auditRules, credential),
          // A record that named no class now carries the decided one, which may need more.
          required,
          claimSingleUse(policy, credential),
          redactArguments(policy.config.auditRules, policy.config.hmacKey, argsDigestAsSent),
        ]
      : []),
    ...conclusions,
  ]);
}

/** parse → `attribute` → each of `stages` → seal, stopping at the first rejection. */
export function composeStages(
  attribute: (parsed: Parsed) => Draft | Rejection,
  stages: readonly Stage[],
): (input: unknown) => Promise<Prepared> {
  return async (input) => {
    const parsed = parse(input);
    if (!parsed.ok) return parsed;
    let draft = attribute(parsed);
    for (const stage of stages) {
      if (!draft.ok) return draft;
      draft = await stage(draft);
    }
    return draft.ok ? seal(draft) : draft;
  };
}
