/** What a credential says, decoded (not verified: it came from the issuer over our connection). */
import type { Actor } from '@provenant/core';
import { recordedKind, spiffeAgentParts } from '@provenant/core/vocabulary';
import { decodeJwt } from 'jose';
import { InvalidIdentityError } from '../errors.js';

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

/** The actor block of a record for a principal, with agent name and instance read from its id. */
export function actorOf(id: string, agent?: { name?: string; version?: string }): Actor {
  const parts = spiffeAgentParts(id);
  const actor: Actor = { id, kind: recordedKind(id) };
  const name = agent?.name ?? parts?.agent;
  if (name !== undefined) actor.agent = name;
  if (agent?.version !== undefined) actor.version = agent.version;
  if (parts?.instance !== undefined) actor.instance = parts.instance;
  return actor;
}
