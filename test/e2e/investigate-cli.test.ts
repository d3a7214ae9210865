import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/policies/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'provenant-investigate-'));
const dataDir = join(root, 'data');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
let collector: CollectorProcess;

beforeAll(async () => {
  collector = await startCollectorProcess(dataDir, ['--dev-login', '--policies', EXAMPLES]);
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

async function agent(name: string, instance: string) {
  const key = join(root, `${name}.key.json`);
  const add = await cli([
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
  expect(add.status, add.stderr).toBe(0);
  return key;
}

async function post(path: string, token: string, body: unknown) {
  const res = await fetch(`${collector.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('investigation through the CLI and a running collector', () => {
  it('explains an action, writes its evidence bundle, verifies it offline, and catches an edit', async () => {
    expect((await cli(['principals', 'add', '--kind', 'human', '--id', 'user:alice'])).status).toBe(
      0,
    );
    const plannerKey = await agent('planner', '19c2');
    const researcherKey = await agent('researcher', '7f3a');
    const alice = (
      await cli(['dev-login', 'alice', '--scope', 'repo:read repo:write'])
    ).stdout.trim();
    const planner = (
      await cli(['token', 'exchange', '--subject-token', alice, '--key', plannerKey])
    ).stdout.trim();
    const researcher = (
      await cli([
        'token',
        'exchange',
        '--subject-token',
        planner,
        '--key',
        researcherKey,
        '--scope',
        'repo:read',
      ])
    ).stdout.trim();
    const decision = await post('/v1/decisions', researcher, {
      action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
    });
    const researcherId = 'spiffe://acme.test/agent/researcher/instance/7f3a';
    const promptId = randomUUID();
    const actionId = randomUUID();
    const base = {
      schema: 'provenant.event/v1',
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: researcherId, kind: 'agent_instance' },
    };
    await post('/v1/events', researcher, [
      {
        ...base,
        id: promptId,
        time: new Date(Date.now() - 500).toISOString(),
        type: 'prompt.received',
        cause: { kind: 'human_prompt' },
        trace: { trace_id: TRACE, span_id: '1111111111111111' },
      },
      {
        ...base,
        id: actionId,
        time: new Date().toISOString(),
        type: 'tool.called',
        cause: { kind: 'agent_decision', record_id: promptId },
        action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
        policy: { decision_id: decision['decision_id'], engine: 'cedar', decision: 'allow' },
        outcome: { status: 'success' },
        trace: { trace_id: TRACE, span_id: '2222222222222222', parent_span_id: '1111111111111111' },
      },
    ]);

    const explained = await cli(['explain', actionId]);
    expect(explained.status, explained.stdout + explained.stderr).toBe(0);
    expect(explained.stdout).toContain('alice asked planner/19c2 with repo:read repo:write');
    expect(explained.stdout).toContain('planner/19c2 delegated repo:read to researcher/7f3a');
    expect(explained.stdout).toMatch(/cedar policy-set sha256:[0-9a-f]{64} allowed it by permit-/);
    expect(explained.stdout).toMatch(
      /researcher\/7f3a called github\.get_file on repo:acme\/payments at .* → success/,
    );
    expect(explained.stdout).toMatch(/✓ decision_matches/);
    expect(explained.stdout).not.toContain('✗');

    const file = join(root, 'evidence.json');
    const written = await cli(['evidence', actionId, '-o', file]);
    expect(written.status, written.stderr).toBe(0);
    const key = (await (await fetch(`${collector.url}/v1/log/key`)).text()).trim();
    // Offline: no --server, and the collector is not asked.
    const ok = await cli(['verify', '--bundle', file, '--key', key], false);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Bundle authentic: 5 records proven/);

    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('repo:acme/payments');
    const edited = join(root, 'edited.json');
    writeFileSync(edited, text.slice(0, at) + 'R' + text.slice(at + 1));
    const bad = await cli(['verify', '--bundle', edited, '--key', key], false);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/FAIL entries\[\d\] \(\w+ [0-9a-f-]+\): leaf_mismatch/);

    const tree = await cli(['trace', TRACE]);
    expect(tree.status, tree.stderr).toBe(0);
    expect(tree.stdout).toMatch(/prompt\.received/);
    expect(tree.stdout).toMatch(
      /└─ .*tool\.called .*github\.get_file repo:acme\/payments .*→ success/,
    );
    // A page at a time: the first record, then the cursor of the next page; --all follows it.
    const first = await cli(['trace', TRACE, '--limit', '1']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/: 1 records\n/);
    const cursor = /--cursor (c1\.\S+)/.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const second = await cli(['trace', TRACE, '--limit', '1', '--cursor', cursor!]);
    expect(second.stdout).toMatch(/tool\.called .*github\.get_file/);
    const all = await cli(['trace', TRACE, '--limit', '1', '--all']);
    expect(all.stdout.match(/: 1 records/g)).toHaveLength(2);
    expect(all.stdout).not.toMatch(/more records follow/);

    const html = join(root, 'coverage.html');
    const report = await cli(['coverage', '--html', html]);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/Actions without a decision: 0/);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/<svg[^>]*>.*<rect/s);
    expect(page).not.toMatch(/<(script|link)\b|src=/);
    // Every count links to the collector's list of the records behind it.
    const links = [...page.matchAll(/<a href="([^"]+)" data-measure="([^"]+)">(\d+)<\/a>/g)];
    expect(links.length).toBeGreaterThanOrEqual(30);
    for (const [, href, measure, n] of links.filter(
      ([, , m]) => m === 'actions' || m === 'records',
    )) {
      expect(
        href!.startsWith(`${collector.url}/v1/reports/coverage/records?measure=${measure}`),
      ).toBe(true);
      const listed = (await (
        await fetch(href!.replaceAll('&amp;', '&'), { headers: collector.admin })
      ).json()) as {
        records: unknown[];
      };
      expect(listed.records.length).toBe(Math.min(100, Number(n)));
    }
    expect(report.stdout).toMatch(/ASI03 Identity & Privilege Abuse/);

    const usage = await cli(['verify', '--bundle', file], false);
    expect(usage.status).toBe(2);
    // An id that names no record is the caller's mistake: a usage error, not "cannot read".
    const missing = await cli(['explain', randomUUID()]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('not_found');
  }, 90_000);
});
