/**
 * The rules of RFC 8693 token exchange, as a pure function: given a verified subject credential
 * and the authenticated new actor, what may be granted — or which rule refuses.
 */
import { MAX_CREDENTIAL_LIFETIME_SEC } from '@provenant/core';
import { DelegationError } from './errors.js';
import { normalizeScopes } from './lib/scope.js';
import type { Principal, PrincipalDirectory } from './principals.js';
import type { VerifiedCredential } from './verify.js';

export { DelegationError, type DelegationErrorCode } from './errors.js';

export interface ExchangePolicy {
  /** Lifetime of a granted credential when none is requested, in seconds (300). */
  defaultLifetimeSec: number;
  /** Longest lifetime that may be requested, in seconds (3600; never more). */
  maxLifetimeSec: number;
  /** Most actors in a chain (4). */
  maxChainDepth: number;
}

/** The hard ceiling on any credential's lifetime, whatever is configured. */
export { MAX_CREDENTIAL_LIFETIME_SEC };

export const DEFAULT_EXCHANGE_POLICY: Readonly<ExchangePolicy> = Object.freeze({
  defaultLifetimeSec: 300,
  maxLifetimeSec: MAX_CREDENTIAL_LIFETIME_SEC,
  maxChainDepth: 4,
});

/**
 * Checks a configured policy, throwing `TypeError` for one that breaks the hard limits: a
 * maximum lifetime above 3600 s, a default above the maximum, a depth below 1.
 */
export function checkExchangePolicy(policy: ExchangePolicy): ExchangePolicy {
  const { defaultLifetimeSec, maxLifetimeSec, maxChainDepth } = policy;
  if (
    !Number.isSafeInteger(maxLifetimeSec) ||
    maxLifetimeSec < 1 ||
    maxLifetimeSec > MAX_CREDENTIAL_LIFETIME_SEC
  ) {
    throw new TypeError(
      `maxLifetimeSec must be a whole number of seconds in 1..${MAX_CREDENTIAL_LIFETIME_SEC}.`,
    );
  }
  if (
    !Number.isSafeInteger(defaultLifetimeSec) ||
    defaultLifetimeSec < 1 ||
    defaultLifetimeSec > maxLifetimeSec
  ) {
    throw new TypeError(
      'defaultLifetimeSec must be a whole number of seconds in 1..maxLifetimeSec.',
    );
  }
  if (!Number.isSafeInteger(maxChainDepth) || maxChainDepth < 1 || maxChainDepth > 32) {
    throw new TypeError('maxChainDepth must be a whole number in 1..32.');
  }
  return policy;
}

export interface ExchangeInput {
  subject: VerifiedCredential;
  /** The authenticated new actor (from its client assertion). */
  actor: Principal;
  directory: PrincipalDirectory;
  /** Absent: inherit the subject's scopes. Present: must be a subset of them (may be empty). */
  requestedScope?: readonly string[];
  requestedLifetimeSec?: number;
  /** Unix ms. */
  now: number;
  policy: ExchangePolicy;
}

export interface ExchangePlan {
  /** The root initiator, unchanged. */
  sub: string;
  /** The new chain, the new actor first (outermost). */
  actors: string[];
  scope: string[];
  /** Unix seconds. */
  iat: number;
  /** Unix seconds, never after the subject's `exp`. */
  exp: number;
  /** The subject's ancestors plus the subject's own jti, root first. */
  ancestors: string[];
  parentJti: string;
}

/**
 * Decides a token exchange. Refusals (`DelegationError`): `subject_expired`; `invalid_lifetime`
 * (requested lifetime not a whole number in 1..policy max); `principal_disabled` /
 * `principal_unknown` (the subject's principal disabled, an intermediate actor disabled or no
 * longer registered, the new actor disabled); `chain_too_deep`; `delegation_cycle` (a principal
 * twice in `[sub, ...actors, newActor]`); `may_act_refused` (the subject token's `may_act`, or
 * the root principal's `mayAct` list, does not name the new actor); `invalid_scope` (a requested
 * scope the subject does not hold: scopes only narrow).
 */
export function planExchange(input: ExchangeInput): ExchangePlan {
  const { subject, actor, directory, policy } = input;
  const nowSec = Math.floor(input.now / 1000);

  if (subject.exp <= nowSec) {
    throw new DelegationError('subject_expired', 'The subject credential has expired.');
  }

  const lifetime = input.requestedLifetimeSec ?? policy.defaultLifetimeSec;
  if (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > policy.maxLifetimeSec) {
    throw new DelegationError(
      'invalid_lifetime',
      `The requested lifetime must be a whole number of seconds in 1..${policy.maxLifetimeSec}.`,
      { maxLifetimeSec: policy.maxLifetimeSec },
    );
  }

  const root = directory.get(subject.subject);
  if (root?.disabled === true) {
    throw new DelegationError('principal_disabled', 'The subject (root initiator) is disabled.', {
      principal: subject.subject,
    });
  }
  for (const id of subject.actors) {
    const p = directory.get(id);
    if (p === undefined) {
      throw new DelegationError(
        'principal_unknown',
        "An actor of the subject's chain is not registered.",
        {
          principal: id,
        },
      );
    }
    if (p.disabled) {
      throw new DelegationError(
        'principal_disabled',
        "An actor of the subject's chain is disabled.",
        {
          principal: id,
        },
      );
    }
  }
  if (actor.disabled) {
    throw new DelegationError('principal_disabled', 'The new actor is disabled.', {
      principal: actor.id,
    });
  }

  const actors = [actor.id, ...subject.actors];
  if (actors.length > policy.maxChainDepth) {
    throw new DelegationError(
      'chain_too_deep',
      `The delegation chain would be longer than ${policy.maxChainDepth}.`,
      { maxChainDepth: policy.maxChainDepth },
    );
  }
  const chain = [subject.subject, ...subject.actors, actor.id];
  if (new Set(chain).size !== chain.length) {
    throw new DelegationError(
      'delegation_cycle',
      'A principal would appear twice in the delegation chain.',
      {
        principal: actor.id,
      },
    );
  }

  const mayActSub = subject.claims.may_act?.sub;
  if (mayActSub !== undefined && mayActSub !== actor.id) {
    throw new DelegationError(
      'may_act_refused',
      'The subject credential may only be exchanged to another actor (may_act).',
      {
        principal: actor.id,
      },
    );
  }
  if (root?.mayAct !== undefined && !root.mayAct.includes(actor.id)) {
    throw new DelegationError(
      'may_act_refused',
      'The subject does not allow this actor to act on its behalf.',
      {
        principal: actor.id,
      },
    );
  }

  let scope = [...subject.scope];
  if (input.requestedScope !== undefined) {
    const requested = normalizeScopes(input.requestedScope);
    if (requested === undefined) {
      throw new DelegationError(
        'invalid_scope',
        'The requested scope is not a list of OAuth scope tokens.',
      );
    }
    const notHeld = requested.filter((s) => !subject.scope.includes(s));
    if (notHeld.length > 0) {
      throw new DelegationError(
        'invalid_scope',
        "The requested scope is wider than the subject's: scopes can only narrow.",
        {
          notHeld,
        },
      );
    }
    scope = requested;
  }

  return {
    sub: subject.subject,
    actors,
    scope,
    iat: nowSec,
    exp: Math.min(subject.exp, nowSec + lifetime),
    ancestors: [...subject.ancestors, subject.jti],
    parentJti: subject.jti,
  };
}
