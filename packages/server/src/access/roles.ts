/**
 * The roles of the route table (core's vocabulary: `producer`, `analyst`, `auditor`, `admin`).
 * `auditor` includes everything `analyst` may do; the others are separate (an `admin`
 * credential manages principals and keys, it does not read records). The deployment's admin
 * token holds every role.
 */
import { ROLES } from '@provenant/core';
import type { Role } from '@provenant/core';

export { ROLES, isRole } from '@provenant/core';
export type { Role } from '@provenant/core';

/** The known roles of a list, in `ROLES` order; anything else carries no authority here. */
export function knownRoles(values: unknown): Role[] {
  if (!Array.isArray(values)) return [];
  return ROLES.filter((r) => values.includes(r));
}

/** Whether holding `roles` lets a caller through a route that needs `needed`. */
export function satisfies(roles: readonly Role[], needed: Role): boolean {
  return roles.includes(needed) || (needed === 'analyst' && roles.includes('auditor'));
}
