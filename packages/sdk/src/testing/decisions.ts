/** A decision source in memory, for tests: a rule instead of the collector's decision point. */
import { decodeJwt } from 'jose';
import type { Decision, DecisionRequest, Pdp } from '../lib/decisions.js';
import { newId } from '../lib/ids.js';

/** Who a decision is asked for, read from the request's credential. */
export interface Asker {
  readonly subject: string;
  /** The acting principal (the outermost `act`). */
  readonly actor: string;
  /** Actors, root first. */
  readonly chain: readonly string[];
  readonly scope: readonly string[];
}

export type DecisionRule = (
  request: DecisionRequest,
  asker: Asker,
) =>
  | 'allow'
  | 'deny'
  | {
      readonly decision: 'allow' | 'deny';
      readonly reason?: string;
      readonly determining?: readonly string[];
    };

export interface MemoryDecisions extends Pdp {
  /** Every decision made, with what was asked. */
  readonly made: readonly { readonly request: DecisionRequest; readonly decision: Decision }[];
}

function askerOf(credential: string): Asker {
  const claims = decodeJwt(credential);
  const chain: string[] = [];
  let act = claims['act'] as { sub?: unknown; act?: unknown } | undefined;
  while (act && typeof act === 'object') {
    if (typeof act.sub === 'string') chain.unshift(act.sub);
    act = act.act as typeof act | undefined;
  }
  const subject = String(claims.sub);
  const scope =
    typeof claims['scope'] === 'string' ? claims['scope'].split(' ').filter(Boolean) : [];
  return { subject, actor: chain.at(-1) ?? subject, chain, scope };
}

/** Decides by `rule` (default: allow everything); engine `memory`. */
export function memoryDecisions(rule: DecisionRule = () => 'allow'): MemoryDecisions {
  const made: { request: DecisionRequest; decision: Decision }[] = [];
  return {
    made,
    decide(request) {
      const r = rule(request, askerOf(request.credential));
      const answer = typeof r === 'string' ? { decision: r } : r;
      const decision: Decision = {
        decision: answer.decision,
        decisionId: newId(),
        engine: 'memory',
        determining: 'determining' in answer && answer.determining ? [...answer.determining] : [],
        ...('reason' in answer && answer.reason !== undefined ? { reason: answer.reason } : {}),
      };
      made.push({ request, decision });
      return decision;
    },
  };
}
