/**
 * The claims of a Provenant credential (DESIGN.md "Identity model"), and the RFC 8693 `act`
 * claim that carries its delegation chain: the outermost `act` is the current actor, each inner
 * `act` the one before it.
 */
import { CredentialError } from './errors.js';

/** RFC 8693 §4.1 actor claim. */
export interface ActClaim {
  sub: string;
  act?: ActClaim;
}

/** The ID token a credential's chain is rooted in (the `id_token` claim). */
export interface IdTokenRef {
  iss: string;
  jti: string;
}

export interface CredentialClaims {
  iss: string;
  /** The principal on whose behalf: the root initiator. */
  sub: string;
  aud: string | string[];
  iat: number;
  nbf?: number;
  exp: number;
  jti: string;
  /** Space-separated OAuth scopes. */
  scope: string;
  task_id?: string;
  /** The delegation chain; absent when the subject acts for itself. */
  act?: ActClaim;
  /** RFC 8693 §4.4: the only principal this credential may be exchanged to. */
  may_act?: { sub: string };
  /** jtis of the credentials this one was exchanged from, root first. */
  ancestors?: string[];
  /**
   * Those of `ancestors` that were addressed to an agent (RFC 8693 `audience`): each kept the
   * chain as it was, so it is no hop of its own.
   */
  addressed?: string[];
  /**
   * A chain rooted in an OIDC provider's ID token: names that token (never holds it), its
   * issuer and its id (its `jti`, else `id_token:<SHA-256 hex of the token>`). Set by the
   * issuer on the credential an ID token was exchanged for and kept through every later
   * exchange; never in `ancestors` (the ID token is no Provenant credential).
   */
  id_token?: IdTokenRef;
  /** RFC 9068 §7.2.1.1: the registry roles of the holder (at most `producer` when delegated). */
  roles?: string[];
}

/**
 * The actors of an `act` claim, outermost (the current actor) first. Walks the nesting with a
 * loop, never recursion, and stops as soon as the chain is longer than `maxDepth`
 * (`act_too_deep`), so an adversarial claim nested thousands deep costs `maxDepth` steps. A level
 * that is not an object with a non-empty string `sub` is `malformed_token`.
 */
export function actChain(act: unknown, maxDepth: number): string[] {
  const actors: string[] = [];
  let level = act;
  while (level !== undefined) {
    if (actors.length >= maxDepth) {
      throw new CredentialError(
        'act_too_deep',
        `The delegation chain (act claim) is deeper than ${maxDepth}.`,
        { claim: 'act', maxDepth },
      );
    }
    if (typeof level !== 'object' || level === null || Array.isArray(level)) {
      throw new CredentialError('malformed_token', 'An act claim is not a JSON object.', {
        claim: 'act',
      });
    }
    const { sub } = level as { sub?: unknown };
    if (typeof sub !== 'string' || sub.length === 0) {
      throw new CredentialError('malformed_token', 'An act claim has no "sub".', { claim: 'act' });
    }
    actors.push(sub);
    level = (level as { act?: unknown }).act;
  }
  return actors;
}

/** The nested `act` claim for actors listed outermost (current) first; undefined for none. */
export function nestAct(actorsOutermostFirst: readonly string[]): ActClaim | undefined {
  let act: ActClaim | undefined;
  for (let i = actorsOutermostFirst.length - 1; i >= 0; i--) {
    const sub = actorsOutermostFirst[i]!;
    act = act === undefined ? { sub } : { sub, act };
  }
  return act;
}
