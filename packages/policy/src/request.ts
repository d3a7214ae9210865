/**
 * Builds the authorization question from a VERIFIED credential: who acts, for whom, through which
 * chain and with which scopes comes from the credential the issuer signed, never from what a
 * record or its sender claims. Only the action itself (name, resource, class, risk) is the
 * caller's to describe.
 */
import type { JsonValue } from '@provenant/core';
import { ACTION_CLASS_FLAGS, type ActionClassFlags, impliedKind } from '@provenant/core';
import type { PrincipalDirectory, PrincipalKind } from '@provenant/identity';
import type { CedarEntity, DecisionRequest, EntityUid } from './engine.js';

/** The action to decide on, as the caller describes it. */
export interface ActionInput {
  /** e.g. `github.delete_repo`: the Cedar action `Provenant::Action::"github.delete_repo"`. */
  name: string;
  /** e.g. `repo:acme/payments`: the Cedar resource `Provenant::Resource::"repo:acme/payments"`. */
  resource: string;
  /** Absent: all three flags are false in the context (and fail-open never applies). */
  class?: ActionClassFlags;
  risk?: 'low' | 'medium' | 'high' | 'critical';
  /** Used only when the credential names no task: the credential's `task_id` wins. */
  taskId?: string;
}

/**
 * Who a decision is for: what `buildDecisionRequest` reads of a verified credential. A
 * `VerifiedCredential` is one; the AuthZEN facade builds one from what a trusted PEP asserted.
 */
export interface DecisionAuthority {
  /** The root initiator. */
  readonly subject: string;
  /** The actors, the current one first. */
  readonly actors: readonly string[];
  /** Root first. */
  readonly chain: readonly string[];
  readonly scope: readonly string[];
  readonly jti: string;
  readonly claims: { readonly task_id?: string | undefined };
}

/** The Cedar entity type of each principal kind. */
export const PRINCIPAL_ENTITY_TYPES: Readonly<Record<PrincipalKind, string>> = Object.freeze({
  human: 'Provenant::User',
  agent: 'Provenant::Agent',
  agent_instance: 'Provenant::AgentInstance',
  service: 'Provenant::Service',
  workflow: 'Provenant::Workflow',
  service_account: 'Provenant::ServiceAccount',
});
/** The entity type of a principal whose kind is neither registered nor implied by its id. */
export const UNKNOWN_PRINCIPAL_TYPE = 'Provenant::UnknownPrincipal';
/** An agent definition (`Provenant::Agent::"researcher"`); a versioned one is in its base. */
export const AGENT_TYPE = 'Provenant::Agent';
export const ACTION_TYPE = 'Provenant::Action';
export const RESOURCE_TYPE = 'Provenant::Resource';

const SPIFFE_AGENT = /^spiffe:\/\/[^/]+\/agent\/([^/]+)\/instance\/[^/]+$/;

/**
 * The request for `action` by the credential's current actor (`actors[0]`, or the subject when
 * nobody acts for it), at `now` (Unix ms).
 *
 * - principal: the actor's entity, typed by its kind (`Provenant::AgentInstance`, …); its parents
 *   are its agent definition and the initiator, so `principal in Provenant::User::"user:alice"`
 *   and `principal in Provenant::Agent::"researcher"` hold.
 * - context: `initiator`, `initiator_kind`, `delegation_depth` (how many actors), `chain` (ids,
 *   root first), `scopes`, `privileged`, `irreversible`, `external`, `risk`, `task_id`, `time`
 *   (Unix seconds).
 * - entities: the principal, its agent definition(s), the initiator and the resource.
 */
