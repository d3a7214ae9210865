import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/policies/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'provenant-policycli-'));
const dataDir = join(root, 'data');
const policies = join(root, 'policies');
let collector: CollectorProcess;

beforeAll(async () => {
  cpSync(EXAMPLES, policies, { recursive: true });
  collector = await startCollectorProcess(dataDir, ['--dev-login', '--policies', policies]);
  // The CLI's read commands send it (PROVENANT_TOKEN): reading needs a role.
  process.env['PROVENANT_TOKEN'] = collector.admin.authorization.slice('Bearer '.length);
});
afterAll(async () => {
  collector.child.kill('SIGTERM');
  await collector.exited;
  rmSync(root, { recursive: true, force: true });
});

const cli = (args: string[], server = true) =>
  runCliAsync(server ? [...args, '--server', collector.url] : args, {
    PROVENANT_DATA: dataDir,
    PROVENANT_HOME: join(root, 'home'),
  });

describe('policy decisions through the CLI and a running collector', () => {
  it('decides, records, replays, and shows drift after the policy folder changes', async () => {
    expect(collector.stdout()).toMatch(
      /policies: .*policies \(6 policies, policy set sha256:[0-9a-f]{64}\), reloaded on change/,
    );
    const res = await researcherAsksToReadARepo(
      cli,
      collector.url,
      join(root, 'researcher.key.json'),
    );
    const decision = (await res.json()) as {
      decision: string;
      decision_id: string;
      leaf_index: number;
    };
    expect(decision.decision).toBe('allow');
    expect(decision.leaf_index).toBeGreaterThan(0);

    const explained = await cli(['explain-decision', decision.decision_id]);
    expect(explained.status, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/ALLOW by .*permit-researcher-github-reads/);
    expect(explained.stdout).toMatch(/replay on the recorded set: ALLOW .* same answer/);
    expect(explained.stdout).toMatch(/no drift/);

    // A reload that fails validation keeps the old set; a valid one takes over.
    writeFileSync(
      join(policies, 'zz-broken.cedar'),
      'forbid (principal, action, resource) when { ;',
    );
    await new Promise((r) => setTimeout(r, 600));
    expect((await cli(['explain-decision', decision.decision_id])).stdout).toMatch(/no drift/);
    writeFileSync(
      join(policies, 'zz-broken.cedar'),
      '@id("lockdown")\nforbid (principal, action, resource);\n',
    );
    let drifted = '';
    for (let i = 0; i < 40 && !/lockdown/.test(drifted); i++) {
      await new Promise((r) => setTimeout(r, 150));
      drifted = (await cli(['explain-decision', decision.decision_id])).stdout;
    }
    expect(drifted).toMatch(/replay on the recorded set: ALLOW .* same answer/);
    expect(drifted).toMatch(/DENY by lockdown/);
  }, 60_000);

  it('tests a request file against a policy folder', async () => {
    const request = join(root, 'request.json');
    writeFileSync(
      request,
      JSON.stringify({
        initiator: 'user:alice',
        actors: [
          'spiffe://acme.test/agent/researcher/instance/7f3a',
          'spiffe://acme.test/agent/planner/instance/19c2',
        ],
        scope: ['repo:read', 'repo:write'],
        principals: [
          { id: 'user:alice', kind: 'human' },
          {
            id: 'spiffe://acme.test/agent/researcher/instance/7f3a',
            kind: 'agent_instance',
            agent: 'researcher',
          },
        ],
        action: {
          name: 'github.delete_repo',
          resource: 'repo:acme/payments',
          class: { privileged: true, irreversible: true, external: true },
          risk: 'critical',
        },
      }),
    );
    const deny = await cli(
      ['policy', 'test', '--policies', EXAMPLES, '--request', request, '--expect', 'deny'],
      false,
    );
    expect(deny.status, deny.stderr).toBe(0);
    expect(deny.stdout).toMatch(/^DENY by forbid-deep-irreversible/);
    const wrong = await cli(
      ['policy', 'test', '--policies', EXAMPLES, '--request', request, '--expect', 'allow'],
      false,
    );
    expect(wrong.status).toBe(1);
    const bad = await cli(
      ['policy', 'test', '--policies', join(root, 'nowhere'), '--request', request],
      false,
    );
    expect(bad.status).toBe(3);
  });
});

describe('a collector with no policy set', () => {
  const bare = join(root, 'bare');
  let c: CollectorProcess;
  beforeAll(async () => {
    c = await startCollectorProcess(bare, ['--dev-login']);
  });
  afterAll(async () => {
    c.child.kill('SIGTERM');
    await c.exited;
  });

  it('says so in its banner, denies, and explain-decision agrees with the record (no_policy_set)', async () => {
    expect(c.stdout()).toMatch(/policies: none loaded: every decision is deny \(no_policy_set\)/);
    const run = (args: string[]) =>
      runCliAsync([...args, '--server', c.url], {
        PROVENANT_DATA: bare,
        PROVENANT_HOME: join(root, 'home'),
        PROVENANT_TOKEN: c.admin.authorization.slice('Bearer '.length),
      });
    const res = await researcherAsksToReadARepo(run, c.url, join(root, 'bare-researcher.key.json'));
    const decision = (await res.json()) as {
      decision: string;
      decision_id: string;
      reason: string;
    };
    expect(decision).toMatchObject({ decision: 'deny', reason: 'no_policy_set' });

    const explained = await run(['explain-decision', decision.decision_id]);
    expect(explained.status, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/: DENY: no policy set was loaded \(no_policy_set\)/);
    expect(explained.stdout).toMatch(
      /replay on the recorded set: DENY: no policy set was loaded \(no_policy_set\) — same answer/,
    );
    expect(explained.stdout).not.toMatch(/no policy matched/);
  }, 60_000);
});

type Cli = (args: string[]) => ReturnType<typeof runCliAsync>;

/** Registers alice and the researcher through the CLI, then asks for the researcher's read. */
async function researcherAsksToReadARepo(run: Cli, url: string, key: string): Promise<Response> {
  expect((await run(['principals', 'add', '--kind', 'human', '--id', 'user:alice'])).status).toBe(
    0,
  );
  const add = await run([
    'principals',
    'add',
    '--kind',
    'agent_instance',
    '--trust-domain',
    'acme.test',
    '--agent',
    'researcher',
    '--instance',
    '7f3a',
    '--generate-key',
    key,
  ]);
  expect(add.status, add.stderr).toBe(0);
  const alice = (await run(['dev-login', 'alice', '--scope', 'repo:read'])).stdout.trim();
  const token = (
    await run(['token', 'exchange', '--subject-token', alice, '--key', key])
  ).stdout.trim();
  return fetch(`${url}/v1/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
    }),
  });
}
