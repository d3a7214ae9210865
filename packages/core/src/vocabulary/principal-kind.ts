/**
 * The principal kind an id's form implies, for ids the registry does not know. One rule for
 * the issuer, attribution, policy requests, the SDK and the OTLP mapping.
 */
import type { PRINCIPAL_KINDS } from './kinds.js';

export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

/** Local-id prefixes and the kind each one always names (`user:alice` is a human). */
export const PRINCIPAL_ID_PREFIXES: Readonly<Record<string, PrincipalKind>> = {
  'user:': 'human',
  'workflow:': 'workflow',
  'service:': 'service',
  'sa:': 'service_account',
};

const SPIFFE_AGENT_INSTANCE = /^spiffe:\/\/[^/]+\/agent\/([^/]+)\/instance\/([^/]+)$/;
const SPIFFE_AGENT = /^spiffe:\/\/[^/]+\/agent\/([^/]+)$/;

/**
 * The kind an id's form implies, or undefined when its form implies none (a SPIFFE id outside
 * `/agent/…`, or no principal id at all): `user:` human, `workflow:`, `service:`, `sa:`; an
 * OIDC `issuer#subject` (http or https) human; `spiffe://<td>/agent/<a>/instance/<i>` an agent
 * instance; `spiffe://<td>/agent/<a>` an agent.
 */
export function impliedKind(id: string): PrincipalKind | undefined {
  for (const [prefix, kind] of Object.entries(PRINCIPAL_ID_PREFIXES)) {
    if (id.startsWith(prefix)) return kind;
  }
  if (id.startsWith('https://') || id.startsWith('http://')) return 'human';
  if (SPIFFE_AGENT_INSTANCE.test(id)) return 'agent_instance';
  if (SPIFFE_AGENT.test(id)) return 'agent';
  return undefined;
}

/**
 * The kind a record names for `id`: the registered kind when there is one, else the implied
 * kind, else `agent` — an unregistered workload whose id says nothing is what Provenant
 * accounts for, an agent; it is never promoted to a human or an instance by guess.
 */
export function recordedKind(id: string, registered?: PrincipalKind): PrincipalKind {
  return registered ?? impliedKind(id) ?? 'agent';
}

/** The agent name and instance a SPIFFE agent-instance id carries. */
export function spiffeAgentParts(id: string): { agent: string; instance?: string } | undefined {
  const m = SPIFFE_AGENT_INSTANCE.exec(id);
  if (m) return { agent: m[1]!, instance: m[2]! };
  const a = SPIFFE_AGENT.exec(id);
  return a ? { agent: a[1]! } : undefined;
}

/**
 * A principal's name as a sentence or a picture shows it: `user:alice` → alice,
 * `spiffe://td/agent/planner/instance/19c2` → planner/19c2; any other id as it is.
 */
export function shortName(id: string | undefined): string {
  if (id === undefined) return 'someone unknown';
  const spiffe = SPIFFE_AGENT_INSTANCE.exec(id);
  if (spiffe) return `${spiffe[1]}/${spiffe[2]}`;
  const user = /^user:(.+)$/.exec(id);
  return user ? user[1]! : id;
}