export function buildDecisionRequest(
  credential: DecisionAuthority,
  action: ActionInput,
  directory: PrincipalDirectory,
  now: number,
): DecisionRequest {
  if (typeof action.name !== 'string' || action.name === '') {
    throw new TypeError('The action needs a non-empty name.');
  }
  if (typeof action.resource !== 'string' || action.resource === '') {
    throw new TypeError('The action needs a non-empty resource.');
  }
  if (!Number.isFinite(now)) throw new TypeError('now must be a time in Unix milliseconds.');

  const initiatorId = credential.subject;
  const actorId = credential.actors[0] ?? credential.subject;
  const entities = new Map<string, CedarEntity>();
  const add = (e: CedarEntity): void => {
    entities.set(`${e.uid.type}::${JSON.stringify(e.uid.id)}`, e);
  };

  const initiator = principalEntity(initiatorId, directory);
  const principal = principalEntity(actorId, directory);
  if (actorId !== initiatorId) {
    add(initiator.entity);
    principal.entity.parents.push(initiator.entity.uid);
  }
  if (principal.kind === 'agent_instance') {
    const agents = agentEntities(actorId, directory);
    for (const agent of agents) add(agent);
    if (agents[0] !== undefined) principal.entity.parents.unshift(agents[0].uid);
  }
  add(principal.entity);

  const resource: CedarEntity = {
    uid: { type: RESOURCE_TYPE, id: action.resource },
    attrs: { name: action.resource },
    parents: [],
  };
  add(resource);

  const taskId = credential.claims.task_id ?? action.taskId;
  const context: Record<string, JsonValue> = {
    initiator: initiatorId,
    initiator_kind: initiator.kind ?? 'unknown',
    delegation_depth: credential.actors.length,
    chain: [...credential.chain],
    scopes: [...credential.scope],
    ...Object.fromEntries(ACTION_CLASS_FLAGS.map((f) => [f, action.class?.[f] === true])),
    ...(action.risk !== undefined ? { risk: action.risk } : {}),
    ...(taskId !== undefined ? { task_id: taskId } : {}),
    time: Math.floor(now / 1000),
  };

  return {
    principal: principal.entity.uid,
    action: { type: ACTION_TYPE, id: action.name },
    resource: resource.uid,
    context,
    entities: [...entities.values()],
  };
}

/** The principal's kind: the registry's, else what its id implies, else undefined. */
function kindOf(id: string, directory: PrincipalDirectory): PrincipalKind | undefined {
  return directory.get(id)?.kind ?? impliedKind(id);
}

function principalEntity(
  id: string,
  directory: PrincipalDirectory,
): { kind: PrincipalKind | undefined; entity: CedarEntity } {
  const kind = kindOf(id, directory);
  const type = kind === undefined ? UNKNOWN_PRINCIPAL_TYPE : PRINCIPAL_ENTITY_TYPES[kind];
  const attrs: Record<string, JsonValue> = {};
  // A service account several callers share: attribution through it is only "pooled".
  if (kind === 'service_account') attrs['shared'] = directory.get(id)?.shared === true;
  return { kind, entity: { uid: { type, id }, attrs, parents: [] } };
}

/** The agent definition an instance runs: the registry's (`planner@3`), else its SPIFFE path's. */
function agentDefinition(id: string, directory: PrincipalDirectory): string | undefined {
  const registered = directory.get(id)?.agent;
  if (registered !== undefined && registered !== '') return registered;
  return SPIFFE_AGENT.exec(id)?.[1];
}

/**
 * `Provenant::Agent::"planner@3"` in `Provenant::Agent::"planner"` for a versioned definition, so
 * a policy can name an agent with or without its version; just the one entity otherwise.
 */
function agentEntities(id: string, directory: PrincipalDirectory): CedarEntity[] {
  const definition = agentDefinition(id, directory);
  if (definition === undefined) return [];
  const at = definition.indexOf('@');
  if (at <= 0) return [{ uid: { type: AGENT_TYPE, id: definition }, attrs: {}, parents: [] }];
  const base: EntityUid = { type: AGENT_TYPE, id: definition.slice(0, at) };
  return [
    { uid: { type: AGENT_TYPE, id: definition }, attrs: {}, parents: [base] },
    { uid: base, attrs: {}, parents: [] },
  ];
}
