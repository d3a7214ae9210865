/** A decision source in memory, for tests: a rule instead of the collector's decision point. */
import type { Decision, DecisionRequest, Pdp } from '../lib/decisions.js';
import { newId } from '../lib/ids.js';
import { decodeCredential } from '../lib/principal.js';

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
  const c = decodeCredential(credential);
  return { subject: c.subject, actor: c.actor, chain: c.chain, scope: c.scope };
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
