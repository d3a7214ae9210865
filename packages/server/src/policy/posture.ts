/**
 * The risk state a decision is made under (draft-ietf-wimse-aims-00 §11: "posture assessment or
 * risk state influencing the decision"), from what the collector itself verified: the
 * `security.alert` records it wrote about verified input (attribution `verified`, reasons
 * `collector_alert` / `collector_detection`), about any principal of the decision's chain, in
 * the last `windowMs`. Nothing a caller or a producer sends is read: not the `risk` it claims
 * for an action, not a `posture` in its own records.
 *
 * In memory, per collector: each member of a cluster sees the alerts it wrote itself (the
 * signals of the others are in the ledger, not in this member's posture).
 */
import type { Posture, PostureLevel } from '@provenant/core';
import { WITNESS_REASONS, witnessedAs } from '@provenant/core/vocabulary';
import type { EventRecord } from '@provenant/core';
import type { PreparedEntry } from '@provenant/ledger';
import { COLLECTOR_PRINCIPAL, ISSUER_PRINCIPAL } from '../identity/service.js';
import { PDP_PRINCIPAL } from './service.js';

/** How far back a posture reads (15 minutes). */
export const POSTURE_WINDOW_MS = 15 * 60_000;
/** Most signals kept per principal, and written into one decision. */
const MAX_SIGNALS = 16;
/** Most principals tracked at once (the oldest forgotten first). */
const MAX_PRINCIPALS = 10_000;
/** The collector's own principals: an alert naming one is about the collector's input, not them. */
const OWN_PRINCIPALS: ReadonlySet<string> = new Set([
  COLLECTOR_PRINCIPAL,
  ISSUER_PRINCIPAL,
  PDP_PRINCIPAL,
]);
/** Alert codes that alone make the posture `high`: misuse of a credential or of a decision. */
const HIGH_CODES: ReadonlySet<string> = new Set([
  'attribution_mismatch',
  'decision_reused',
  'decision_mismatch',
  'used_after_revocation',
  'credential_outside_window',
  'id_squatted',
]);

interface Signal {
  readonly code: string;
  /** The principals the alert names, the actor first. */
  readonly about: readonly string[];
  readonly recordId: string;
  readonly atMs: number;
}

export class PostureTracker {
  private readonly byPrincipal = new Map<string, Signal[]>();

  constructor(private readonly windowMs = POSTURE_WINDOW_MS) {}

  /** Takes note of the collector's own verified alerts among entries just stored. */
  observe(entries: readonly PreparedEntry[]): void {
    for (const e of entries) {
      if (e.type !== 'security.alert' || e.level !== 'verified') continue;
      const record = JSON.parse(e.canonical) as EventRecord;
      // prepareOwnRecord stamped the attribution: only the collector's own alerts count.
      if (!witnessedAs(record, WITNESS_REASONS.alert)) continue;
      const code = record.outcome?.error?.code ?? record.action?.name ?? 'alert';
      const atMs = Math.floor(e.timeUs / 1000);
      const about = [...new Set([record.actor?.id, record.initiator?.id])].filter(
        (p): p is string => p !== undefined && !OWN_PRINCIPALS.has(p),
      );
      const signal = { code, about, recordId: record.id, atMs };
      for (const p of about) this.add(p, signal);
    }
  }

  /** The posture of a chain's principals at `nowMs`. */
  assess(principals: readonly string[], nowMs: number): Posture {
    const since = nowMs - this.windowMs;
    const chain = new Set(principals);
    const seen = new Set<string>();
    const signals: Signal[] = [];
    for (const p of chain) {
      for (const s of this.byPrincipal.get(p) ?? []) {
        if (s.atMs < since || s.atMs > nowMs || seen.has(s.recordId)) continue;
        seen.add(s.recordId);
        signals.push(s);
      }
    }
    signals.sort((a, b) => b.atMs - a.atMs);
    const level: PostureLevel =
      signals.length === 0
        ? 'normal'
        : signals.length >= 3 || signals.some((s) => HIGH_CODES.has(s.code))
          ? 'high'
          : 'elevated';
    return {
      level,
      window_sec: Math.floor(this.windowMs / 1000),
      signals: signals.slice(0, MAX_SIGNALS).map((s) => ({
        source: 'collector_alert' as const,
        code: s.code,
        // The most specific principal of the chain it names: the actor, else the initiator.
        subject: s.about.find((p) => chain.has(p))!,
        record_id: s.recordId,
      })),
    };
  }

  private add(principal: string, signal: Signal): void {
    const list = this.byPrincipal.get(principal) ?? [];
    list.push(signal);
    if (list.length > MAX_SIGNALS) list.splice(0, list.length - MAX_SIGNALS);
    // Re-inserted as the newest: the map's order is the forgetting order.
    this.byPrincipal.delete(principal);
    this.byPrincipal.set(principal, list);
    if (this.byPrincipal.size > MAX_PRINCIPALS) {
      this.byPrincipal.delete(this.byPrincipal.keys().next().value!);
    }
  }
}

const trackers = new WeakMap<object, PostureTracker>();

/** The posture tracker of one collector (its context): created on first use. */
export function postureTrackerOf(ctx: object): PostureTracker {
  let tracker = trackers.get(ctx);
  if (!tracker) {
    tracker = new PostureTracker();
    trackers.set(ctx, tracker);
  }
  return tracker;
}
