import { randomBytes } from 'node:crypto';
import { uuidv7 } from '@provenant/core';
import type { Attribution, AttributionLevel, EventRecord, PrincipalKind } from '@provenant/core';
import { unverifiedInputAlert } from '../ingest/source.js';
import type { IngestSource } from '../ingest/source.js';

/**
 * Detections over records as they arrive: a stateful but pure detector (records and the clock
 * in, detections out; no I/O) and the `security.alert` record a detection becomes. Memory is
 * bounded: each windowed detector keeps, per key, the distinct values seen within its window,
 * and at most `maxKeys` keys (the oldest dropped first).
 *
 * Ingest (`ingest/append.ts`) calls `inspect` on each record a commit stored as new and appends
 * `detectionAlert(...)` for each detection, within the source's alert budget (AlertLimiter).
 *
 * Input below `verified` never feeds a verified principal's windows: its window keys are its
 * source's (who sent it), so anonymous records claiming an agent cannot push that agent over a
 * threshold, and its alerts name the source, attributed at the input's level.
 */

export type DetectionCode =
  | 'scope_exceeded'
  | 'credential_outside_window'
  | 'used_after_revocation'
  | 'chain_too_deep'
  | 'privileged_without_decision'
  | 'pooled_account_fanout'
  | 'instance_many_initiators'
  | 'denial_burst';

export interface WindowRule {
  /** More than this many distinct values (or events) in the window raises an alert. */
  readonly max: number;
  readonly windowMs: number;
}

export interface DetectionConfig {
  /** Action name patterns (`*` wildcard) and the scope the acting credential must carry. */
  readonly requiredScopes: readonly { action: string; scope: string }[];
  /** Delegation hops allowed before an alert. */
  readonly maxChainDepth: number;
  readonly skewSec: number;
  /** Distinct claimed instances acting through one pooled account. */
  readonly pooledInstances: WindowRule;
  /** Distinct initiators one agent instance acts for. */
  readonly initiatorsPerInstance: WindowRule;
  /** Denied actions or deny decisions of one actor. */
  readonly denials: WindowRule;
  /** Most keys each windowed detector tracks. */
  readonly maxKeys: number;
}

export const DEFAULT_DETECTION_CONFIG: DetectionConfig = {
  requiredScopes: [],
  maxChainDepth: 3,
  skewSec: 30,
  pooledInstances: { max: 5, windowMs: 10 * 60_000 },
  initiatorsPerInstance: { max: 3, windowMs: 10 * 60_000 },
  denials: { max: 5, windowMs: 60_000 },
  maxKeys: 10_000,
};

export interface Detection {
  readonly code: DetectionCode;
  readonly message: string;
  /** The record that triggered it. */
  readonly record: EventRecord;
}

/** Distinct values per key within a sliding window, with bounded keys. */
class WindowedDistinct {
  private readonly keys = new Map<string, Map<string, number>>();
  private readonly alerted = new Map<string, number>();
  constructor(
    private readonly rule: WindowRule,
    private readonly maxKeys: number,
  ) {}

  /** Adds a value; returns the distinct count when it first exceeds the rule in a window. */
  add(key: string, value: string, now: number): number | null {
    let seen = this.keys.get(key);
    if (!seen) {
      if (this.keys.size >= this.maxKeys) {
        const oldest = this.keys.keys().next().value!;
        this.keys.delete(oldest);
        this.alerted.delete(oldest);
      }
      seen = new Map();
      this.keys.set(key, seen);
    }
    for (const [v, at] of seen) if (now - at > this.rule.windowMs) seen.delete(v);
    seen.delete(value);
    seen.set(value, now);
    if (seen.size <= this.rule.max) return null;
    const last = this.alerted.get(key);
    if (last !== undefined && now - last <= this.rule.windowMs) return null; // once per window
    this.alerted.set(key, now);
    return seen.size;
  }
}

