/**
 * The worked scenario's cast (alice → planner → researcher, and a shared CI service account),
 * credentials as the verifier hands them over, and the example policy folder.
 */
import { fileURLToPath } from 'node:url';
import { MemoryPrincipalDirectory, type VerifiedCredential } from '@provenant/identity';
import type { ActionInput } from '../src/index.js';

export const T0 = Date.UTC(2026, 10, 27, 13, 0, 0);
export const ALICE = 'user:alice';
export const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';
export const RESEARCHER = 'spiffe://acme.test/agent/researcher/instance/7f3a';
export const CI = 'sa:ci-bot';
export const NIGHTLY = 'workflow:nightly';

export const EXAMPLES = fileURLToPath(new URL('../../../examples/policies', import.meta.url));

export function directory(): MemoryPrincipalDirectory {
  return new MemoryPrincipalDirectory([
    { id: ALICE, kind: 'human', shared: false, disabled: false },
    { id: PLANNER, kind: 'agent_instance', agent: 'planner@3', shared: false, disabled: false },
    {
      id: RESEARCHER,
      kind: 'agent_instance',
      agent: 'researcher@2',
      shared: false,
      disabled: false,
    },
    { id: CI, kind: 'service_account', shared: true, disabled: false },
  ]);
}

/**
 * A credential as `CredentialVerifier.verify` returns it: `chain` is root first, `actors`
 * outermost (the current actor) first.
 */
export function credential(
  chain: readonly string[],
  scope: readonly string[],
  over: { jti?: string; task_id?: string } = {},
): VerifiedCredential {
  const [subject, ...hops] = chain;
  if (subject === undefined) throw new TypeError('A chain needs its root.');
  const actors = [...hops].reverse();
  const iat = Math.floor(T0 / 1000) - 10;
  const jti = over.jti ?? `jti-${chain.length}-${scope.join('+')}`;
  return {
    tokenDigest: '0'.repeat(64),
    claims: {
      iss: 'http://127.0.0.1:7410',
      sub: subject,
      aud: 'provenant',
      iat,
      exp: iat + 300,
      jti,
      scope: scope.join(' '),
      ...(over.task_id !== undefined ? { task_id: over.task_id } : {}),
    },
    subject,
    actors,
    chain: [...chain],
    scope: [...scope],
    jti,
    iat,
    exp: iat + 300,
    ancestors: hops.map((_, i) => `ancestor-${i}`),
    roles: [],
  };
}

/** alice → planner → researcher, with `scope` on the researcher's credential. */
export function researcherFor(scope: readonly string[]): VerifiedCredential {
  return credential([ALICE, PLANNER, RESEARCHER], scope);
}

export const READ_FILE: ActionInput = {
  name: 'github.get_file',
  resource: 'repo:acme/payments',
  class: { privileged: false, irreversible: false, external: false },
  risk: 'low',
};

export const DELETE_REPO: ActionInput = {
  name: 'github.delete_repo',
  resource: 'repo:acme/payments',
  class: { privileged: true, irreversible: true, external: true },
  risk: 'critical',
};

export const POST_MESSAGE: ActionInput = {
  name: 'slack.post_message',
  resource: 'slack:#payments',
  class: { privileged: false, irreversible: false, external: true },
  risk: 'medium',
};
