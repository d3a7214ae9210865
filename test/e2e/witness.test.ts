import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  runCliAsync,
  startCollectorProcess,
  startWitnessProcess,
  stopChildren,
} from './process.js';
import type { CollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-witness-e2e-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  await stopChildren(children);
  rmSync(root, { recursive: true, force: true });
});

function rec(tag: string, i: number) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date(Date.UTC(2026, 10, 27, 13, 0, 0, i)).toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: 'spiffe://acme.test/agent/a/instance/1', kind: 'agent_instance' },
    action: { name: 'github.read_file', resource: `repo:acme/${tag}-${i}` },
  };
}

async function ingest(url: string, tag: string, count: number): Promise<void> {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([...Array(count).keys()].map((i) => rec(tag, i))),
  });
  expect(res.status).toBe(200);
}

async function collector(dataDir: string, extra: string[] = []): Promise<CollectorProcess> {
  const c = await startCollectorProcess(dataDir, extra);
  children.push(c.child);
  return c;
}

async function stop(c: CollectorProcess): Promise<void> {
  c.child.kill('SIGTERM');
  await c.exited;
}

async function witnessProcess(dataDir: string, logs: string[]) {
  const w = await startWitnessProcess(dataDir, logs, 'e2e.test/witness');
  children.push(w.child);
  return w;
}

/** Polls /v1/log/checkpoint until it carries a line by the witness, or gives up. */
async function waitForCosignature(url: string, witnessName: string, size: number): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const note = await (await fetch(`${url}/v1/log/checkpoint`)).text();
    if (note.split('\n')[1] === String(size) && note.includes(`\u2014 ${witnessName} `))
      return note;
    if (Date.now() > deadline) throw new Error(`no cosignature: ${note}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('provenant witness (real processes)', () => {
  it(
    'cosigns an honest log; a replaced ledger gets no cosignature and verify --witness refuses it',
    {
      timeout: 90_000, // four collector and two CLI processes in turn
    },
    async () => {
      const data = join(root, 'collector');
      // First start: the collector makes its log key.
      const first = await collector(data, ['--origin', 'e2e.test/log']);
      const logKey = (await (await fetch(`${first.url}/v1/log/key`)).text()).trim();
      await stop(first);

      const wdata = join(root, 'witness');
      const w = await witnessProcess(wdata, [`e2e.test/log=${logKey}`]);
      expect(statSync(join(wdata, 'witness-signer.key')).mode & 0o777).toBe(0o600);
      expect(w.key).toMatch(/^e2e\.test\/witness\+[0-9a-f]{8}\+/);

      const c = await collector(data, ['--witness', `${w.url}=${w.key}`, '--witness-policy', '1']);
      await ingest(c.url, 'honest', 20);
      const note = await waitForCosignature(c.url, 'e2e.test/witness', 20);
      expect(note).toMatch(/^e2e\.test\/log\n20\n/);

      const ok = await runCliAsync(
        ['verify', '--server', c.url, '--key', logKey, '--witness', w.key, '--quiet'],
        {
          PROVENANT_HOME: join(root, 'home-ok'),
          // Entry bundles need the analyst role: the collector's admin token.
          PROVENANT_TOKEN: c.admin.authorization.slice('Bearer '.length),
        },
      );
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/OK e2e\.test\/log: 20 entries verified/);
      expect(ok.stdout).toMatch(/Cosigned by 1 of 1 witnesses \(policy 1\): e2e\.test\/witness/);
      await stop(c);
      // Offline: the data folder keeps the published cosigned checkpoint.
      const offline = await runCliAsync(
        ['verify', '--data', data, '--key', logKey, '--witness', w.key, '--quiet'],
        { PROVENANT_HOME: join(root, 'home-offline') },
      );
      expect(offline.status).toBe(0);
      expect(offline.stdout).toMatch(/20 entries verified/);

      // The ledger is replaced: same log key, other records (a fork of the log).
      const forked = join(root, 'forked');
      mkdirSync(forked, { recursive: true });
      copyFileSync(join(data, 'log-signer.key'), join(forked, 'log-signer.key'));
      // Built without the witness (with it, the collector would refuse the first record: the
      // witness already cosigned size 20 of this log).
      const building = await collector(forked);
      await ingest(building.url, 'forged', 25);
      await stop(building);
      const f = await collector(forked, ['--witness', `${w.url}=${w.key}`]);
      // The collector asked the witness before listening: it refuses the proof from size 20.
      const health = await fetch(`${f.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'unhealthy',
        reason: 'log_behind_witness',
      });
      const published = await (await fetch(`${f.url}/v1/log/checkpoint`)).text();
      expect(published).not.toContain('\u2014 e2e.test/witness ');

      // Without a witness policy the forked log verifies (it is signed by the log key) ...
      const naive = await runCliAsync(['verify', '--server', f.url, '--key', logKey, '--quiet'], {
        PROVENANT_HOME: join(root, 'home-naive'),
        PROVENANT_TOKEN: f.admin.authorization.slice('Bearer '.length),
      });
      expect(naive.status).toBe(0);
      // ... with one, it is refused.
      const refused = await runCliAsync(
        ['verify', '--server', f.url, '--key', logKey, '--witness', w.key, '--json'],
        {
          PROVENANT_HOME: join(root, 'home-refused'),
          PROVENANT_TOKEN: f.admin.authorization.slice('Bearer '.length),
        },
      );
      expect(refused.status).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, code: 'witness_policy_unmet' });
      await stop(f);
      const refusedOffline = await runCliAsync(
        ['verify', '--data', forked, '--key', logKey, '--witness', w.key, '--quiet'],
        { PROVENANT_HOME: join(root, 'home-refused-offline') },
      );
      expect(refusedOffline.status).toBe(1);
      expect(refusedOffline.stderr).toMatch(/FAIL: witness_policy_unmet/);

      // The honest collector, restarted, still gets cosignatures (409 tells it the witness's size).
      const again = await collector(data, ['--witness', `${w.url}=${w.key}`]);
      await ingest(again.url, 'more', 5);
      await waitForCosignature(again.url, 'e2e.test/witness', 25);
      await stop(again);
    },
  );

  it('refuses bad flags with exit 2', async () => {
    expect((await runCliAsync(['witness', '--data', join(root, 'x')])).status).toBe(2);
    expect(
      (await runCliAsync(['witness', '--log', 'nonsense', '--data', join(root, 'y')])).status,
    ).toBe(2);
    expect(
      (
        await runCliAsync([
          'verify',
          '--data',
          join(root, 'collector'),
          '--witness',
          'a+00000000+AA==',
        ])
      ).status,
    ).toBe(2);
  });
});
