/**
 * Policy decisions for tool calls: the collector's decision point (`POST /v1/decisions`), or
 * any injected `Pdp` (e.g. an embedded Cedar engine), behind a short per-credential cache.
 */
import type { Action } from '@provenant/core';
import { ACTION_CLASS_FLAGS } from '@provenant/core/vocabulary';
import { DecisionPointFailure, networkCause } from '../errors.js';

export interface DecisionRequest {
  readonly action: {
    readonly name: string;
    readonly resource: string;
    readonly class?: NonNullable<Action['class']>;
    readonly risk?: NonNullable<Action['risk']>;
  };
  readonly taskId?: string;
  /** The acting credential (a Provenant JWT): what the decision is made for. */
  readonly credential: string;
  /** The Transaction Token of the work, sent as the `Txn-Token` header (its `txn` recorded). */
  readonly txnToken?: string;
}

export interface Decision {
  readonly decision: 'allow' | 'deny';
  readonly decisionId: string;
  readonly engine: string;
  readonly determining: readonly string[];
  readonly reason?: string;
  /** The decision point's messages: why the engine could not answer, policies it skipped. */
  readonly errors?: readonly string[];
  /**
   * The class and risk the action was decided with (the collector's catalog may raise what was
   * asked): the call's records say these, or the collector refuses them as `decision_mismatch`.
   */
  readonly class?: NonNullable<Action['class']>;
  readonly risk?: NonNullable<Action['risk']>;
  /** One call only (privileged or irreversible as decided): never taken from the cache. */
  readonly singleUse?: boolean;
  /** Until when (Unix ms) records may cite it. */
  readonly validUntil?: number;
}

/** A policy decision point. Remote by default; inject one to decide in-process. */
export interface Pdp {
  decide(request: DecisionRequest): Decision | Promise<Decision>;
}

/** The collector's decision point: it records its own `policy.decision` before answering. */
export function remotePdp(collectorUrl: string, fetchFn: typeof fetch): Pdp {
  const url = new URL('/v1/decisions', collectorUrl).toString();
  return {
    async decide(req) {
      let res: Response;
      try {
        res = await fetchFn(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${req.credential}`,
            ...(req.txnToken !== undefined ? { 'txn-token': req.txnToken } : {}),
          },
          body: JSON.stringify({
            action: req.action,
            ...(req.taskId !== undefined ? { task_id: req.taskId } : {}),
          }),
        });
      } catch (e) {
        throw new DecisionPointFailure(
          'collector_unreachable',
          `the collector at ${new URL(url).origin} is unreachable (${networkCause(e)})`,
        );
      }
      const body = (await res.json().catch(() => null)) as {
        decision?: unknown;
        decision_id?: unknown;
        engine?: unknown;
        determining?: unknown;
        reason?: unknown;
        errors?: unknown;
        action?: { class?: unknown; risk?: unknown };
        single_use?: unknown;
        valid_until?: unknown;
        error?: { code?: string; message?: string };
      } | null;
      if (!res.ok || !body || (body.decision !== 'allow' && body.decision !== 'deny')) {
        const code = body?.error?.code ? ` ${body.error.code}` : '';
        throw new DecisionPointFailure(
          res.status >= 400 && res.status < 500 ? 'decision_refused' : 'decision_failed',
          `the decision point answered HTTP ${res.status}${code}: ${body?.error?.message ?? 'no decision'}`,
        );
      }
      return {
        decision: body.decision,
        decisionId: String(body.decision_id),
        engine: typeof body.engine === 'string' ? body.engine : 'unknown',
        determining: Array.isArray(body.determining) ? body.determining.map(String) : [],
        ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
        ...(Array.isArray(body.errors) ? { errors: body.errors.map(String) } : {}),
        ...decidedClassOf(body.action),
        ...(body.single_use === true ? { singleUse: true } : {}),
        ...(typeof body.valid_until === 'number' ? { validUntil: body.valid_until } : {}),
      };
    },
  };
}

const RISKS: readonly unknown[] = ['low', 'medium', 'high', 'critical'];

/** The decided `class` and `risk` of a decision point's answer, when well-formed. */
function decidedClassOf(
  action: { class?: unknown; risk?: unknown } | undefined,
): Pick<Decision, 'class' | 'risk'> {
  const c = action?.class as Record<string, unknown> | undefined;
  const out: { class?: NonNullable<Action['class']>; risk?: NonNullable<Action['risk']> } = {};
  if (
    typeof c === 'object' &&
    c !== null &&
    ACTION_CLASS_FLAGS.every((f) => typeof c[f] === 'boolean')
  ) {
    out.class = Object.fromEntries(ACTION_CLASS_FLAGS.map((f) => [f, c[f]])) as NonNullable<
      Action['class']
    >;
  }
  if (RISKS.includes(action?.risk)) out.risk = action!.risk as NonNullable<Action['risk']>;
  return out;
}

/** Remembers decisions per (credential, action, resource) for `ttlMs`, never past the credential. */
export class DecisionCache {
  private readonly map = new Map<string, { d: Decision; until: number }>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, now: number): Decision | undefined {
    const e = this.map.get(key);
    if (e !== undefined && e.until > now) {
      this.hits++;
      return e.d;
    }
    if (e !== undefined) this.map.delete(key);
    this.misses++;
    return undefined;
  }

  /** A single-use decision is never kept; another is kept no longer than it is valid. */
  set(key: string, d: Decision, now: number, credentialExpMs: number): void {
    if (this.ttlMs <= 0 || d.singleUse === true) return;
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    const until = Math.min(now + this.ttlMs, credentialExpMs, d.validUntil ?? Infinity);
    this.map.set(key, { d, until });
  }
}
