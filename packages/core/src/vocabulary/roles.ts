/**
 * The roles a principal can be granted in the registry, and the record types of those grants.
 * A credential carries its holder's granted roles in the `roles` claim (RFC 9068 §7.2.1.1, an
 * array of strings); the collector's route table reads them. Runtime-neutral.
 */

/**
 * `producer`: agents and services (ingest, decisions, token exchange); `analyst`: records,
 * traces, provenance, coverage, alerts, the console; `auditor`: analyst plus export, evidence
 * bundles, decision replay; `admin`: principals, roles, keys, policies.
 */
export const ROLES = ['producer', 'analyst', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const KNOWN: ReadonlySet<string> = new Set(ROLES);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && KNOWN.has(value);
}

/** The only role a delegated credential (token exchange) can carry: reading is not delegable. */
export const DELEGABLE_ROLES: readonly Role[] = ['producer'];

/**
 * Records of the registry's role and scope-ceiling changes, written by the collector (its own
 * witness records). `role.granted` / `role.revoked`: `action.resource` the principal id,
 * `action.args.role` the role. `scope.ceiling_set`: `action.args.scopes` the new ceiling.
 */
export const ROLE_RECORD_TYPES = ['role.granted', 'role.revoked'] as const;
export const SCOPE_CEILING_RECORD_TYPE = 'scope.ceiling_set';
