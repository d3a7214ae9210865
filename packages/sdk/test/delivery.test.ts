import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntentNotDurableError, RecorderOverflowError, createRecorder } from '../src/index.js';
import { buildSdk, collector, events, scenario, tempDir } from './helpers.js';
import type { Scenario } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
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

/** fetch that fails for the chosen routes while `down` is set, as an unreachable collector. */
function switchableFetch(routes: RegExp) {
  const state = { down: false };
  const f: typeof fetch = (input, init) =>
    state.down && routes.test(String(input))
      ? Promise.reject(new TypeError('fetch failed'))
      : fetch(input, init);
  return { state, fetch: f };
}

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
      await destroy(); // fail closed, but the spool takes its intent durably: it runs
      ran.push('destroy');
      await r.flush();
      expect(r.stats().mode).toBe('spool');
      expect(r.stats().spooled).toBeGreaterThanOrEqual(80);
      c = await collector(dataDir, port); // restarted: same data folder, same address
      for (let i = 120; i < 160; i++) await read(i);
    });
    expect(await r.drain(20_000)).toBe(true);
    const stats = r.stats();
    await r.close();
    expect(ran).toEqual(['destroy']);
    const got = (await events(c.url, { task_id: 'outage-1' })).filter(
      (x) => x.type !== 'policy.decision',
    );
    // 1 agent.invoked, 160 reads, 2 × (intent + outcome)
    expect(got).toHaveLength(1 + 160 + 4);
    expect(new Set(got.map((x) => x.id)).size).toBe(got.length);
    // UUIDv7 ids increase in creation order: log order must be creation order.
    const ids = got.map((x) => x.id);
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
      [fileURLToPath(new URL('./fixtures/spool-child.mjs', import.meta.url))],
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

describe('fail closed and overflow', () => {
  it('refuses a privileged tool when neither the collector nor the spool can take its intent', async () => {
    for (const spool of [false, { dir: join(tmp.dir, 'tiny-spool'), maxBytes: 2_000 }] as const) {
      const sw = switchableFetch(/\/v1\/events/);
      const r = createRecorder({
        collectorUrl: c.url,
        identity: s.planner,
        spool,
        fetch: sw.fetch,
        retry: FAST_RETRY,
      });
      let runs = 0;
      const destroy = r.tool(
        'github.delete_repo',
        { resource: 'repo:acme/scratch', class: PRIVILEGED },
        () => {
          runs++;
        },
      );
      const read = r.tool(
        'github.get_file',
        { resource: 'repo:acme/payments', risk: 'low' },
        () => 1,
      );
      const err = await r.session({ initiatorToken: s.alice }, async () => {
        await destroy(); // collector up: runs
        sw.state.down = true;
        await read(); // low risk: recorded for later, runs
        await r.flush();
        return destroy().catch((e: unknown) => e);
      });
      expect(err).toBeInstanceOf(IntentNotDurableError);
      expect(err).toMatchObject({ code: 'intent_not_durable' });
      expect(runs).toBe(1);
      expect(r.stats().refusedIntents).toBe(1);
      sw.state.down = false;
      await r.drain(5_000);
      await r.close();
    }
  });

  it('applies the overflow policy when memory and spool are full', async () => {
    const sw = switchableFetch(/\/v1\/events/);
    const make = (overflow: 'fail' | 'drop-low-risk') =>
      createRecorder({
        collectorUrl: c.url,
        identity: s.planner,
        spool: false,
        fetch: sw.fetch,
        memory: { maxRecords: 5 },
        overflow,
        retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
      });
    const failing = make('fail');
    const dropping = make('drop-low-risk');
    sw.state.down = true;
    for (const r of [failing, dropping]) {
      const read = r.tool(
        'github.get_file',
        { resource: 'repo:acme/payments', risk: 'low' },
        () => 1,
      );
      const session = await r.session({ initiatorToken: s.alice });
      const outcomes = await session.run(async () => {
        const out: unknown[] = [];
        for (let i = 0; i < 10; i++) out.push(await read().catch((e: unknown) => e));
        return out;
      });
      if (r === failing) {
        expect(outcomes.filter((o) => o instanceof RecorderOverflowError).length).toBeGreaterThan(
          0,
        );
      } else {
        expect(outcomes.every((o) => o === 1)).toBe(true);
        expect(r.stats().dropped).toBeGreaterThan(0);
      }
      expect(r.stats().queued).toBeLessThanOrEqual(6);
    }
    sw.state.down = false;
    for (const r of [failing, dropping]) {
      expect(await r.drain(5_000)).toBe(true);
      await r.close();
    }
  });
});
