/**
 * The Cedar engine (https://www.cedarpolicy.com) through its WebAssembly build: policies are
 * parsed once, validated against the schema in strict mode when there is one, and kept parsed
 * inside the engine, so an evaluation only parses the request.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
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
import { SCHEMA_FILE_NAME as SCHEMA_FILE } from '../../folder.js';
import { formatDiagnostic } from '../../lib/source-location.js';
import { diagnostics, parsePolicies, policyMap, type ParsedPolicy } from './parse.js';

interface Slot {
  /** The id the set is preparsed under inside the WebAssembly module. */
  name: string;
  schema: boolean;
}

// The WebAssembly module keeps preparsed sets in one table per thread, with no way to remove an
// entry; reusing at most MAX_PARSED_SETS names bounds it (a set evicted from its name is parsed
// again when next evaluated). Shared by every CedarEngine of the thread: entries are keyed by
// content digest, so what one engine parsed is right for all.
const MAX_PARSED_SETS = 16;
const slots = new Map<string, Slot>();
const freeNames: string[] = [];
let nextSlot = 0;
// Sets this module produced or checked: their digest is known to match their source.
const checked = new WeakSet<LoadedPolicySet>();

export class CedarEngine implements PolicyEngine {
  readonly name = 'cedar';
  /** The Cedar SDK version, e.g. `4.13.0`. */
  readonly version: string = cedar.getCedarVersion();

  async load(source: PolicySetSource): Promise<LoadedPolicySet> {
    const src = normalizeSource(source);
    const { policies, messages } = parsePolicies(src);
    const warnings: string[] = [];

    if (src.schema !== undefined) {
      if (messages.length > 0) {
        // The policies did not parse, so nothing can be validated; still report the schema's own.
        const schema = cedar.checkParseSchema(src.schema);
        if (schema.type === 'failure')
          messages.push(...diagnostics(schema.errors, SCHEMA_FILE, src.schema));
      } else {
        const answer = cedar.validate({
          schema: src.schema,
          policies: { staticPolicies: policyMap(policies) },
          validationSettings: { mode: 'strict' },
        });
        if (answer.type === 'failure') {
          messages.push(...diagnostics(answer.errors, SCHEMA_FILE, src.schema));
        } else {
          const byId = new Map(policies.map((p) => [p.id, p]));
          const located = (e: cedar.ValidationError): string => {
            const p = byId.get(e.policyId);
            return p === undefined
              ? formatDiagnostic(e.error)
              : formatDiagnostic(e.error, where(p));
          };
          messages.push(...unique(answer.validationErrors.map(located)));
          warnings.push(...unique(answer.validationWarnings.map(located)));
          warnings.push(...unique(answer.otherWarnings.map((w) => formatDiagnostic(w))));
        }
      }
    }
    if (messages.length > 0) {
      const message = summarize('The policy set is invalid', messages);
      throw new PolicyError('invalid_policy_set', message, { messages });
    }

    const set: LoadedPolicySet = {
      digest: policySetDigest(src),
      source: src,
      policyIds: policies.map((p) => p.id),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
    checked.add(set);
    // Parse it into the engine now: a set that loads is a set that evaluates.
    try {
      this.slotFor(set, policies);
    } catch (e) {
      const messages = e instanceof PolicyError ? [...e.messages] : [String(e)];
      const message = summarize('The policy set is invalid', messages);
      throw new PolicyError('invalid_policy_set', message, { messages }, { cause: e });
    }
    return set;
  }

  async evaluate(set: LoadedPolicySet, request: DecisionRequest): Promise<EngineDecision> {
    const slot = this.slotFor(set);
    let answer: cedar.AuthorizationAnswer;
    try {
      answer = cedar.statefulIsAuthorized({
        principal: request.principal,
        action: request.action,
        resource: request.resource,
        context: request.context as cedar.Context,
        entities: request.entities as cedar.Entities,
        preparsedPolicySetId: slot.name,
        ...(slot.schema ? { preparsedSchemaName: slot.name, validateRequest: true } : {}),
      });
    } catch (e) {
      throw engineError([`Cedar failed: ${e instanceof Error ? e.message : String(e)}`], e);
    }
    if (answer.type === 'failure') {
      throw engineError(answer.errors.map((e) => formatDiagnostic(e)));
    }
    const { decision, diagnostics: d } = answer.response;
    return {
      decision,
      determining: [...d.reason].sort(compareNames),
      errors: d.errors.map((e) => `${e.policyId}: ${e.error.message}`),
    };
  }

  /** The set's slot in the engine, parsing it there first when it is not (or no longer) in one. */
  private slotFor(set: LoadedPolicySet, parsed?: ParsedPolicy[]): Slot {
    const hit = slots.get(set.digest);
    if (hit !== undefined && checked.has(set)) {
      slots.delete(set.digest); // re-insert: the map's order is least recently used first
      slots.set(set.digest, hit);
      return hit;
    }
    if (!checked.has(set)) {
      // A set from elsewhere (a store, another process): its digest must name its source.
      let digest: string;
      try {
        digest = policySetDigest(normalizeSource(set.source));
      } catch (e) {
        throw engineError(['The policy set is malformed.'], e);
      }
      if (digest !== set.digest) {
        throw engineError([`The policy set's digest ${set.digest} does not match its source.`]);
      }
      checked.add(set);
      if (hit !== undefined) return this.slotFor(set);
    }

    let policies = parsed;
    if (policies === undefined) {
      const again = parsePolicies(normalizeSource(set.source));
      if (again.messages.length > 0) throw engineError(again.messages);
      policies = again.policies;
    }
    while (slots.size >= MAX_PARSED_SETS) {
      const [oldest, slot] = slots.entries().next().value as [string, Slot];
      slots.delete(oldest);
      freeNames.push(slot.name);
    }
    const name = freeNames.pop() ?? `provenant-${nextSlot++}`;
    const schema = set.source.schema;
    try {
      const answer = cedar.preparsePolicySet(name, { staticPolicies: policyMap(policies) });
      if (answer.type === 'failure') {
        throw engineError(answer.errors.map((e) => formatDiagnostic(e)));
      }
      if (schema !== undefined) {
        const s = cedar.preparseSchema(name, schema);
        if (s.type === 'failure') throw engineError(diagnostics(s.errors, SCHEMA_FILE, schema));
      }
    } catch (e) {
      freeNames.push(name);
      throw e instanceof PolicyError ? e : engineError([String(e)], e);
    }
    const slot: Slot = { name, schema: schema !== undefined };
    slots.set(set.digest, slot);
    return slot;
  }
}

function where(p: ParsedPolicy): { file: string; text: string; offset: number } {
  return { file: p.file, text: p.fileText, offset: p.offset };
}

function unique(messages: string[]): string[] {
  return [...new Set(messages)];
}

function engineError(messages: string[], cause?: unknown): PolicyError {
  return new PolicyError(
    'engine_error',
    summarize('The policy engine could not evaluate the request', messages),
    { messages },
    cause === undefined ? undefined : { cause },
  );
}
