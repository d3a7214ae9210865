/** What a credential says, decoded (not verified: it came from the issuer over our connection). */
import type { Actor, Principal } from '@provenant/core';
import { decodeJwt } from 'jose';
import { InvalidIdentityError } from '../errors.js';

type PrincipalKind = Principal['kind'];

export interface CredentialInfo {
  readonly token: string;
  /** The root initiator (`sub`). */
  readonly subject: string;
  /** The current actor: the outermost `act.sub`, or `sub` itself. */
  readonly actor: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly scope: readonly string[];
  readonly taskId: string | undefined;
  /** Actors root first (without the subject). */
  readonly chain: readonly string[];
}

export function decodeCredential(token: string): CredentialInfo {
  const claims = decodeJwt(token);
  const actors: string[] = [];
  let act = claims['act'] as { sub?: unknown; act?: unknown } | undefined;
  while (act && typeof act === 'object') {
    if (typeof act.sub === 'string') actors.push(act.sub);
    act = act.act as typeof act | undefined;
  }
  const sub = claims.sub;
  if (typeof sub !== 'string' || typeof claims.jti !== 'string') {
    throw new InvalidIdentityError('The credential has no sub or jti.');
  }
  const scope =
    typeof claims['scope'] === 'string' ? claims['scope'].split(' ').filter(Boolean) : [];
  const taskId = typeof claims['task_id'] === 'string' ? claims['task_id'] : undefined;
  return {
    token,
    subject: sub,
    actor: actors[0] ?? sub,
    jti: claims.jti,
    iat: claims.iat ?? 0,
    exp: claims.exp ?? 0,
    scope,
    taskId,
    chain: actors.reverse(),
  };
}

/** The kind a principal id names by its form (DESIGN.md "Principal ids"). */
export function kindOfId(id: string): PrincipalKind {
  if (id.startsWith('user:')) return 'human';
  if (id.startsWith('workflow:')) return 'workflow';
  if (id.startsWith('sa:')) return 'service_account';
  if (id.startsWith('service:')) return 'service';
  if (id.startsWith('spiffe://')) return id.includes('/instance/') ? 'agent_instance' : 'agent';
  // OIDC `iss#sub` and other URIs: people signed in through a trusted provider.
  return 'human';
}

const SPIFFE_AGENT = /^spiffe:\/\/[^/]+\/agent\/([^/]+)\/instance\/([^/]+)$/;

/** The actor block of a record for a principal, with agent name and instance read from its id. */
export function actorOf(id: string, agent?: { name?: string; version?: string }): Actor {
  const m = SPIFFE_AGENT.exec(id);
  const actor: Actor = { id, kind: kindOfId(id) };
  const name = agent?.name ?? m?.[1];
  if (name !== undefined) actor.agent = name;
  if (agent?.version !== undefined) actor.version = agent.version;
  if (m?.[2] !== undefined) actor.instance = m[2];
  return actor;
}
