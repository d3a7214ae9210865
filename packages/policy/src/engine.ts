/**
 * The engine port: what the decision point needs from a policy engine, whichever it is. A policy
 * set is named by the digest of its source, so every version can be stored and found again.
 */
import { digestOf } from '@provenant/core';
import type { JsonValue } from '@provenant/core';
import { PolicyError } from './errors.js';

/** One policy file, e.g. `{ name: 'policies.cedar', text: '…' }`. */
export interface PolicyFile {
  name: string;
  text: string;
}

/** A policy set as written: its files and, optionally, the schema it is validated against. */
export interface PolicySetSource {
  files: PolicyFile[];
  /** Cedar schema text (the `.cedarschema` format). */
  schema?: string;
  /** The action catalog's text (`actions.json`, see catalog.ts); the engine does not read it. */
  catalog?: string;
}

/** A policy set the engine has parsed and validated, ready to evaluate. */
export interface LoadedPolicySet {
  /** The content address: `policySetDigest(source)`. */
  digest: string;
  source: PolicySetSource;
  /** Every policy's id, in the order the files (sorted by name) define them. */
  policyIds: string[];
  /** The validator's warnings, when it had any: the set loaded anyway. */
  warnings?: string[];
}

/** An entity reference: `Provenant::User::"user:alice"` is `{ type: 'Provenant::User', id: 'user:alice' }`. */
export interface EntityUid {
  type: string;
  id: string;
}

/** An entity in Cedar's JSON entity format. */
export interface CedarEntity {
  uid: EntityUid;
  attrs: Record<string, JsonValue>;
  parents: EntityUid[];
}

/** One authorization question: may `principal` do `action` to `resource`, given `context`? */
export interface DecisionRequest {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Record<string, JsonValue>;
  /** The entities the policies may look at: the principal, its agent, the initiator, the resource. */
  entities: CedarEntity[];
}

/** The engine's answer. */
export interface EngineDecision {
  decision: 'allow' | 'deny';
  /**
   * The policies that decided, sorted: the satisfied `forbid`s of a denial, the satisfied
   * `permit`s of an allow, and none for a denial because nothing permitted.
   */
  determining: string[];
  /** Policies that failed to evaluate (and so were ignored), as `<policy id>: <message>`. */
  errors: string[];
  /** An engine that asked an external PDP (`authzen`): which one decided, and on what. */
  pdp?: PdpEvidence;
}

/** Which external PDP decided, and a digest of what was exchanged with it. */
export interface PdpEvidence {
  /** The PDP's identifier (AuthZEN `policy_decision_point`). */
  pdp: string;
  /** The `X-Request-ID` sent, which the PDP echoed. */
  request_id: string;
  /** `digestOf({ request, response })`: the AuthZEN request body sent and the answer's body. */
  exchange_digest: string;
}

/**
 * A policy engine: embedded (Cedar) or one that answers over the network (an external PDP), so
 * both calls are asynchronous. The contract every engine passes: `describeEngineContract` in
 * `@provenant/policy/testing` (`src/testing/engine-contract.ts`).
 */
export interface PolicyEngine {
  /** e.g. `cedar`. */
  readonly name: string;
  readonly version: string;
  /**
   * An engine that decides by policies it holds itself (an external PDP): the decision point
   * loads the empty local set for it at start, and no policy folder.
   */
  readonly remote?: boolean;
  /**
   * Parses and validates a policy set. Rejects with a `PolicyError` `invalid_policy_set`
   * carrying every parser and validator message in `messages` (and `details.messages`).
   */
  load(source: PolicySetSource): Promise<LoadedPolicySet>;
  /** Evaluates one request. Rejects with a `PolicyError` `engine_error` when the engine fails. */
  evaluate(set: LoadedPolicySet, request: DecisionRequest): Promise<EngineDecision>;
}

/**
 * A policy set's content address: `sha256:` and the hex SHA-256 of the RFC 8785 canonical form
 * of `{ files: [{ name, text }] sorted by name, schema, catalog }` (`schema` and `catalog`
 * absent when there is none). The order the files are listed in does not change it; one byte of
 * any file, name or the catalog does.
 */
export function policySetDigest(source: PolicySetSource): string {
  const files = [...source.files]
    .sort((a, b) => compareNames(a.name, b.name))
    .map((f) => ({ name: f.name, text: f.text }));
  return digestOf({
    files,
    ...(source.schema === undefined ? {} : { schema: source.schema }),
    ...(source.catalog === undefined ? {} : { catalog: source.catalog }),
  });
}

/** The digest of the policy set with no files and no schema, which denies everything. */
export const EMPTY_POLICY_SET_DIGEST = policySetDigest({ files: [] });

/** Code-unit order, the order RFC 8785 sorts keys in: the same on every platform and locale. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Checks a source's shape (files with unique, non-empty string names and string texts, an
 * optional string schema and catalog) and returns a copy with the files sorted by name. Input from outside
 * the program (a stored set, a request) may be anything; a wrong shape is `invalid_policy_set`.
 */
export function normalizeSource(source: unknown): PolicySetSource {
  const problems: string[] = [];
  if (
    typeof source !== 'object' ||
    source === null ||
    !Array.isArray((source as PolicySetSource).files)
  ) {
    throw new PolicyError(
      'invalid_policy_set',
      'A policy set source must be an object with a "files" list.',
    );
  }
  const { files, schema, catalog } = source as {
    files: unknown[];
    schema?: unknown;
    catalog?: unknown;
  };
  const seen = new Set<string>();
  const out: PolicyFile[] = [];
  files.forEach((f, i) => {
    const { name, text } = (typeof f === 'object' && f !== null ? f : {}) as Record<
      string,
      unknown
    >;
    if (typeof name !== 'string' || name === '') {
      problems.push(`files[${i}] needs a non-empty string "name".`);
    } else if (typeof text !== 'string') {
      problems.push(`${name}: the file's "text" must be a string.`);
    } else if (seen.has(name)) {
      problems.push(`${name}: two files have this name.`);
    } else {
      seen.add(name);
      out.push({ name, text });
    }
  });
  if (schema !== undefined && typeof schema !== 'string') {
    problems.push('The schema must be Cedar schema text (a string).');
  }
  if (catalog !== undefined && typeof catalog !== 'string') {
    problems.push('The action catalog must be the text of actions.json (a string).');
  }
  if (problems.length > 0) {
    throw new PolicyError('invalid_policy_set', `The policy set is malformed: ${problems[0]}`, {
      messages: problems,
    });
  }
  out.sort((a, b) => compareNames(a.name, b.name));
  return {
    files: out,
    ...(typeof schema === 'string' ? { schema } : {}),
    ...(typeof catalog === 'string' ? { catalog } : {}),
  };
}
