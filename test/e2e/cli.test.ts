import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { uuidv7 } from '@provenant/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-cli-'));
const dataDir = join(root, 'data');
let collector: CollectorProcess;
let key = '';
const ids: string[] = [];

beforeAll(async () => {
  collector = await startCollectorProcess(dataDir, ['--origin', 'cli.test/log']);
  // The CLI's read commands send it (PROVENANT_TOKEN): reading needs a role.
  process.env['PROVENANT_TOKEN'] = collector.admin.authorization.slice('Bearer '.length);
  const records = [...Array(300).keys()].map((i) => {
    const id = uuidv7();
    ids.push(id);
    return {
      schema: 'provenant.event/v1',
      id,
      time: `2026-11-27T13:00:00.${String(i).padStart(3, '0')}Z`,
      type: i % 3 === 0 ? 'prompt.received' : 'tool.called',
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: 'spiffe://cli.test/agent/planner/instance/1', kind: 'agent_instance' },
      task_id: `task-${i % 7}`,
      ...(i % 3 === 0
        ? {}
        : {
            action: {
              name: i % 2 ? 'github.delete_repo' : 'slack.post_message',
              resource: i % 2 ? `repo:acme/r${i % 5}` : 'slack:#ops',
            },
            outcome: { status: i % 4 === 1 ? 'error' : 'success' },
          }),
    };
  });
  const res = await fetch(`${collector.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: records.map((r) => JSON.stringify(r)).join('\n'),
  });
  expect(res.status).toBe(200);
  key = (await (await fetch(`${collector.url}/v1/log/key`)).text()).trim();
}, 60_000);

afterAll(async () => {
  collector.child.kill('SIGTERM');
  await collector.exited;
  rmSync(root, { recursive: true, force: true });
});

const cli = (args: string[]) => runCliAsync(args, { PROVENANT_HOME: join(root, 'home') });

describe('provenant CLI against a running collector', () => {
  it('creates the log signing key with mode 0600 and serves its verifier key', () => {
    expect(statSync(join(dataDir, 'log-signer.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, 'log-verifier.key'), 'utf8').trim()).toBe(key);
    expect(key.startsWith('cli.test/log+')).toBe(true);
  });

  it('verifies the log through its tlog-tiles routes', async () => {
    const r = await cli(['verify', '--server', collector.url, '--key', key]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^OK cli\.test\/log: 300 entries verified/);
  });

  it('refuses to verify a server without a trusted key', async () => {
    const r = await cli(['verify', '--server', collector.url]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--server needs --key/);
  });

  it('lists records as a table, filtered, one page at a time', async () => {
    const r = await cli([
      'events',
      '--server',
      collector.url,
      '--type',
      'prompt.received',
      '--limit',
      '5',
      '--order',
      'asc',
    ]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^LEAF\s+TIME\s+TYPE\s+ACTION\s+RESOURCE\s+OUTCOME\s+LEVEL\s+INITIATOR\s+ACTOR\s+ID$/,
    );
    expect(lines.slice(1).map((l) => Number(l.split(/\s+/)[0]))).toEqual([0, 3, 6, 9, 12]);
    expect(r.stderr).toMatch(/^100 records match$/m);
    expect(r.stderr).toMatch(/^more: --cursor c2\./m);
  });

  it('prints JSON lines and follows the cursor with --all', async () => {
    const r = await cli([
      'events',
      '--server',
      collector.url,
      '--task-id',
      'task-3',
      '--limit',
      '7',
      '--all',
      '--json',
      '--order',
      'asc',
    ]);
    expect(r.status).toBe(0);
    const records = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.map((x) => x.integrity.leaf_index)).toEqual(
      [...Array(300).keys()].filter((i) => i % 7 === 3),
    );
  });

  it('answers a bad filter with the server error code and exit 2 (a usage error)', async () => {
    const r = await cli(['events', '--server', collector.url, '--level', 'trusted']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/invalid_parameter/);
    const cursor = await cli(['events', '--server', collector.url, '--cursor', 'forged']);
    expect(cursor.status).toBe(2);
    expect(cursor.stderr).toMatch(/invalid_cursor/);
    const order = await cli(['events', '--server', collector.url, '--order', 'sideways']);
    expect(order.status).toBe(2);
    expect(order.stderr).toMatch(/--order must be asc or desc/);
  });

  it('shows action, resource, outcome and level, newest first, with the API filters', async () => {
    const r = await cli([
      'events',
      '--server',
      collector.url,
      '--action',
      'github.*',
      '--resource',
      'repo:acme/r1',
      '--outcome',
      'error',
      '--level',
      'asserted',
      '--limit',
      '1000',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').slice(1);
    // i % 3 !== 0, odd (github.delete_repo), i % 5 === 1 (repo:acme/r1), i % 4 === 1 (error).
    const expected = [...Array(300).keys()]
      .filter((i) => i % 3 !== 0 && i % 2 === 1 && i % 5 === 1 && i % 4 === 1)
      .reverse();
    expect(expected.length).toBeGreaterThan(3);
    expect(rows.map((l) => Number(l.split(/\s+/)[0]))).toEqual(expected);
    for (const l of rows) {
      expect(l.split(/\s+/).slice(3, 7)).toEqual([
        'github.delete_repo',
        'repo:acme/r1',
        'error',
        'asserted',
      ]);
    }
    expect(r.stderr).toMatch(new RegExp(`^${expected.length} records match$`, 'm'));
    // --q: one search box, here a resource prefix.
    const q = await cli(['events', '--server', collector.url, '--q', 'repo:acme/r1', '--json']);
    expect(q.status, q.stderr).toBe(0);
    const found = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: { resource: string } });
    expect(found.length).toBeGreaterThan(0);
    for (const e of found) expect(e.action.resource).toBe('repo:acme/r1');
  });

  it('exports every record as JSON lines, the same from the server and the data folder', async () => {
    const fromServer = join(root, 'server.jsonl');
    const fromData = join(root, 'data.jsonl');
    expect(
      (await cli(['export', '--format', 'jsonl', '--server', collector.url, '-o', fromServer]))
        .status,
    ).toBe(0);
    expect(
      (await cli(['export', '--format', 'jsonl', '--data', dataDir, '-o', fromData])).status,
    ).toBe(0);
    const a = readFileSync(fromServer, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const b = readFileSync(fromData, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(a.map((x) => x.id)).toEqual(ids);
    expect(b).toEqual(a);
    const again = await cli(['export', '--format', 'jsonl', '--data', dataDir, '-o', fromData]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/never overwrites/);
  });

  it('refuses an export format it does not write', async () => {
    const r = await cli(['export', '--format', 'csv', '--server', collector.url]);
    expect(r.status).toBe(2);
  });

  it('reports an unreachable server with exit 3', async () => {
    const r = await cli(['events', '--server', 'http://127.0.0.1:1']);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/Cannot reach/);
  });

  it('finds a record edited under a running server', async () => {
    const db = new Database(join(dataDir, 'ledger.db'));
    db.prepare(
      `UPDATE entries SET record = replace(record, 'alice', 'eve') WHERE leaf_index = 260`,
    ).run();
    db.close();
    const r = await cli(['verify', '--server', collector.url, '--key', key]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL at leaf 260: leaf_hash_mismatch/);
  });
});

describe('provenant serve on SIGTERM', () => {
  it('exits, with code 0, while clients stall mid-request', async () => {
    const c = await startCollectorProcess(join(root, 'stalled'));
    const { hostname, port } = new URL(c.url);
    const stalled = await Promise.all(
      [
        // A Host the collector answers to (any other is refused before the body is read).
        `GET /healthz HTTP/1.1\r\nHost: ${hostname}\r\n`, // headers never finished
        `POST /v1/events HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[`, // a body that never ends
      ].map(
        (request) =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect(Number(port), hostname, () => {
              socket.write(request);
              resolve(socket);
            });
            socket.once('error', reject);
          }),
      ),
    );
    const cut = stalled.map((s) => new Promise((r) => s.once('close', r)));
    // The collector has both connections: a request after them is answered.
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    await Promise.all(cut);
  });
});
