/**
 * An engine for tests: its policies are functions given to the constructor, and a policy set's
 * files name which of them are in force. It decides the way Cedar does: any satisfied `forbid`
 * denies, else any satisfied `permit` allows, else the answer is deny; a policy that throws is
 * skipped and reported in `errors`.
 */
import {
  compareNames,
  normalizeSource,
  policySetDigest,
  type DecisionRequest,
  type EngineDecision,
  type LoadedPolicySet,
  type PolicyEngine,
  type PolicySetSource,
} from '../../engine.js';
import { PolicyError, summarize } from '../../errors.js';

export interface MemoryPolicy {
  id: string;
  effect: 'permit' | 'forbid';
  when: (request: DecisionRequest) => boolean;
}

export interface MemoryEngineOptions {
  /** Reported as the engine's version (default `1`). */
  version?: string;
  /**
   * Makes the engine fail: when it returns a message for a request, `evaluate` throws a
   * `PolicyError` `engine_error` with it, as a broken engine would.
   */
  fail?: (request: DecisionRequest) => string | undefined;
}

export class MemoryEngine implements PolicyEngine {
  readonly name = 'memory';
  readonly version: string;
  private readonly policies = new Map<string, MemoryPolicy>();
  private readonly fail: MemoryEngineOptions['fail'];

  constructor(policies: readonly MemoryPolicy[], options: MemoryEngineOptions = {}) {
    for (const p of policies) {
      if (this.policies.has(p.id)) throw new TypeError(`Two memory policies have the id ${p.id}.`);
      this.policies.set(p.id, p);
    }
    this.version = options.version ?? '1';
    this.fail = options.fail;
  }

  /**
   * Each file lists policy ids, separated by white space; `#` starts a comment that runs to the
   * end of the line. An id the engine does not have, or one listed twice, is refused.
   */
  async load(source: PolicySetSource): Promise<LoadedPolicySet> {
    const src = normalizeSource(source);
    const ids: string[] = [];
    const messages: string[] = [];
    for (const file of src.files) {
      file.text.split('\n').forEach((line, i) => {
        for (const id of (line.split('#')[0] ?? '').split(/\s+/).filter((t) => t !== '')) {
          if (!this.policies.has(id)) {
            messages.push(`${file.name}:${i + 1}: no policy has the id "${id}".`);
          } else if (ids.includes(id)) {
            messages.push(`${file.name}:${i + 1}: the policy id "${id}" is listed twice.`);
          } else {
            ids.push(id);
          }
        }
      });
    }
    if (messages.length > 0) {
      throw new PolicyError(
        'invalid_policy_set',
        summarize('The policy set is invalid', messages),
        {
          messages,
        },
      );
    }
    return { digest: policySetDigest(src), source: src, policyIds: ids };
  }

  async evaluate(set: LoadedPolicySet, request: DecisionRequest): Promise<EngineDecision> {
    const failure = this.fail?.(request);
    if (failure !== undefined) {
      throw new PolicyError('engine_error', failure);
    }
    const permits: string[] = [];
    const forbids: string[] = [];
    const errors: string[] = [];
    for (const id of set.policyIds) {
      const policy = this.policies.get(id);
      if (policy === undefined) {
        throw new PolicyError(
          'engine_error',
          `The policy set names ${id}, which this engine does not have.`,
        );
      }
      let satisfied: boolean;
      try {
        satisfied = policy.when(request);
      } catch (e) {
        errors.push(`${id}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      if (satisfied) (policy.effect === 'forbid' ? forbids : permits).push(id);
    }
    if (forbids.length > 0)
      return { decision: 'deny', determining: forbids.sort(compareNames), errors };
    if (permits.length > 0)
      return { decision: 'allow', determining: permits.sort(compareNames), errors };
    return { decision: 'deny', determining: [], errors };
  }
}
