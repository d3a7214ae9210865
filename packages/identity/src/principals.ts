/**
 * Principals: who can initiate, act or be acted for (DESIGN.md "Identity model"), their ids,
 * and the directory the other modules look them up in.
 */
import {
  PRINCIPAL_ID_PREFIXES,
  PRINCIPAL_KINDS,
  ROLES,
  impliedKind,
  isRole,
  type PrincipalKind,
  type Role,
} from '@provenant/core';
import type { JWK } from 'jose';
import { PrincipalError } from './errors.js';
import { algOfPublicJwk } from './lib/jwk.js';
import { normalizeScopes } from './lib/scope.js';

export { PRINCIPAL_KINDS, impliedKind, type PrincipalKind };

/** The kinds that authenticate with their own key pair (RFC 7523 client assertions). */
export const WORKLOAD_KINDS: readonly PrincipalKind[] = [
  'agent_instance',
  'service',
  'workflow',
  'service_account',
];

export interface Principal {
  /** `user:<id>`, `spiffe://<trust-domain>/<path>`, `workflow:<id>`, `service:<id>`, `sa:<id>`, or `<OIDC iss>#<sub>`. */
  id: string;
  kind: PrincipalKind;
  name?: string;
  /** For an `agent_instance`: the agent definition it runs, e.g. `planner@3`. */
  agent?: string;
  /** Client keys (public JWKs, Ed25519 or P-256), for `agent_instance | service | workflow | service_account`. */
  publicJwks?: JWK[];
  /** A `service_account` several callers share: attribution through it is only `pooled`. */
  shared: boolean;
  disabled: boolean;
  /** When present, only these principals may act on this one's behalf (be added to its chains). */
  mayAct?: string[];
  /**
   * When present, the most a credential rooted at this principal may carry (client_credentials,
   * dev login, ID-token sign-in). Absent: the root's request is granted as asked, and the policy
   * decision point decides each action.
   */
  scopes?: string[];
  /**
   * The roles an admin granted it (each grant and revocation a ledger record). Absent on a
   * principal registered before roles existed: the defaults of its kind (`defaultRoles`) apply.
   * Never set through registration: granted and revoked one at a time.
   */
  roles?: Role[];
}

/** Roles a new principal of this kind is granted at registration: `producer` for a workload. */
export function defaultRoles(kind: PrincipalKind): Role[] {
  return WORKLOAD_KINDS.includes(kind) ? ['producer'] : [];
}

/** The roles `principal` holds now, in `ROLES` order. */
export function grantedRoles(principal: Principal): Role[] {
  const held = principal.roles ?? defaultRoles(principal.kind);
  return ROLES.filter((r) => held.includes(r));
}

/** `role` checked as one of `ROLES`, or a `PrincipalError` (`invalid_principal`) naming them. */
export function parseRole(role: unknown): Role {
  if (!isRole(role)) {
    throw new PrincipalError('role', `role must be one of ${ROLES.join(', ')}.`);
  }
  return role;
}

/**
 * Looks principals up, for the pure identity rules (attribution, delegation, verification).
 * Synchronous: a view held in memory (the collector's `CachedRegistryStore`); the registry's
 * writes and reloads are asynchronous behind it.
 */
export interface PrincipalDirectory {
  get(id: string): Principal | undefined;
}

export class MemoryPrincipalDirectory implements PrincipalDirectory {
  private readonly principals = new Map<string, Principal>();

  constructor(principals: Iterable<Principal> = []) {
    for (const p of principals) this.put(p);
  }

  /** Adds or replaces a principal (by id). */
  put(principal: Principal): void {
    this.principals.set(principal.id, principal);
  }

  get(id: string): Principal | undefined {
    return this.principals.get(id);
  }

  delete(id: string): boolean {
    return this.principals.delete(id);
  }

  /** Marks a principal disabled; false when there is none with that id. */
  disable(id: string): boolean {
    const p = this.principals.get(id);
    if (p === undefined) return false;
    this.principals.set(id, { ...p, disabled: true });
    return true;
  }

  list(): Principal[] {
    return [...this.principals.values()];
  }
}

const MAX_ID = 1024;
const MAX_NAME = 256;
const MAX_KEYS = 8;
const MAX_MAY_ACT = 64;

