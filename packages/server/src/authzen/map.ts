/**
 * From an AuthZEN evaluation (subject, action, resource, context) to the decision point's
 * question: who it is for (a `DecisionAuthority`) and the action (`ActionInput`).
 *
 * - With the caller's verified credential, the authority IS the credential: the subject the PEP
 *   names must be the credential's current actor or its subject (initiator), or the request is
 *   refused (`subject_mismatch`); nothing else of the PEP's subject or context reaches policy.
 * - With the admin token the caller is a trusted PEP (AuthZEN §12.4 "Trust"): the subject,
 *   and the initiator, chain, scopes and task in `context`, are what it asserts; the record says
 *   so (`policy.authzen.subject: "pep"`).
 */
import { ACTION_CLASS_FLAGS, uuidv7 } from '@provenant/core';
import type { JsonValue } from '@provenant/core';
import type { AuthzenEntity, AuthzenEvaluation } from '@provenant/core/authzen';
import type { VerifiedCredential } from '@provenant/identity';
import type { ActionInput, DecisionAuthority } from '@provenant/policy';
import { RequestError } from '../errors.js';

/** The Cedar entity type a resource id is taken verbatim for (what the `authzen` engine sends). */
export const PROVENANT_RESOURCE_TYPE = 'Provenant::Resource';
/** AuthZEN action names: the decision point's, plus `/` (COAZ-MCP's `tools/call`). */
export const AUTHZEN_ACTION_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;
const RISKS = new Set(['low', 'medium', 'high', 'critical']);
const MAX_CHAIN = 8;
const MAX_SCOPES = 64;

/**
 * The Provenant principal id a subject names: its `id` for the types `identity` (COAZ-MCP's
 * `$token.sub`) and `Provenant::…` (Cedar entity types), else `<type>:<id>` (`user` +
 * `alice@example.com` is `user:alice@example.com`).
 */
export function principalOf(subject: AuthzenEntity): string {
  return subject.type === 'identity' || subject.type.startsWith('Provenant::')
    ? subject.id
    : `${subject.type}:${subject.id}`;
}

/** The Provenant resource a resource names: `<type>:<id>` (`document` + `1` is `document:1`). */
export function resourceOf(resource: AuthzenEntity): string {
  const r =
    resource.type === PROVENANT_RESOURCE_TYPE ? resource.id : `${resource.type}:${resource.id}`;
  if (r.length > 1024) throw invalid('The resource (type:id) is longer than 1024 characters.');
  return r;
}

const invalid = (message: string) => new RequestError('invalid_evaluation_request', message);

/** The action as the PEP describes it: its name, `properties` class flags and risk. */
export function actionOf(e: AuthzenEvaluation): ActionInput {
  const name = e.action.name;
  if (!AUTHZEN_ACTION_PATTERN.test(name)) {
    throw invalid('"action.name" must be 1-128 letters, digits and _ . : / -.');
  }
  const p = e.action.properties ?? {};
  const flags = ACTION_CLASS_FLAGS.map((f) => p[f]);
  if (flags.some((v) => v !== undefined && typeof v !== 'boolean')) {
    throw invalid(`"action.properties" ${ACTION_CLASS_FLAGS.join(', ')} must be booleans.`);
  }
  const risk = p['risk'];
  if (risk !== undefined && (typeof risk !== 'string' || !RISKS.has(risk))) {
    throw invalid('"action.properties.risk" must be low, medium, high or critical.');
  }
  const taskId = e.context?.['task_id'];
  if (
    taskId !== undefined &&
    (typeof taskId !== 'string' || taskId === '' || taskId.length > 1024)
  ) {
    throw invalid('"context.task_id" must be a string of 1-1024 characters.');
  }
  return {
    name,
    resource: resourceOf(e.resource),
    ...(flags.some((v) => v !== undefined)
      ? {
          class: {
            privileged: p['privileged'] === true,
            irreversible: p['irreversible'] === true,
            external: p['external'] === true,
          },
        }
      : {}),
    ...(risk === undefined ? {} : { risk: risk as NonNullable<ActionInput['risk']> }),
    ...(taskId === undefined ? {} : { taskId }),
  };
}

/**
 * Refuses unless `subject` names the credential's current actor or its subject. Either way the
 * decision is about the credential's current actor, acting for its subject.
 */
export function checkSubject(subject: AuthzenEntity, credential: VerifiedCredential): void {
  const actor = credential.actors[0] ?? credential.subject;
  const named = principalOf(subject);
  const ok = [actor, credential.subject].some((p) => p === named || p === subject.id);
  if (!ok) {
    throw new RequestError(
      'subject_mismatch',
      `The subject ${JSON.stringify(named)} is not the credential's (${actor}${actor === credential.subject ? '' : ` for ${credential.subject}`}).`,
    );
  }
}

const strings = (v: JsonValue | undefined, max: number, what: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (
    !Array.isArray(v) ||
    v.length > max ||
    !v.every((s) => typeof s === 'string' && s !== '' && s.length <= 1024)
  ) {
    throw invalid(`"context.${what}" must be a list of at most ${max} strings.`);
  }
  return v as string[];
};

/**
 * What a trusted PEP asserts: the subject is the acting principal; `context.initiator` (default
 * the subject), `context.chain` (root first, ending with the subject; default initiator then
 * subject), `context.scopes` and `context.task_id`.
 */
export function assertedAuthority(e: AuthzenEvaluation, requestId?: string): DecisionAuthority {
  const principal = principalOf(e.subject);
  const c = e.context ?? {};
  const initiator = c['initiator'] ?? principal;
  if (typeof initiator !== 'string' || initiator === '' || initiator.length > 1024) {
    throw invalid('"context.initiator" must be a principal id.');
  }
  const chain =
    strings(c['chain'], MAX_CHAIN, 'chain') ??
    (initiator === principal ? [principal] : [initiator, principal]);
  if (chain.length === 0 || chain[0] !== initiator || chain.at(-1) !== principal) {
    throw invalid('"context.chain" must start with the initiator and end with the subject.');
  }
  const scope = strings(c['scopes'], MAX_SCOPES, 'scopes') ?? [];
  const taskId = c['task_id'];
  return {
    subject: initiator,
    actors: chain.slice(1).reverse(),
    chain,
    scope,
    // No credential: the decision names the PEP's request instead.
    jti: `authzen-pep:${requestId ?? uuidv7()}`,
    claims: typeof taskId === 'string' ? { task_id: taskId } : {},
  };
}