const ACTION_TYPES = new Set(['tool.called', 'action.performed']);
const matches = (pattern: string, name: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(name);

export class Detector {
  private readonly pooled: WindowedDistinct;
  private readonly initiators: WindowedDistinct;
  private readonly denials: WindowedDistinct;
  /** Revoked jti → revocation time (ms), kept until the credential would have expired. */
  private readonly revoked = new Map<string, { at: number; exp: number }>();
  private denialSeq = 0;
  /** Denied action records seen per (party, decision id): see `denialOf`. */
  private readonly deniedUses = new Map<string, number>();

  constructor(private readonly config: DetectionConfig = DEFAULT_DETECTION_CONFIG) {
    this.pooled = new WindowedDistinct(config.pooledInstances, config.maxKeys);
    this.initiators = new WindowedDistinct(config.initiatorsPerInstance, config.maxKeys);
    this.denials = new WindowedDistinct(config.denials, config.maxKeys);
  }

  /**
   * Looks at one record as it is appended; `now` is the collector's clock (ms). `unverifiedSource`
   * names who sent a record below `verified`: its windows are kept apart under that source.
   */
  inspect(r: EventRecord, now: number, unverifiedSource?: string): Detection[] {
    const out: Detection[] = [];
    // A claim only ever counts together with the same source's claims.
    const keyOf = (party: string) =>
      unverifiedSource === undefined ? party : `${unverifiedSource}\u0000${party}`;
    const hit = (code: DetectionCode, message: string) => out.push({ code, message, record: r });
    const at = Date.parse(r.time);
    if (r.type === 'security.alert') return out;
    if (r.type === 'credential.revoked' && r.credential) {
      for (const [jti, v] of this.revoked) if (v.exp * 1000 < now) this.revoked.delete(jti);
      if (this.revoked.size < this.config.maxKeys) {
        this.revoked.set(r.credential.jti, { at, exp: r.credential.exp });
      }
      return out;
    }
    const actor = r.actor?.id;
    const denied =
      r.outcome?.status === 'denied' ||
      (r.type === 'policy.decision' && r.policy?.decision === 'deny');
    if (denied) {
      // A decision names the decision point as its actor; the denied party is its chain's end.
      const party =
        r.type === 'policy.decision' ? (r.delegation?.at(-1)?.to ?? r.initiator?.id) : actor;
      if (party !== undefined) {
        const n = this.denials.add(keyOf(party), this.denialOf(r, keyOf(party)), now);
        if (n !== null)
          hit(
            'denial_burst',
            `${party} was denied ${n} times within ${this.config.denials.windowMs / 1000}s.`,
          );
      }
    }
    if (!ACTION_TYPES.has(r.type) && !(r.action && r.type !== 'policy.decision')) return out;

    const cred = r.credential;
    if (
      cred &&
      (at / 1000 < cred.iat - this.config.skewSec || at / 1000 > cred.exp + this.config.skewSec)
    ) {
      hit(
        'credential_outside_window',
        `The action at ${r.time} falls outside its credential ${cred.jti}'s window.`,
      );
    }
    const jtis = [cred?.jti, ...(r.delegation ?? []).map((h) => h.jti)].filter(
      (j): j is string => j !== undefined,
    );
    const revokedJti = jtis.find((j) => {
      const v = this.revoked.get(j);
      return v !== undefined && v.at <= at;
    });
    if (revokedJti)
      hit('used_after_revocation', `Credential ${revokedJti} was revoked before ${r.time}.`);
    const hops = r.delegation?.length ?? 0;
    if (hops > this.config.maxChainDepth) {
      hit(
        'chain_too_deep',
        `${hops} delegation hops; at most ${this.config.maxChainDepth} are allowed.`,
      );
    }
    if (r.action?.class?.privileged && r.policy?.decision_id === undefined) {
      hit(
        'privileged_without_decision',
        `Privileged action ${r.action.name} ran without a recorded decision.`,
      );
    }
    const name = r.action?.name;
    if (name !== undefined) {
      const scope = r.delegation?.at(-1)?.scope;
      for (const rule of this.config.requiredScopes) {
        if (matches(rule.action, name) && scope !== undefined && !scope.includes(rule.scope)) {
          hit(
            'scope_exceeded',
            `${name} needs scope ${rule.scope}; the delegated scopes are ${scope.join(' ') || '(none)'}.`,
          );
          break;
        }
      }
    }
    if (r.attribution?.level === 'pooled' && actor !== undefined) {
      const n = this.pooled.add(keyOf(actor), r.actor?.instance ?? '(none)', now);
      if (n !== null)
        hit('pooled_account_fanout', `Pooled account ${actor} used by ${n} distinct instances.`);
    }
    if (r.actor?.kind === 'agent_instance' && actor !== undefined && r.initiator) {
      const n = this.initiators.add(keyOf(actor), r.initiator.id, now);
      if (n !== null)
        hit(
          'instance_many_initiators',
          `${actor} acted for ${n} distinct initiators: possible lateral movement.`,
        );
    }
    return out;
  }

  /**
   * What one denial counts as in its party's window. A denial is written twice: the decision
   * point's `policy.decision` and the denied action record citing it; both count as the one
   * value `decision:<id>`, whichever arrives first. A further denied record citing the same
   * decision (an agent that cached the deny and tried again) is another attempt and counts
   * on its own; a denial without a decision id counts by itself.
   */
  private denialOf(r: EventRecord, key: string): string {
    const decision = r.policy?.decision_id;
    if (decision === undefined) return `seq:${++this.denialSeq}`;
    if (r.type === 'policy.decision') return `decision:${decision}`;
    const use = `${key}\u0000${decision}`;
    const n = (this.deniedUses.get(use) ?? 0) + 1;
    this.deniedUses.delete(use);
    if (this.deniedUses.size >= this.config.maxKeys) {
      this.deniedUses.delete(this.deniedUses.keys().next().value!);
    }
    this.deniedUses.set(use, n);
    return n === 1 ? `decision:${decision}` : `decision:${decision}#${n}`;
  }
}

/**
 * The collector's `security.alert` record of a detection (resource `record:<id>`) and its
 * attribution: about a `verified` record it names the record's principals and is `verified`;
 * about a record below that it names the record's source instead (see unverifiedInputAlert).
 */
export function detectionAlert(
  d: Detection,
  now: number,
  collector: string,
  input: { level: AttributionLevel; source: IngestSource; kindOf: (id: string) => PrincipalKind },
): { record: EventRecord; attribution: Attribution } {
  const r = d.record;
  const verified = input.level === 'verified';
  const u = verified
    ? null
    : unverifiedInputAlert(r, input.level, input.source, input.kindOf, 'collector_detection');
  const detail = ((u?.detailPrefix ?? '') + d.message).slice(0, 500);
  const alert: EventRecord = {
    schema: 'provenant.event/v1',
    id: uuidv7(now),
    time: new Date(now).toISOString(),
    type: 'security.alert',
    action: {
      name: `detect.${d.code}`,
      resource: `record:${r.id}`,
      risk: 'high',
      args: { record_type: r.type, detail, ...u?.args },
    },
    outcome: { status: 'success', error: { code: d.code, message: detail } },
    source: { producer: collector },
  };
  if (u) {
    if (u.actor) alert.actor = u.actor;
  } else {
    alert.actor = r.actor ?? { id: collector, kind: 'service' };
    if (r.initiator) alert.initiator = r.initiator;
  }
  // The alert hangs under the record in its trace.
  if (r.trace) {
    alert.trace = {
      trace_id: r.trace.trace_id,
      span_id: randomBytes(8).toString('hex'),
      parent_span_id: r.trace.span_id,
    };
  }
  if (r.task_id !== undefined) alert.task_id = r.task_id;
  return {
    record: alert,
    attribution: u?.attribution ?? { level: 'verified', reasons: ['collector_detection'] },
  };
}