// SPIFFE ID (spiffe.io SPIFFE-ID spec §2): lowercase trust domain of [a-z0-9.-_]; path
// segments of [A-Za-z0-9.-_], none empty, none "." or "..", no trailing slash, no query or
// fragment, at most 2048 bytes in all. A principal is a workload, so the path is required.
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_SPIFFE_ID = 2048;
// The local part of user:, workflow:, service: and sa: ids.
const LOCAL_ID = /^[A-Za-z0-9._~@+-]+$/;
// An OIDC `sub`: up to 255 ASCII characters (OIDC Core §2), printable, no spaces.
const OIDC_SUB = /^[\x21-\x7E]{1,255}$/;
const AGENT_DEFINITION = /^[A-Za-z0-9._@+-]+$/;
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why `id` is not a principal id, or undefined when it is one. Forms: `user:<id>`,
 * `workflow:<id>`, `service:<id>`, `sa:<id>` (local ids of letters, digits and `._~@+-`),
 * a SPIFFE id `spiffe://<trust-domain>/<path>`, or an OIDC issuer URL (http or https, no query
 * or fragment) followed by `#` and the subject.
 */
export function principalIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'must be a non-empty string';
  if (id.length > MAX_ID) return `must be at most ${MAX_ID} characters`;
  for (const prefix of Object.keys(PRINCIPAL_ID_PREFIXES)) {
    if (id.startsWith(prefix)) {
      return LOCAL_ID.test(id.slice(prefix.length))
        ? undefined
        : `must have a local id of letters, digits and "._~@+-" after "${prefix}"`;
    }
  }
  if (id.startsWith('spiffe://')) return spiffeIdProblem(id);
  if (id.startsWith('https://') || id.startsWith('http://')) return oidcIdProblem(id);
  return 'must start with "user:", "spiffe://", "workflow:", "service:", "sa:", or be an OIDC issuer URL + "#" + subject';
}

export function isPrincipalId(id: unknown): id is string {
  return principalIdProblem(id) === undefined;
}

/** Why `id` (starting `spiffe://`) is not a workload's SPIFFE id (SPIFFE-ID §2), or undefined. */
export function spiffeIdProblem(id: string): string | undefined {
  if (Buffer.byteLength(id) > MAX_SPIFFE_ID) return `must be at most ${MAX_SPIFFE_ID} bytes`;
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return 'must have a trust domain of lowercase letters, digits, ".", "-" and "_"';
  }
  if (slash === -1)
    return 'must have a path after the trust domain (a workload, not a trust domain)';
  for (const segment of rest.slice(slash + 1).split('/')) {
    if (!PATH_SEGMENT.test(segment) || segment === '.' || segment === '..') {
      return 'must have path segments of letters, digits, ".", "-" and "_", none empty, "." or ".."';
    }
  }
  return undefined;
}

function oidcIdProblem(id: string): string | undefined {
  const hash = id.indexOf('#');
  if (hash === -1) return 'must be an OIDC issuer URL followed by "#" and the subject';
  const iss = id.slice(0, hash);
  const sub = id.slice(hash + 1);
  let url: URL;
  try {
    url = new URL(iss);
  } catch {
    return 'must start with a valid OIDC issuer URL';
  }
  if (url.search !== '' || iss.includes('?') || url.username !== '' || url.password !== '') {
    return 'must have an issuer URL with no query or credentials';
  }
  if (!OIDC_SUB.test(sub))
    return 'must have a subject of 1–255 printable ASCII characters after "#"';
  return undefined;
}

/** `spiffe://<trustDomain>/agent/<agent>/instance/<instance>`, checked against the SPIFFE rules. */
export function agentInstanceId(trustDomain: string, agent: string, instance: string): string {
  const id = `spiffe://${trustDomain}/agent/${agent}/instance/${instance}`;
  const problem = typeof trustDomain === 'string' ? spiffeIdProblem(id) : 'must be a string';
  if (problem !== undefined) throw new PrincipalError('id', `The agent instance id ${problem}.`);
  return id;
}

const KNOWN_FIELDS = new Set([
  'id',
  'kind',
  'name',
  'agent',
  'publicJwks',
  'shared',
  'disabled',
  'mayAct',
  'scopes',
]);

/**
 * Validates untrusted input (an admin request, a registry row) as a `Principal`, returning a
 * fresh object. `shared` and `disabled` default to false. Unknown fields, an id whose form
 * contradicts the kind (`user:` is always `human`, `sa:` a `service_account`, …), keys on a
 * kind that does not authenticate itself, private key material, and `shared` on anything but a
 * `service_account` are refused with a `PrincipalError` (`invalid_principal`) naming the field.
 */
