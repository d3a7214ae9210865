/**
 * Policy decisions for tool calls: the collector's decision point (`POST /v1/decisions`), or
 * any injected `Pdp` (e.g. an embedded Cedar engine), behind a short per-credential cache.
 */
import type { Action } from '@provenant/core';

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
}

export interface Decision {
  readonly decision: 'allow' | 'deny';
  readonly decisionId: string;
  readonly engine: string;
  readonly determining: readonly string[];
  readonly reason?: string;
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
      const res = await fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${req.credential}` },
        body: JSON.stringify({
          action: req.action,
          ...(req.taskId !== undefined ? { task_id: req.taskId } : {}),
        }),
      });
      const body = (await res.json().catch(() => null)) as {
        decision?: unknown;
        decision_id?: unknown;
        engine?: unknown;
        determining?: unknown;
        reason?: unknown;
        error?: { code?: string; message?: string };
      } | null;
      if (!res.ok || !body || (body.decision !== 'allow' && body.decision !== 'deny')) {
        throw new Error(body?.error?.message ?? `the decision point answered HTTP ${res.status}`);
      }
      return {
        decision: body.decision,
        decisionId: String(body.decision_id),
        engine: typeof body.engine === 'string' ? body.engine : 'unknown',
        determining: Array.isArray(body.determining) ? body.determining.map(String) : [],
        ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
      };
    },
  };
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

  set(key: string, d: Decision, now: number, credentialExpMs: number): void {
    if (this.ttlMs <= 0) return;
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { d, until: Math.min(now + this.ttlMs, credentialExpMs) });
  }
}
