/**
 * The policy decision point: holds the active policy set, answers each request from a verified
 * credential, and returns a decision complete enough to be recorded and replayed. It fails
 * closed: without a policy set, or when the engine fails, the answer is deny (unless the
 * deployment allows low-risk actions through, see `FailPolicy`).
 */
import { ACTION_CLASS_FLAGS, digestOf, uuidv7 } from '@provenant/core';
import type { ActionClassFlag } from '@provenant/core';
import type { PrincipalDirectory } from '@provenant/identity';
import {
  EMPTY_POLICY_SET_DIGEST,
  compareNames,
  type DecisionRequest,
  type EngineDecision,
  type LoadedPolicySet,
  type PdpEvidence,
  type PolicyEngine,
  type PolicySetSource,
} from './engine.js';
import {
  catalogAction,
  parseActionCatalog,
  RISKS,
  type ActionCatalog,
  type CatalogStanding,
  type CatalogedAction,
} from './catalog.js';
import { PolicyError } from './errors.js';
import { buildDecisionRequest, type ActionInput, type DecisionAuthority } from './request.js';

/** Why a decision is what it is. */
export type DecisionReason =
  | 'policy'
  | 'engine_error'
  | 'no_policy_set'
  | 'fail_open'
  /** The catalog's resource pattern for the action does not match the resource. */
  | 'resource_outside_catalog';

/** How long a decision backs records citing it, by default (5 minutes). */
export const DEFAULT_DECISION_VALIDITY_MS = 5 * 60_000;

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
  /**
   * `known` when the action catalog describes the action (the class and risk decided on are the
   * catalog's, raised by the caller's); `unknown` when the caller's claim was all there was.
   */
  catalog: CatalogStanding;
  /** Until when (Unix ms) a record may cite it: `time` + the decision point's validity. */
  valid_until: number;
  /** Privileged or irreversible as decided: one action's records may cite it, no more. */
  single_use: boolean;
  /** The external PDP that decided (the `authzen` engine), when one did. */
  pdp?: PdpEvidence;
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
  /** How long a decision backs records citing it, ms (default `DEFAULT_DECISION_VALIDITY_MS`). */
  validityMs?: number;
}

export class DecisionPoint {
  readonly engine: PolicyEngine;
  private readonly clock: () => number;
  private readonly failPolicy: FailPolicy;
  private readonly random: ((n: number) => Uint8Array) | undefined;
  private readonly validityMs: number;
  private active: LoadedPolicySet | null = null;
  private catalog: ActionCatalog | null = null;

  constructor(o: DecisionPointOptions) {
    this.engine = o.engine;
    this.clock = o.clock ?? Date.now;
    this.failPolicy = o.failPolicy ?? { failOpenLowRisk: false };
    this.random = o.random;
    this.validityMs = o.validityMs ?? DEFAULT_DECISION_VALIDITY_MS;
    if (!(this.validityMs > 0) || !Number.isFinite(this.validityMs)) {
      throw new TypeError('validityMs must be a positive number of milliseconds.');
    }
  }

  /**
   * Validates `source` (its action catalog first) and makes it the active set. A catalog that
   * does not parse rejects with `PolicyError` `invalid_action_catalog`, a set the engine refuses
   * with `invalid_policy_set` (every message in `messages`); either way the set that was active
   * stays active, with its catalog.
   */
  async load(source: PolicySetSource): Promise<LoadedPolicySet> {
    const catalog = source.catalog === undefined ? null : parseActionCatalog(source.catalog);
    const set = await this.engine.load(source);
    this.active = set;
    this.catalog = catalog;
    return set;
  }

  /** The active policy set, or null before one loaded. */
  current(): LoadedPolicySet | null {
    return this.active;
  }

  /** Decides whether the credential's current actor may take `action`. Never throws for the engine. */
  async decide(
    credential: DecisionAuthority,
    action: ActionInput,
    directory: PrincipalDirectory,
  ): Promise<Decision> {
    const time = this.clock();
    const set = this.active;
    const cataloged = catalogAction(set === null ? null : this.catalog, action);
    const decided = cataloged.action;
    const request = buildDecisionRequest(credential, decided, directory, time);
    const base = {
      decision_id: uuidv7(time, this.random),
      engine: this.engine.name,
      engine_version: this.engine.version,
      context_digest: digestOf(request.context),
      request,
      credential_jti: credential.jti,
      time,
      catalog: cataloged.catalog,
      valid_until: time + this.validityMs,
      single_use: decided.class?.privileged === true || decided.class?.irreversible === true,
    };
    if (set === null) {
      return this.unanswered(base, EMPTY_POLICY_SET_DIGEST, 'no_policy_set', cataloged, [
        'No policy set is loaded.',
      ]);
    }
    if (cataloged.resourceOutside !== undefined) {
      return {
        ...base,
        policy_set: set.digest,
        decision: 'deny',
        determining: [],
        errors: [
          `The action catalog takes ${decided.name} only on resources matching "${cataloged.resourceOutside}".`,
        ],
        reason: 'resource_outside_catalog',
      };
    }
    let answer: EngineDecision;
    try {
      answer = await this.engine.evaluate(set, request);
    } catch (e) {
      const messages =
        e instanceof PolicyError ? [...e.messages] : [e instanceof Error ? e.message : String(e)];
      return this.unanswered(base, set.digest, 'engine_error', cataloged, messages);
    }
    return {
      ...base,
      policy_set: set.digest,
      decision: answer.decision,
      determining: [...answer.determining],
      errors: [...answer.errors],
      reason: 'policy',
      ...(answer.pdp === undefined ? {} : { pdp: { ...answer.pdp } }),
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
    cataloged: CatalogedAction,
    errors: string[],
  ): Decision {
    // Judged on the action as decided: the catalog's class and risk, not a lower claim.
    const open = this.failPolicy.failOpenLowRisk && isLowRisk(cataloged.action);
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

/** The action a decision was made for, with the class and risk it was decided with. */
export function decidedAction(d: Pick<Decision, 'request'>): ActionInput & {
  class: Record<ActionClassFlag, boolean>;
} {
  const context = d.request.context;
  const risk = context['risk'];
  return {
    name: d.request.action.id,
    resource: d.request.resource.id,
    class: Object.fromEntries(ACTION_CLASS_FLAGS.map((f) => [f, context[f] === true])) as Record<
      ActionClassFlag,
      boolean
    >,
    ...((RISKS as readonly unknown[]).includes(risk)
      ? { risk: risk as NonNullable<ActionInput['risk']> }
      : {}),
  };
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
