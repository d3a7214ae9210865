/**
 * Attribution at ingest (DESIGN.md "Attribution levels"), as pure functions: how far a record's
 * claimed identity is backed by the credential it was sent with, and the level its action class
 * requires.
 */
import { ACTION_CLASS_FLAGS, type ActionClassFlag, ATTRIBUTION_LEVELS } from '@provenant/core';
import type { AttributionLevel, DelegationHop, EventRecord } from '@provenant/core';
import { impliedKind, type PrincipalDirectory, type PrincipalKind } from './principals.js';
import type { VerifiedCredential } from './verify.js';

export type { AttributionLevel };

export type AttributionResult =
  | {
      ok: true;
      level: AttributionLevel;
      reasons: string[];
      /** The chain's hops from the credential, root first, when the record had none. */
      delegation?: DelegationHop[];
      /** The credential's initiator, when the record named none. */
      initiator?: { id: string; kind: PrincipalKind };
      /** The credential's current actor, when the record named none. */
      actor?: { id: string; kind: PrincipalKind };
    }
  | {
      ok: false;
      code: 'attribution_mismatch';
      message: string;
      /** Which part of the record contradicted the credential. */
      field: 'initiator' | 'actor' | 'delegation' | 'time' | 'credential' | 'task_id';
      /** Who really holds the credential. */
      realHolder: { initiator: string; actor: string };
    };

/**
 * Compares a record with the verified credential it came with.
 *
 * - No credential: `asserted` when the record names an initiator and an actor, else
 *   `unattributed`.
 * - With one, any contradiction is a mismatch naming the credential's real initiator and actor:
 *   `initiator.id` ≠ `sub`; `actor.id` ≠ the current actor (outermost `act`, or `sub` when there
 *   is none); `delegation` not exactly the chain's hops root first (`from`/`to`, and each hop's
 *   `jti` when given; the last hop's `scope` when given); `time` outside `[iat − skew, exp + skew]`;
 *   `credential.jti`/`iss`/`iat`/`exp` not the credential's; `task_id` not the credential's.
 *   A principal kind that contradicts the registry is a mismatch too.
 * - Otherwise: `pooled` (reason `shared_account`) when the current actor is a shared
 *   `service_account`, with `claimed_enrichment` when the record adds `actor.instance`,
 *   `actor.agent` or `task_id` the credential cannot vouch for; else `verified`.
 */
