import { ROLES } from '@provenant/core';
import type { Role } from '@provenant/core';

/**
 * The Provenant roles an ID token's claims grant: the values of `claim` (a string, or an array
 * of strings; a dotted path reaches into objects, as Keycloak's `realm_access.roles`) looked up
 * in `roleMap`. Values that map to nothing are ignored; the answer is in `ROLES` order.
 */
export function mapRoles(
  claims: Readonly<Record<string, unknown>>,
  claim: string,
  roleMap: ReadonlyMap<string, readonly Role[]>,
): Role[] {
  const granted = new Set<Role>();
  for (const value of claimValues(claims, claim)) {
    for (const role of roleMap.get(value) ?? []) granted.add(role);
  }
  return ROLES.filter((r) => granted.has(r));
}

function claimValues(claims: Readonly<Record<string, unknown>>, path: string): string[] {
  let node: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return [];
    if (!Object.prototype.hasOwnProperty.call(node, part)) return [];
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.filter((v): v is string => typeof v === 'string');
  return [];
}
