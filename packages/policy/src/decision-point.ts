/**
 * The policy decision point: holds the active policy set, answers each request from a verified
 * credential, and returns a decision complete enough to be recorded and replayed. It fails
 * closed: without a policy set, or when the engine fails, the answer is deny (unless the
 * deployment allows low-risk actions through, see `FailPolicy`).
 */
import { ACTION_CLASS_FLAGS, digestOf, uuidv7 } from '@provenant/core';
import type { PrincipalDirectory, VerifiedCredential } from '@provenant/identity';
import {
  EMPTY_POLICY_SET_DIGEST,
  compareNames,
  type DecisionRequest,
  type EngineDecision,
  type LoadedPolicySet,
  type PolicyEngine,
  type PolicySetSource,
} from './engine.js';
import { PolicyError } from './errors.js';
import { buildDecisionRequest, type ActionInput } from './request.js';

/** Why a decision is what it is. */
export type DecisionReason = 'policy' | 'engine_error' | 'no_policy_set' | 'fail_open';

/** One decision, as the decision point records it. */
export interface Decision {
  /** A UUIDv7. */
  decision_id: string;
  engine: string;
  engine_version: string;
  /**
   * The digest of the policy set evaluated. Without a loaded set, `EMPTY_POLICY_SET_DIGEST`:
   * the set with no policies, whose answer is deny.
   */
  policy_set: string;
  decision: 'allow' | 'deny';
  determining: string[];
  /** The engine's errors: policies it skipped, or why it could not answer at all. */
  errors: string[];
  /** `digestOf(request.context)`. */
  context_digest: string;
  /** `policy` when the engine answered; otherwise why the decision point answered for it. */
  reason?: DecisionReason;
  /** The whole request, so the decision can be replayed. */
  request: DecisionRequest;
  credential_jti: string;
  /** When it was decided, in Unix milliseconds. */
  time: number;
}

export interface FailPolicy {
  /**
   * Allow an action the engine could not decide on when it is low risk (`risk: 'low'`) and its
   * class says it is neither privileged, irreversible nor external (default false).
   */
  failOpenLowRisk: boolean;
}

export interface DecisionPointOptions {
  engine: PolicyEngine;
  /** Unix milliseconds (default `Date.now`). */
  clock?: () => number;
  failPolicy?: FailPolicy;
  /** Random bytes for decision ids (default: the system's CSPRNG). */
  random?: (n: number) => Uint8Array;
}

export class DecisionPoint {
  readonly engine: PolicyEngine;
  private readonly clock: () => number;
  private readonly failPolicy: FailPolicy;
  private readonly random: ((n: number) => Uint8Array) | undefined;
  private active: LoadedPolicySet | null = null;

  constructor(o: DecisionPointOptions) {
    this.engine = o.engine;
    this.clock = o.clock ?? Date.now;
    this.failPolicy = o.failPolicy ?? { failOpenLowRisk: false };
    this.random = o.random;
  }

  /**
   * Validates `source` and makes it the active set. A set the engine refuses rejects with its
   * `PolicyError` `invalid_policy_set` (every validator message in `messages`), and the set
   * that was active stays active.
   */
  async load(source: PolicySetSource): Promise<LoadedPolicySet> {
    const set = await this.engine.load(source);
    this.active = set;
    return set;
  }

  /** The active policy set, or null before one loaded. */
  current(): LoadedPolicySet | null {
    return this.active;
  }

  /** Decides whether the credential's current actor may take `action`. Never throws for the engine. */
  async decide(
    credential: VerifiedCredential,
    action: ActionInput,
    directory: PrincipalDirectory,
  ): Promise<Decision> {
    const time = this.clock();
    const request = buildDecisionRequest(credential, action, directory, time);
    const base = {
      decision_id: uuidv7(time, this.random),
      engine: this.engine.name,
      engine_version: this.engine.version,
      context_digest: digestOf(request.context),
      request,
      credential_jti: credential.jti,
      time,
    };
    const set = this.active;
    if (set === null) {
      return this.unanswered(base, EMPTY_POLICY_SET_DIGEST, 'no_policy_set', action, [
        'No policy set is loaded.',
      ]);
    }
    let answer: EngineDecision;
    try {
      answer = await this.engine.evaluate(set, request);
    } catch (e) {
      const messages =
        e instanceof PolicyError ? [...e.messages] : [e instanceof Error ? e.message : String(e)];
      return this.unanswered(base, set.digest, 'engine_error', action, messages);
    }
    return {
      ...base,
      policy_set: set.digest,
      decision: answer.decision,
      determining: [...answer.determining],
      errors: [...answer.errors],
      reason: 'policy',
    };
  }

  /**
   * Evaluates a recorded decision's request again, against `set`: the recorded set (found by the
   * decision's `policy_set` digest) to show the answer is reproducible, or the current one to
   * show drift. An engine failure rejects with its `PolicyError` `engine_error`.
   */
  replay(
    decision: { request: DecisionRequest; policy_set: string },
    set: LoadedPolicySet,
  ): Promise<EngineDecision> {
    return this.engine.evaluate(set, decision.request);
  }

  private unanswered(
    base: Omit<Decision, 'policy_set' | 'decision' | 'determining' | 'errors' | 'reason'>,
    policySet: string,
    reason: 'engine_error' | 'no_policy_set',
    action: ActionInput,
    errors: string[],
  ): Decision {
    const open = this.failPolicy.failOpenLowRisk && isLowRisk(action);
    return {
      ...base,
      policy_set: policySet,
      decision: open ? 'allow' : 'deny',
      determining: [],
      errors: open ? [`${reason}: ${errors.join(' ')}`] : errors,
      reason: open ? 'fail_open' : reason,
    };
  }
}

/** Low risk by the caller's own description, and nothing in its class that raises the stakes. */
export function isLowRisk(action: ActionInput): boolean {
  const c = action.class;
  return (
    action.risk === 'low' && c !== undefined && ACTION_CLASS_FLAGS.every((f) => c[f] === false)
  );
}

/**
 * What changed between a recorded decision and the answer its request gets now, in a phrase such
 * as "would now be denied by policy forbid-deep-irreversible"; null when the answer and the
 * determining policies are the same.
 */
export function describeDrift(recorded: Decision, now: EngineDecision): string | null {
  const before = sortedUnique(recorded.determining);
  const after = sortedUnique(now.determining);
  const same = before.length === after.length && before.every((id, i) => id === after[i]);
  if (recorded.decision === now.decision && same) return null;
  if (recorded.decision !== now.decision) {
    const verb = now.decision === 'allow' ? 'allowed' : 'denied';
    return `would now be ${verb} ${because(now.decision, after)}`;
  }
  const verb = now.decision === 'allow' ? 'allowed' : 'denied';
  return `would still be ${verb}, but now ${because(now.decision, after)} instead of ${because(recorded.decision, before)}`;
}

function because(decision: 'allow' | 'deny', ids: readonly string[]): string {
  if (ids.length === 0) {
    return decision === 'deny' ? 'because no policy permits it' : 'with no determining policy';
  }
  return `by ${ids.length === 1 ? 'policy' : 'policies'} ${ids.join(', ')}`;
}

function sortedUnique(ids: readonly string[]): string[] {
  return [...new Set(ids)].sort(compareNames);
}
