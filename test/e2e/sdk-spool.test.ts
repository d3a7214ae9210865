// The HTTP + spool exporter against a real collector that stops and restarts, and an agent
// process killed with records in its spool.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRecorder } from '@provenant/sdk';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCollector as collector } from '../support/collector.js';
import { buildSdk, events, scenario, tempDir } from '../support/sdk.js';
import type { Scenario } from '../support/sdk.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = tempDir('delivery');
const dataDir = join(tmp.dir, 'collector');
let c: RunningCollector;
let s: Scenario;
let port: number;

beforeAll(async () => {
  c = await collector(dataDir);
  port = Number(new URL(c.url).port);
  s = await scenario(c.url);
});
afterAll(async () => {
  await c.close();
  tmp.remove();
});

const FAST_RETRY = { attempts: 2, baseDelayMs: 10, maxDelayMs: 100 };
const PRIVILEGED = { privileged: true, irreversible: true, external: true };

describe('spool', () => {
  it('keeps recording while the collector is stopped and delivers every record once, in order', async () => {
    const spoolDir = join(tmp.dir, 'spool-outage');
    const r = createRecorder({
      collectorUrl: c.url,
      identity: s.planner,
      spool: { dir: spoolDir, fsync: 'batch' },
      batch: { maxRecords: 20, maxDelayMs: 5 },
      retry: FAST_RETRY,
      decisionCacheTtlMs: 120_000,
    });
    const read = r.tool(
      'github.get_file',
      { resource: 'repo:acme/payments', risk: 'low' },
      (i: number) => i,
    );
    const destroy = r.tool(
      'github.delete_repo',
      { resource: 'repo:acme/scratch', class: PRIVILEGED },
      () => 'gone',
    );
    const session = await r.session({ initiatorToken: s.alice, taskId: 'outage-1' });
    const ran: string[] = [];
    await session.run(async () => {
      for (let i = 0; i < 40; i++) await read(i);
      await destroy();
      await r.flush();
      await c.close(); // the collector stops mid-run
      for (let i = 40; i < 120; i++) await read(i);
      // A privileged decision is single-use (never cached): with the decision point down there
      // is none to be had, so the call is refused and its refusal spooled like any record.
      await expect(destroy()).rejects.toMatchObject({ code: 'decision_unavailable' });
      ran.push('refused');
      await r.flush();
      expect(r.stats().mode).toBe('spool');
      expect(r.stats().spooled).toBeGreaterThanOrEqual(80);
      c = await collector(dataDir, port); // restarted: same data folder, same address
      for (let i = 120; i < 160; i++) await read(i);
    });
    expect(await r.drain(20_000)).toBe(true);
    const stats = r.stats();
    await r.close();
    expect(ran).toEqual(['refused']);
    const got = (await events(c.url, { task_id: 'outage-1' })).filter(
      (x) => x.type !== 'policy.decision',
    );
    // 1 agent.invoked, 160 reads, the first destroy's intent + outcome, the second's refusal
    // ... and the collector's detection of that refusal (a privileged action with no decision).
    expect(got).toHaveLength(1 + 160 + 2 + 1 + 1);
    expect(got.filter((x) => x.type === 'security.alert').map((x) => x.action?.name)).toEqual([
      'detect.privileged_without_decision',
    ]);
    expect(new Set(got.map((x) => x.id)).size).toBe(got.length);
    // UUIDv7 ids increase in creation order: log order must be the agent's creation order (the
    // collector's own alert is made on delivery).
    const ids = got.filter((x) => x.type !== 'security.alert').map((x) => x.id);
    expect(ids).toEqual([...ids].sort());
    for (const x of got) expect(x.attribution.level).toBe('verified');
    expect(stats).toMatchObject({
      rejected: 0,
      dropped: 0,
      queued: 0,
      mode: 'direct',
      spoolBytes: 0,
    });
    expect(stats.replayed).toBeGreaterThanOrEqual(80);
  });

  it('delivers what a killed agent process left in its spool when the next one starts', async () => {
    await buildSdk();
    const spoolDir = join(tmp.dir, 'spool-crash');
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/sdk-spool-child.mjs', import.meta.url))],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          URL: c.url,
          IDENTITY: JSON.stringify(s.researcher),
          TOKEN: s.alice,
          SPOOL: spoolDir,
          COUNT: '300',
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const lines: string[] = [];
    const waitFor = (prefix: string) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const l = lines.find((x) => x.startsWith(prefix));
          if (l) resolve(l);
        };
        child.stdout.on('data', (d: Buffer) => {
          lines.push(...d.toString().split('\n').filter(Boolean));
          check();
        });
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
        check();
      });
    await waitFor('ready');
    await c.close();
    child.stdin.write('go\n');
    const spooled = JSON.parse((await waitFor('spooled')).slice('spooled '.length)) as {
      spooled: number;
    };
    expect(spooled.spooled).toBe(301);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readFileSync(join(spoolDir, 'spool.ndjson'), 'utf8').split('\n').length).toBeGreaterThan(
      300,
    );

    c = await collector(dataDir, port);
    const next = createRecorder({
      collectorUrl: c.url,
      identity: s.researcher,
      spool: { dir: spoolDir },
    });
    expect(await next.drain(20_000)).toBe(true);
    await next.close();
    const got = (await events(c.url, { task_id: 'crash-1' })).filter(
      (x) => x.type !== 'policy.decision',
    );
    expect(got).toHaveLength(301);
    expect(new Set(got.map((x) => x.id)).size).toBe(301);
    expect(got.every((x) => x.attribution.level === 'verified')).toBe(true);
  });
});
