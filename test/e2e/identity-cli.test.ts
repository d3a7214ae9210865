import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-idcli-'));
const dataDir = join(root, 'data');
let collector: CollectorProcess;

beforeAll(async () => {
  collector = await startCollectorProcess(dataDir, ['--dev-login']);
  // The CLI's read commands send it (PROVENANT_TOKEN): reading needs a role.
  process.env['PROVENANT_TOKEN'] = collector.admin.authorization.slice('Bearer '.length);
});
afterAll(async () => {
  collector.child.kill('SIGTERM');
  await collector.exited;
  rmSync(root, { recursive: true, force: true });
});

const cli = async (args: string[]) => {
  const r = await runCliAsync([...args, '--server', collector.url], {
    PROVENANT_DATA: dataDir,
    PROVENANT_HOME: join(root, 'home'),
  });
  return { ...r, out: r.stdout.trim() };
};

describe('the README worked example, through the CLI (alice → planner → researcher → tool)', () => {
  const planner = 'spiffe://acme.test/agent/planner/instance/19c2';
  const researcher = 'spiffe://acme.test/agent/researcher/instance/7f3a';
  const plannerKey = join(root, 'planner.key.json');
  const researcherKey = join(root, 'researcher.key.json');

  // Thirteen CLI runs, each a process start (seconds on a loaded machine): the steps that do not
  // depend on each other run together, and the timeout is for the work, not for an idle machine.
  it('registers principals, delegates, and records a verified privileged action', async () => {
    const agent = (name: string, instance: string, key: string) =>
      cli([
        'principals',
        'add',
        '--kind',
        'agent_instance',
        '--trust-domain',
        'acme.test',
        '--agent',
        name,
        '--instance',
        instance,
        '--generate-key',
        key,
      ]);
    const [human, p, r] = await Promise.all([
      cli(['principals', 'add', '--kind', 'human', '--id', 'user:alice']),
      agent('planner', '19c2', plannerKey),
      agent('researcher', '7f3a', researcherKey),
    ]);
    expect(human.status, human.stderr).toBe(0);
    expect(p.status, p.stderr).toBe(0);
    expect(p.out).toMatch(/, roles: producer$/); // a new workload is granted producer
    expect(human.out).toMatch(/, roles: -$/);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(plannerKey).mode & 0o777).toBe(0o600);
    const [list, alice] = await Promise.all([
      cli(['principals', 'list']),
      cli(['dev-login', 'alice', '--scope', 'repo:read repo:write']),
    ]);
    expect(list.out).toContain(planner);
    expect(alice.status, alice.stderr).toBe(0);
    expect(alice.stderr).toMatch(/development sign-in/);
    const plannerToken = await cli([
      'token',
      'exchange',
      '--subject-token',
      alice.out,
      '--key',
      plannerKey,
    ]);
    expect(plannerToken.status, plannerToken.stderr).toBe(0);
    const researcherToken = await cli([
      'token',
      'exchange',
      '--subject-token',
      plannerToken.out,
      '--key',
      researcherKey,
      '--scope',
      'repo:read',
    ]);
    expect(researcherToken.status, researcherToken.stderr).toBe(0);

    const id = randomUUID();
    const ingest = async () => {
      const res = await fetch(`${collector.url}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${researcherToken.out}`,
        },
        body: JSON.stringify({
          schema: 'provenant.event/v1',
          id,
          time: new Date().toISOString(),
          type: 'tool.called',
          initiator: { id: 'user:alice', kind: 'human' },
          actor: { id: researcher, kind: 'agent_instance' },
          action: {
            name: 'github.delete_repo',
            resource: 'repo:acme/payments',
            class: { privileged: true, irreversible: true, external: true },
          },
        }),
      });
      expect(res.status).toBe(200);
    };
    const [decoded, widen, agentToken] = await Promise.all([
      cli(['token', 'decode', researcherToken.out]),
      cli([
        'token',
        'exchange',
        '--subject-token',
        researcherToken.out,
        '--key',
        plannerKey,
        '--scope',
        'repo:write',
      ]),
      cli(['token', 'get', '--key', plannerKey, '--scope', 'repo:read']),
      ingest(),
    ]);
    expect(decoded.status, decoded.stderr).toBe(0);
    expect(decoded.out).toContain(`chain:     user:alice → ${planner} → ${researcher}`);
    expect(decoded.out).toContain('scope:     repo:read');
    expect(decoded.out).toContain('roles:     producer'); // delegated to a producer: at most that
    expect(widen.status).toBe(1);
    expect(widen.stderr).toMatch(/invalid_scope|delegation_cycle/);
    expect(agentToken.status, agentToken.stderr).toBe(0);

    const stored = (await (
      await fetch(`${collector.url}/v1/events/${id}`, { headers: collector.admin })
    ).json()) as Record<
      string,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary record JSON
      any
    >;
    expect(stored.attribution.level).toBe('verified');
    expect(stored.delegation.map((h: { to: string }) => h.to)).toEqual([planner, researcher]);

    // Disabled only after the record was verified with the chain that includes it.
    expect((await cli(['principals', 'disable', planner])).status).toBe(0);
    const [refused, v] = await Promise.all([
      cli(['token', 'get', '--key', plannerKey]),
      runCliAsync(['verify', '--data', dataDir], { PROVENANT_HOME: join(root, 'home') }),
    ]);
    expect(refused.status).toBe(1);
    expect(v.status, v.stderr).toBe(0);
  }, 180_000);

  it('grants and revokes roles, sets a ceiling, and rotates the issuer key with --retire-now', async () => {
    const added = await cli([
      'principals',
      'add',
      '--kind',
      'human',
      '--id',
      'user:carol',
      '--scopes',
      'repo:read',
    ]);
    expect(added.status, added.stderr).toBe(0);
    const [grant, ceiling] = await Promise.all([
      cli(['principals', 'grant', 'user:carol', 'auditor']),
      cli(['principals', 'ceiling', 'user:carol', 'repo:read repo:write']),
    ]);
    expect(grant.status, grant.stderr).toBe(0);
    expect(grant.out).toBe('granted auditor user:carol: roles auditor');
    expect(ceiling.out).toBe('scope ceiling of user:carol: repo:read repo:write');
    const [carol, wide, badRole] = await Promise.all([
      cli(['dev-login', 'carol', '--scope', 'repo:write']),
      cli(['dev-login', 'carol', '--scope', 'repo:admin']),
      cli(['principals', 'grant', 'user:carol', 'root']),
    ]);
    expect(carol.status, carol.stderr).toBe(0);
    const claims = JSON.parse(Buffer.from(carol.out.split('.')[1]!, 'base64url').toString()) as {
      roles: string[];
    };
    expect(claims.roles).toEqual(['auditor']);
    expect(wide.status).toBe(1);
    expect(wide.stderr).toMatch(/invalid_scope/);
    expect(badRole.status).toBe(2);
    const [revoke, rotated] = await Promise.all([
      cli(['principals', 'revoke', 'user:carol', 'auditor']),
      cli(['keys', 'rotate', '--retire-now', '--json']),
    ]);
    expect(revoke.out).toBe('revoked auditor user:carol: roles -');
    expect(rotated.status, rotated.stderr).toBe(0);
    const { kid, retired } = JSON.parse(rotated.out) as { kid: string; retired: string[] };
    expect(retired.length).toBeGreaterThan(0);
    const jwks = (await (await fetch(`${collector.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
    const list = await cli(['principals', 'list']);
    expect(list.out).toMatch(/user:carol {2}roles: - {2}scopes: repo:read repo:write/);
  }, 120_000);

  it('refuses principals commands without the admin token', async () => {
    const r = await runCliAsync([
      'principals',
      'list',
      '--server',
      collector.url,
      '--admin-token',
      'wrong',
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/admin_required/);
  });
});
