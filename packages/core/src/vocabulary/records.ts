/**
 * What kinds of records there are and what the attribution coverage report needs of each: the
 * one place these rules live (the collector, the storage drivers' facts, the console and the
 * investigation all import them). Runtime-neutral: no Node built-ins, no zod.
 */

/** The structural part of a record these rules read (an `EventRecord` satisfies it). */
export interface ClassifiableRecord {
  readonly type: string;
  readonly action?: { readonly class?: Partial<ActionClassFlags> };
  readonly actor?: { readonly instance?: string };
  readonly policy?: { readonly decision_id?: string };
  readonly credential?: { readonly iat: number; readonly exp: number };
  readonly attribution?: { readonly level: string; readonly reasons: readonly string[] };
}

/** Record types that are agents' actions whatever they carry. */
export const ACTION_RECORD_TYPES = ['tool.called', 'action.performed'] as const;

/** Record types written by the issuer, the decision point and the collector itself: never actions. */
export const WITNESS_RECORD_TYPES = [
  'credential.issued',
  'delegation.granted',
  'credential.revoked',
  'policy.decision',
  'security.alert',
  'principal.registered',
  'principal.disabled',
  'issuer.key_rotated',
  'role.granted',
  'role.revoked',
  'scope.ceiling_set',
  'policy.changed',
] as const;

/**
 * Record types of an agent's own course (neither actions nor witnesses): a prompt received; an
 * invocation — a session, a delegation, an A2A request received (cause `delegation`), or one
 * refused (outcome `denied`); an agent created.
 */
export const AGENT_RECORD_TYPES = ['prompt.received', 'agent.invoked', 'agent.created'] as const;

/** Records of a credential handed out: the report measures their lifetime; chains start at them. */
export const GRANT_RECORD_TYPES = ['credential.issued', 'delegation.granted'] as const;

const ACTIONS: ReadonlySet<string> = new Set(ACTION_RECORD_TYPES);
const WITNESSES: ReadonlySet<string> = new Set(WITNESS_RECORD_TYPES);
const GRANTS: ReadonlySet<string> = new Set(GRANT_RECORD_TYPES);

/**
 * The attribution reasons the collector gives its own witness records. Attribution is set by
 * the collector at ingest and never taken from input, so a producer cannot forge a record that
 * passes for the issuer's, the decision point's or the collector's, whatever type or actor it
 * claims.
 */
export const WITNESS_REASONS = {
  issuer: 'issuer_witness',
  decisionPoint: 'decision_point_witness',
  /** The collector's records of registry changes (principals, roles, issuer keys). */
  registry: 'collector_registry',
  alert: ['collector_alert', 'collector_detection'],
} as const;

/** Whether the collector itself wrote `r` with one of `reasons` (see WITNESS_REASONS). */
export function witnessedAs(
  r: Pick<ClassifiableRecord, 'attribution'>,
  reasons: readonly string[],
) {
  const a = r.attribution;
  // A tampered bundle's record may lack `reasons` (its leaf mismatch is reported elsewhere).
  return (
    a !== undefined &&
    a.level === 'verified' &&
    Array.isArray(a.reasons) &&
    a.reasons.some((x) => reasons.includes(x))
  );
}

/**
 * Whether a record is an agent's action: one of the action types, or any other type that
 * carries an `action` and is not a witness's record.
 */
export function isActionRecord(r: { readonly type: string; readonly action?: unknown }): boolean {
  return ACTIONS.has(r.type) || (r.action !== undefined && !WITNESSES.has(r.type));
}

/** Whether a record hands out a credential (`credential.issued`, `delegation.granted`). */
export function isGrantRecord(r: Pick<ClassifiableRecord, 'type'>): boolean {
  return GRANTS.has(r.type);
}

/**
 * The flags of an action's `class`: the one list the record schema, the policy request, the
 * audit rules, the attribution levels each class requires, the coverage facts and the MCP
 * proxy's classification read. Adding a class is adding it here (and its bit below).
 */
export const ACTION_CLASS_FLAGS = ['privileged', 'irreversible', 'external'] as const;
export type ActionClassFlag = (typeof ACTION_CLASS_FLAGS)[number];
export type ActionClassFlags = { readonly [F in ActionClassFlag]: boolean };

/** The classes an action may carry, and `other` for one that carries none. */
export const ACTION_CLASSES = [...ACTION_CLASS_FLAGS, 'other'] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];

/** The classes of a record's action (`other` when it names none). */
export function actionClassesOf(r: Pick<ClassifiableRecord, 'action'>): ActionClass[] {
  const c = r.action?.class;
  const out: ActionClass[] = ACTION_CLASS_FLAGS.filter((f) => c?.[f] === true);
  return out.length > 0 ? out : ['other'];
}

/** A class with every flag false: what an action that names none is decided as. */
export const NO_ACTION_CLASS: ActionClassFlags = Object.freeze(
  Object.fromEntries(ACTION_CLASS_FLAGS.map((f) => [f, false])) as Record<ActionClassFlag, boolean>,
);

/** The flags as prose, e.g. "privileged, irreversible or external" (for error messages). */
export function actionClassFlagList(conjunction: 'or' | 'and'): string {
  const head = ACTION_CLASS_FLAGS.slice(0, -1).join(', ');
  return `${head} ${conjunction} ${ACTION_CLASS_FLAGS.at(-1)!}`;
}

/** Bits of `CoverageFacts.flags`. A record that is not an agent's action has flags 0. */
export const COVERAGE_FLAG = {
  /** An agent's action (not a witness's or the collector's own record). */
  action: 1,
  privileged: 2,
  irreversible: 4,
  external: 8,
  /** The action names a policy decision (`policy.decision_id`). */
  decision: 16,
} as const;

/** The stored bit of each class flag (bits are stored: a new class takes a new one). */
export const COVERAGE_CLASS_BIT = {
  privileged: COVERAGE_FLAG.privileged,
  irreversible: COVERAGE_FLAG.irreversible,
  external: COVERAGE_FLAG.external,
} as const satisfies Record<ActionClassFlag, number>;

/** What the coverage report needs of one record: computed once, stored opaquely beside it. */
export interface CoverageFacts {
  /** Bit set of COVERAGE_FLAG. */
  readonly flags: number;
  /** `credential.exp - credential.iat` of a grant record the issuer witnessed. */
  readonly lifetimeSec: number | null;
  /** `actor.instance` of an action (distinct instances behind a pooled account). */
  readonly instance: string | null;
}

/**
 * The coverage facts of a record. `concludesIntent`: the record is the outcome of a fail-closed
 * action whose intent (`pending`) is already in the ledger (the collector checks it at ingest):
 * the action is counted once, by its intent, so the outcome counts as no action.
 */
export function coverageFacts(
  r: ClassifiableRecord,
  options: { readonly concludesIntent?: boolean } = {},
): CoverageFacts {
  let flags = 0;
  let instance: string | null = null;
  if (isActionRecord(r) && options.concludesIntent !== true) {
    const c = r.action?.class;
    flags = COVERAGE_FLAG.action;
    for (const f of ACTION_CLASS_FLAGS) if (c?.[f] === true) flags |= COVERAGE_CLASS_BIT[f];
    if (r.policy?.decision_id !== undefined) flags |= COVERAGE_FLAG.decision;
    instance = r.actor?.instance ?? null;
  }
  // Only the issuer's own grants: a producer's forged `credential.issued` counts for nothing.
  const c = isGrantRecord(r) && witnessedAs(r, [WITNESS_REASONS.issuer]) ? r.credential : undefined;
  return { flags, lifetimeSec: c ? c.exp - c.iat : null, instance };
}