export function parsePrincipal(input: unknown): Principal {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PrincipalError('', 'A principal must be a JSON object.');
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key === 'roles') {
      throw new PrincipalError(
        'roles',
        'Roles are not registered with a principal: grant them one at a time (POST /v1/principals/roles/grant).',
      );
    }
    if (!KNOWN_FIELDS.has(key)) {
      throw new PrincipalError(
        key,
        `A principal has no field ${JSON.stringify(key.slice(0, 64))}.`,
      );
    }
  }

  const kind = o['kind'];
  if (typeof kind !== 'string' || !(PRINCIPAL_KINDS as readonly string[]).includes(kind)) {
    throw new PrincipalError('kind', `kind must be one of ${PRINCIPAL_KINDS.join(', ')}.`);
  }
  const k = kind as PrincipalKind;

  const id = o['id'];
  const idProblem = principalIdProblem(id);
  if (idProblem !== undefined) throw new PrincipalError('id', `id ${idProblem}.`);
  const principalId = id as string;
  // A local-id prefix or an OIDC id fixes the kind; a SPIFFE id names any workload, never a human.
  const implied = impliedKind(principalId);
  const fixed = principalId.startsWith('spiffe://') ? undefined : implied;
  if (
    (fixed !== undefined && fixed !== k) ||
    (principalId.startsWith('spiffe://') && k === 'human')
  ) {
    throw new PrincipalError('kind', `kind ${k} does not fit the id ${principalId.slice(0, 200)}.`);
  }

  const principal: Principal = {
    id: principalId,
    kind: k,
    shared: optionalBoolean(o, 'shared'),
    disabled: optionalBoolean(o, 'disabled'),
  };

  if (o['name'] !== undefined) {
    const name = o['name'];
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      name.length > MAX_NAME ||
      CONTROL.test(name)
    ) {
      throw new PrincipalError(
        'name',
        `name must be 1–${MAX_NAME} characters with no control characters.`,
      );
    }
    principal.name = name;
  }

  if (o['agent'] !== undefined) {
    const agent = o['agent'];
    if (k !== 'agent_instance') {
      throw new PrincipalError(
        'agent',
        'agent is only for an agent_instance (the definition it runs).',
      );
    }
    if (typeof agent !== 'string' || agent.length > MAX_NAME || !AGENT_DEFINITION.test(agent)) {
      throw new PrincipalError(
        'agent',
        'agent must be an agent definition id such as "planner@3".',
      );
    }
    principal.agent = agent;
  }

  if (o['publicJwks'] !== undefined) {
    if (!WORKLOAD_KINDS.includes(k)) {
      throw new PrincipalError(
        'publicJwks',
        `A ${k} has no client keys; only ${WORKLOAD_KINDS.join(', ')} do.`,
      );
    }
    principal.publicJwks = parseJwks(o['publicJwks']);
  }

  if (principal.shared && k !== 'service_account') {
    throw new PrincipalError('shared', 'Only a service_account can be shared.');
  }

  if (o['mayAct'] !== undefined) {
    principal.mayAct = parseIdList(o['mayAct'], 'mayAct');
  }

  if (o['scopes'] !== undefined) principal.scopes = parseScopeCeiling(o['scopes']);
  return principal;
}

/** A scope ceiling from untrusted input: a list of OAuth scope tokens, or a `PrincipalError`. */
export function parseScopeCeiling(raw: unknown): string[] {
  const scopes = Array.isArray(raw) ? normalizeScopes(raw) : undefined;
  if (scopes === undefined) {
    throw new PrincipalError('scopes', 'scopes must be a list of at most 64 OAuth scope tokens.');
  }
  return scopes;
}

function optionalBoolean(o: Record<string, unknown>, field: 'shared' | 'disabled'): boolean {
  const value = o[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new PrincipalError(field, `${field} must be true or false.`);
  return value;
}

function parseJwks(value: unknown): JWK[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_KEYS) {
    throw new PrincipalError(
      'publicJwks',
      `publicJwks must be a list of 1–${MAX_KEYS} public JWKs.`,
    );
  }
  const kids = new Set<string>();
  return value.map((jwk: unknown, i) => {
    const checked = algOfPublicJwk(jwk);
    if ('problem' in checked) {
      throw new PrincipalError(`publicJwks[${i}]`, `publicJwks[${i}] ${checked.problem}.`);
    }
    const k = jwk as Record<string, unknown>;
    const copy: JWK = { kty: k['kty'] as string, crv: k['crv'] as string, x: k['x'] as string };
    if (typeof k['y'] === 'string') copy.y = k['y'];
    if (typeof k['kid'] === 'string') {
      if (kids.has(k['kid'])) {
        throw new PrincipalError(
          `publicJwks[${i}]`,
          `publicJwks[${i}] repeats the kid ${k['kid']}.`,
        );
      }
      kids.add(k['kid']);
      copy.kid = k['kid'];
    }
    copy.alg = checked.alg;
    return copy;
  });
}

function parseIdList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_MAY_ACT) {
    throw new PrincipalError(
      field,
      `${field} must be a list of at most ${MAX_MAY_ACT} principal ids.`,
    );
  }
  const out: string[] = [];
  value.forEach((id: unknown, i) => {
    const problem = principalIdProblem(id);
    if (problem !== undefined)
      throw new PrincipalError(`${field}[${i}]`, `${field}[${i}] ${problem}.`);
    if (!out.includes(id as string)) out.push(id as string);
  });
  return out;
}