export function attribute(
  record: EventRecord,
  credential: VerifiedCredential | null,
  directory: PrincipalDirectory,
  opts: { skewSec: number },
): AttributionResult {
  if (credential === null) {
    if (record.initiator !== undefined && record.actor !== undefined) {
      return { ok: true, level: 'asserted', reasons: ['no_credential'] };
    }
    const reasons = ['no_credential'];
    if (record.initiator === undefined) reasons.push('no_initiator');
    if (record.actor === undefined) reasons.push('no_actor');
    return { ok: true, level: 'unattributed', reasons };
  }

  const initiator = credential.subject;
  const actor = credential.actors[0] ?? credential.subject;
  const realHolder = { initiator, actor };
  const mismatch = (
    field: Extract<AttributionResult, { ok: false }>['field'],
    message: string,
  ): AttributionResult => ({
    ok: false,
    code: 'attribution_mismatch',
    message,
    field,
    realHolder,
  });

  if (record.initiator !== undefined) {
    if (record.initiator.id !== initiator) {
      return mismatch(
        'initiator',
        `The record names initiator ${record.initiator.id}; its credential was granted to ${initiator}.`,
      );
    }
    if (!kindFits(record.initiator.id, record.initiator.kind, directory)) {
      return mismatch(
        'initiator',
        `The record gives initiator ${initiator} a kind the registry contradicts.`,
      );
    }
  }
  if (record.actor !== undefined) {
    if (record.actor.id !== actor) {
      return mismatch(
        'actor',
        `The record names actor ${record.actor.id}; its credential is held by ${actor}.`,
      );
    }
    if (!kindFits(record.actor.id, record.actor.kind, directory)) {
      return mismatch('actor', `The record gives actor ${actor} a kind the registry contradicts.`);
    }
  }

  // Hops root first: chain[i] handed authority to chain[i + 1]. The last hop produced this
  // credential; earlier ones its ancestors (those after the root credential, if there was one),
  // leaving out the credentials addressed to an agent, which added no hop.
  const { chain } = credential;
  const hopCount = chain.length - 1;
  const addressed = credential.addressed ?? [];
  const jtis = [...credential.ancestors, credential.jti].filter((j) => !addressed.includes(j));
  const hopJti = (i: number): string | undefined => jtis[jtis.length - hopCount + i];
  if (record.delegation !== undefined) {
    if (record.delegation.length !== hopCount) {
      return mismatch(
        'delegation',
        `The record lists ${record.delegation.length} delegation hops; its credential has ${hopCount}.`,
      );
    }
    for (let i = 0; i < hopCount; i++) {
      const hop = record.delegation[i]!;
      if (hop.from !== chain[i] || hop.to !== chain[i + 1]) {
        return mismatch(
          'delegation',
          `Delegation hop ${i} of the record (${hop.from} → ${hop.to}) is not in its credential's chain.`,
        );
      }
      if (hop.jti !== undefined && hop.jti !== hopJti(i)) {
        return mismatch(
          'delegation',
          `Delegation hop ${i} of the record names a credential (jti) its chain does not hold.`,
        );
      }
    }
    const last = record.delegation[hopCount - 1];
    if (last?.scope !== undefined && !sameSet(last.scope, credential.scope)) {
      return mismatch(
        'delegation',
        'The last delegation hop of the record claims other scopes than its credential carries.',
      );
    }
  }

  const timeMs = Date.parse(record.time);
  if (
    !Number.isFinite(timeMs) ||
    timeMs < (credential.iat - opts.skewSec) * 1000 ||
    timeMs > (credential.exp + opts.skewSec) * 1000
  ) {
    return mismatch('time', "The record is timed outside its credential's validity window.");
  }

  const claimed = record.credential;
  if (
    claimed !== undefined &&
    (claimed.jti !== credential.jti ||
      claimed.iss !== credential.claims.iss ||
      claimed.iat !== credential.iat ||
      claimed.exp !== credential.exp)
  ) {
    return mismatch(
      'credential',
      'The record names another credential than the one it was sent with.',
    );
  }
  const credentialTask = credential.claims.task_id;
  if (
    credentialTask !== undefined &&
    record.task_id !== undefined &&
    record.task_id !== credentialTask
  ) {
    return mismatch(
      'task_id',
      'The record names another task than its credential was granted for.',
    );
  }

  const fill: {
    delegation?: DelegationHop[];
    initiator?: { id: string; kind: PrincipalKind };
    actor?: { id: string; kind: PrincipalKind };
  } = {};
  if (record.delegation === undefined && hopCount > 0) {
    fill.delegation = chain.slice(1).map((to, i): DelegationHop => {
      const hop: DelegationHop = { from: chain[i]!, to };
      const jti = hopJti(i);
      if (jti !== undefined) hop.jti = jti;
      if (i === hopCount - 1) hop.scope = [...credential.scope];
      return hop;
    });
  }
  if (record.initiator === undefined) {
    const kind = kindOf(initiator, directory);
    if (kind !== undefined) fill.initiator = { id: initiator, kind };
  }
  if (record.actor === undefined) {
    const kind = kindOf(actor, directory);
    if (kind !== undefined) fill.actor = { id: actor, kind };
  }

  const acting = directory.get(actor);
  if (acting?.kind === 'service_account' && acting.shared) {
    const reasons = ['shared_account'];
    const enriched =
      record.actor?.instance !== undefined ||
      record.actor?.agent !== undefined ||
      (record.task_id !== undefined && credentialTask === undefined);
    if (enriched) reasons.push('claimed_enrichment');
    return { ok: true, level: 'pooled', reasons, ...fill };
  }
  return { ok: true, level: 'verified', reasons: [], ...fill };
}

function kindOf(id: string, directory: PrincipalDirectory): PrincipalKind | undefined {
  return directory.get(id)?.kind ?? impliedKind(id);
}

function kindFits(id: string, kind: PrincipalKind, directory: PrincipalDirectory): boolean {
  const registered = directory.get(id)?.kind;
  return registered === undefined || registered === kind;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((s) => sb.has(s));
}

/** The least level each action class accepts; a record in several classes needs the strictest. */
export type MinimumLevelPolicy = { [F in ActionClassFlag]: AttributionLevel } & {
  /** Every other record (no class, or none of its flags set). */
  default: AttributionLevel;
};

export const DEFAULT_MINIMUM_LEVELS: Readonly<MinimumLevelPolicy> = Object.freeze({
  privileged: 'verified',
  irreversible: 'verified',
  external: 'verified',
  default: 'unattributed',
});

/** True when level `a` is at least as strong as `b` (verified > pooled > asserted > unattributed). */
export function levelAtLeast(a: AttributionLevel, b: AttributionLevel): boolean {
  return ATTRIBUTION_LEVELS.indexOf(a) <= ATTRIBUTION_LEVELS.indexOf(b);
}

/** The minimum attribution level a record's action class requires under `policy`. */
export function requiredLevelFor(
  record: EventRecord,
  policy: MinimumLevelPolicy = DEFAULT_MINIMUM_LEVELS,
): AttributionLevel {
  let required = policy.default;
  const cls = record.action?.class;
  if (cls === undefined) return required;
  for (const flag of ACTION_CLASS_FLAGS) {
    if (cls[flag] && levelAtLeast(policy[flag], required)) required = policy[flag];
  }
  return required;
}
