/**
 * The wire shapes of the OpenID AuthZEN Authorization API 1.0 (Final, 11 January 2026): the
 * information model (§5), the Access Evaluation request and response (§6), the Access
 * Evaluations request with its defaults and `options.evaluations_semantic` (§7), and the
 * Policy Decision Point metadata (§9). Pure functions over parsed JSON, shared by the
 * collector's facade, the policy package's `authzen` engine and the MCP proxy's PEP; no I/O.
 */
import type { JsonValue } from '../schema/event.js';

/** The revision implemented, as docs name it. */
export const AUTHZEN_REVISION = 'OpenID AuthZEN Authorization API 1.0 (Final, 2026-01-11)';
export const AUTHZEN_EVALUATION_PATH = '/access/v1/evaluation';
export const AUTHZEN_EVALUATIONS_PATH = '/access/v1/evaluations';
export const AUTHZEN_METADATA_PATH = '/.well-known/authzen-configuration';
/** §10.1.3: the PEP's request identifier, echoed by the PDP. */
export const AUTHZEN_REQUEST_ID_HEADER = 'x-request-id';

export const EVALUATIONS_SEMANTICS = [
  'execute_all',
  'deny_on_first_deny',
  'permit_on_first_permit',
] as const;
export type EvaluationsSemantic = (typeof EVALUATIONS_SEMANTICS)[number];

type JsonObject = { [key: string]: JsonValue };

/** A Subject or a Resource (§5.1, §5.2). */
export interface AuthzenEntity {
  type: string;
  id: string;
  properties?: JsonObject;
}

/** An Action (§5.3). */
export interface AuthzenAction {
  name: string;
  properties?: JsonObject;
}

/** One Access Evaluation request (§6.1). */
export interface AuthzenEvaluation {
  subject: AuthzenEntity;
  action: AuthzenAction;
  resource: AuthzenEntity;
  context?: JsonObject;
}

/** A Decision (§5.5). */
export interface AuthzenDecision {
  decision: boolean;
  context?: JsonObject;
}

/** An Access Evaluations request with every top-level default applied (§7.1.1). */
export interface AuthzenEvaluations {
  evaluations: AuthzenEvaluation[];
  semantic: EvaluationsSemantic;
}

/** PDP metadata (§9.1): the parameters this implementation reads or serves. */
export interface AuthzenMetadata {
  policy_decision_point: string;
  access_evaluation_endpoint: string;
  access_evaluations_endpoint?: string;
  capabilities?: string[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Longest `type`, `id` or `name` taken (the record's id limit). */
export const AUTHZEN_MAX_TEXT = 1024;
/** Most evaluations in one Access Evaluations request. */
export const AUTHZEN_MAX_EVALUATIONS = 64;

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= AUTHZEN_MAX_TEXT;

class Problem extends Error {}
const fail = (problem: string): never => {
  throw new Problem(problem);
};

function entity(v: unknown, where: string): AuthzenEntity {
  if (!isObject(v)) return fail(`"${where}" must be an object with "type" and "id".`);
  if (!isText(v['type'])) fail(`"${where}.type" is required: a string of 1-1024 characters.`);
  if (!isText(v['id'])) fail(`"${where}.id" is required: a string of 1-1024 characters.`);
  const properties = v['properties'];
  if (properties !== undefined && !isObject(properties)) {
    fail(`"${where}.properties" must be an object.`);
  }
  return {
    type: v['type'] as string,
    id: v['id'] as string,
    ...(properties === undefined ? {} : { properties: properties as JsonObject }),
  };
}

function action(v: unknown, where: string): AuthzenAction {
  if (!isObject(v)) return fail(`"${where}" must be an object with a "name".`);
  if (!isText(v['name'])) fail(`"${where}.name" is required: a string of 1-1024 characters.`);
  const properties = v['properties'];
  if (properties !== undefined && !isObject(properties)) {
    fail(`"${where}.properties" must be an object.`);
  }
  return {
    name: v['name'] as string,
    ...(properties === undefined ? {} : { properties: properties as JsonObject }),
  };
}

function context(v: unknown, where: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return fail(`"${where}" must be an object.`);
  return v;
}

function evaluation(
  v: JsonObject,
  where: string,
  defaults: Partial<Record<'subject' | 'action' | 'resource' | 'context', unknown>> = {},
): AuthzenEvaluation {
  const pick = (k: 'subject' | 'action' | 'resource' | 'context') =>
    v[k] !== undefined ? { value: v[k], at: `${where}${k}` } : { value: defaults[k], at: k };
  const s = pick('subject');
  const a = pick('action');
  const r = pick('resource');
  const c = pick('context');
  if (s.value === undefined) fail(`"${s.at}" is required (in the evaluation or as a default).`);
  if (a.value === undefined) fail(`"${a.at}" is required (in the evaluation or as a default).`);
  if (r.value === undefined) fail(`"${r.at}" is required (in the evaluation or as a default).`);
  const ctx = context(c.value, c.at);
  return {
    subject: entity(s.value, s.at),
    action: action(a.value, a.at),
    resource: entity(r.value, r.at),
    ...(ctx === undefined ? {} : { context: ctx }),
  };
}

function parsed<T>(run: () => T): Parsed<T> {
  try {
    return { ok: true, value: run() };
  } catch (e) {
    if (e instanceof Problem) return { ok: false, problem: e.message };
    throw e;
  }
}

/** An Access Evaluation request body (§6.1): unknown members are ignored (§10.1.1). */
export function parseEvaluationRequest(body: unknown): Parsed<AuthzenEvaluation> {
  return parsed(() => {
    if (!isObject(body)) return fail('The body must be a JSON object (an evaluation request).');
    return evaluation(body, '');
  });
}

/**
 * An Access Evaluations request body (§7.1): each entry of `evaluations` takes the top-level
 * `subject`, `action`, `resource` and `context` it lacks; without entries it is one evaluation
 * (the single request, backwards compatible). `options.evaluations_semantic` defaults to
 * `execute_all`; any other value than the three is refused.
 */
export function parseEvaluationsRequest(body: unknown): Parsed<AuthzenEvaluations> {
  return parsed(() => {
    if (!isObject(body)) return fail('The body must be a JSON object (an evaluations request).');
    const options = body['options'];
    if (options !== undefined && !isObject(options)) fail('"options" must be an object.');
    const s = (options as JsonObject | undefined)?.['evaluations_semantic'] ?? 'execute_all';
    if (!(EVALUATIONS_SEMANTICS as readonly unknown[]).includes(s)) {
      fail(`"options.evaluations_semantic" must be one of ${EVALUATIONS_SEMANTICS.join(', ')}.`);
    }
    const list = body['evaluations'];
    if (list !== undefined && !Array.isArray(list)) fail('"evaluations" must be an array.');
    const entries = (list ?? []) as JsonValue[];
    if (entries.length > AUTHZEN_MAX_EVALUATIONS) {
      fail(`At most ${AUTHZEN_MAX_EVALUATIONS} evaluations in one request.`);
    }
    const semantic = s as EvaluationsSemantic;
    if (entries.length === 0) return { evaluations: [evaluation(body, '')], semantic };
    const defaults = {
      subject: body['subject'],
      action: body['action'],
      resource: body['resource'],
      context: body['context'],
    };
    return {
      evaluations: entries.map((e, i) => {
        if (!isObject(e)) return fail(`"evaluations[${i}]" must be an object.`);
        return evaluation(e, `evaluations[${i}].`, defaults);
      }),
      semantic,
    };
  });
}

/** A Decision (§5.5) as a PDP answered it: `decision` a boolean, `context` an object if present. */
export function parseDecision(body: unknown): Parsed<AuthzenDecision> {
  return parsed(() => decision(body, 'The answer'));
}

function decision(v: unknown, where: string): AuthzenDecision {
  if (!isObject(v)) return fail(`${where} is not a JSON object.`);
  if (typeof v['decision'] !== 'boolean') fail(`${where} has no boolean "decision".`);
  const ctx = v['context'];
  if (ctx !== undefined && ctx !== null && !isObject(ctx)) {
    fail(`${where}'s "context" is not an object.`);
  }
  return {
    decision: v['decision'] as boolean,
    ...(isObject(ctx) ? { context: ctx } : {}),
  };
}

/**
 * An Access Evaluations answer (§7.2) to `sent` evaluations under `semantic`: all of them for
 * `execute_all`, else up to and including the first deny (or permit) that short-circuits.
 */
export function parseDecisions(
  body: unknown,
  sent: number,
  semantic: EvaluationsSemantic,
): Parsed<AuthzenDecision[]> {
  return parsed(() => {
    if (!isObject(body) || !Array.isArray(body['evaluations'])) {
      return fail('The answer has no "evaluations" array.');
    }
    const list = body['evaluations'].map((d, i) => decision(d, `evaluations[${i}]`));
    const stop = semantic === 'deny_on_first_deny' ? false : true;
    const cut = semantic === 'execute_all' ? -1 : list.findIndex((d) => d.decision === stop);
    const expected = cut < 0 || semantic === 'execute_all' ? sent : cut + 1;
    if (list.length !== expected || list.length > sent) {
      fail(`The answer holds ${list.length} decisions for ${sent} evaluations (${semantic}).`);
    }
    return list;
  });
}

/**
 * PDP metadata (§9.3) fetched from `expected`'s well-known URL: `policy_decision_point` must be
 * `expected` exactly (§9.4, against PDP mix-up), the endpoints absolute URLs.
 */
export function parseMetadata(body: unknown, expected: string): Parsed<AuthzenMetadata> {
  return parsed(() => {
    if (!isObject(body)) return fail('The metadata is not a JSON object.');
    if (body['policy_decision_point'] !== expected) {
      fail(
        `The metadata names policy_decision_point ${JSON.stringify(body['policy_decision_point'])}, not ${expected}.`,
      );
    }
    const url = (k: string, required: boolean): string | undefined => {
      const v = body[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string' || !/^https?:\/\//.test(v)) fail(`"${k}" is not an http(s) URL.`);
      try {
        new URL(v as string);
      } catch {
        fail(`"${k}" is not a URL.`);
      }
      return v as string;
    };
    const single = url('access_evaluation_endpoint', true)!;
    const boxcar = url('access_evaluations_endpoint', false);
    const caps = body['capabilities'];
    return {
      policy_decision_point: expected,
      access_evaluation_endpoint: single,
      ...(boxcar === undefined ? {} : { access_evaluations_endpoint: boxcar }),
      ...(Array.isArray(caps) && caps.every((c) => typeof c === 'string')
        ? { capabilities: caps as string[] }
        : {}),
    };
  });
}

/** The PDP identifier (§9.1.1): the URL without a trailing slash, query or fragment. */
export function pdpIdentifier(url: string): string {
  const u = new URL(url);
  if (u.search !== '' || u.hash !== '') {
    throw new TypeError('A PDP identifier has no query or fragment.');
  }
  return u.href.replace(/\/+$/, '');
}

/** `pdp`'s well-known metadata URL (§9.2): the suffix inserted between host and path. */
export function metadataUrl(pdp: string): string {
  const u = new URL(pdp);
  const path = u.pathname === '/' ? '' : u.pathname;
  return `${u.origin}${AUTHZEN_METADATA_PATH}${path}`;
}

/** Whether `value` is a request identifier this implementation takes: 1-256 visible ASCII. */
export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e]{1,256}$/.test(value);
}
