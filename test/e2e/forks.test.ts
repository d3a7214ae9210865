// Forks a collector must not extend, with real processes: a ledger rolled back or truncated
// under its witness, a cluster member with another log key, a member whose wall clock steps back.
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { uuidv7 } from '@provenant/core';
import { afterAll, describe, expect, it } from 'vitest';
import { skipPostgres, startTestPostgres } from '../support/postgres.js';
import {
  adminHeadersFor,
  startCollectorProcess,
  startWitnessProcess,
  stopChildren,
} from './process.js';
import type { CollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-forks-e2e-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  await stopChildren(children, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function rec(tag: string, i: number) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date(Date.UTC(2026, 10, 27, 13, 0, 0, i)).toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: 'spiffe://forks.test/agent/a/instance/1', kind: 'agent_instance' },
    action: { name: 'github.read_file', resource: `repo:acme/${tag}-${i}` },
  };
}

function post(url: string, tag: string, count: number): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([...Array(count).keys()].map((i) => rec(tag, i))),
  });
}

async function ingest(url: string, tag: string, count: number): Promise<void> {
  const res = await post(url, tag, count);
  expect(res.status, await res.clone().text()).toBe(200);
}

async function collector(
  dataDir: string,
  extra: string[] = [],
  nodeArgs: string[] = [],
): Promise<CollectorProcess> {
  // The records here carry no credential.
  const c = await startCollectorProcess(
    dataDir,
    ['--anonymous-ingest', 'asserted', ...extra],
    nodeArgs,
  );
  children.push(c.child);
  return c;
}

async function stop(c: CollectorProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  c.child.kill(signal);
  await c.exited;
}

/** Polls until `fn` answers something truthy; the bound only ends a test that is stuck. */
async function until<T>(what: string, fn: () => Promise<T | null | false>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn().catch(() => null);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}

async function witness(dataDir: string, log: string): Promise<{ url: string; key: string }> {
  const w = await startWitnessProcess(dataDir, [log], 'forks.test/w');
  children.push(w.child);
  return w;
}

interface Health {
  status: string;
  reason?: string;
  problems?: { code: string; source: string; kind: string; size: number }[];
  log: { size: number; appends_refused: boolean };
  cluster?: { role: string };
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${url}/healthz`, { headers: adminHeadersFor(url) ?? {} });
  return { status: res.status, body: (await res.json()) as Health };
}

/** Health 503 `log_behind_witness` naming `sources`, and an append refused with that code. */
async function expectBehind(url: string, size: number, sources: string[]): Promise<void> {
  const h = await health(url);
  expect(h.status).toBe(503);
  expect(h.body).toMatchObject({ status: 'unhealthy', reason: 'log_behind_witness' });
  expect(h.body.log).toMatchObject({ size, appends_refused: true });
  expect(h.body.problems!.map((p) => p.source).sort()).toEqual(sources);
  const refused = await post(url, 'late', 3);
  expect(refused.status).toBe(503);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
    'log_behind_witness',
  );
  expect((await health(url)).body.log.size).toBe(size); // no leaf handed out
}

/** Copies a stopped collector's SQLite ledger (with its WAL, if any) as a backup would. */
function copyLedger(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of ['ledger.db', 'ledger.db-wal']) {
    if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
    else rmSync(join(to, f), { force: true });
  }
  rmSync(join(to, 'ledger.db-shm'), { force: true });
}

describe('a ledger behind its witness (real collector and witness processes)', () => {
  it(
    'rolled back to an older copy after cosigning: unhealthy, appends refused, until restored',
    {
      timeout: 120_000,
    },
    async () => {
      const data = join(root, 'rollback');
      const first = await collector(data, ['--origin', 'forks.test/log']);
      const logKey = (await (await fetch(`${first.url}/v1/log/key`)).text()).trim();
      await ingest(first.url, 'early', 5);
      await stop(first);
      const backup = join(root, 'rollback-backup');
      copyLedger(data, backup); // an older copy, at size 5

      const w = await witness(join(root, 'rollback-witness'), `forks.test/log=${logKey}`);
      const witnessFlag = ['--witness', `${w.url}=${w.key}`];
      const c = await collector(data, witnessFlag);
      await ingest(c.url, 'later', 5);
      await until('the witness cosigns size 10', async () => {
        const note = await (await fetch(`${c.url}/v1/log/checkpoint`)).text();
        return note.split('\n')[1] === '10' && note.includes('\u2014 forks.test/w ');
      });
      await stop(c);
      const newest = join(root, 'rollback-newest');
      copyLedger(data, newest);

      // The older copy restored over ledger.db: the data folder's cosigned checkpoint and the
      // witness (409 with size 10) both show the log is behind.
      copyLedger(backup, data);
      const rolled = await collector(data, witnessFlag);
      await expectBehind(rolled.url, 5, ['cosigned-checkpoint', 'witness forks.test/w']);
      expect(rolled.stdout()).toMatch(/WARNING: log_behind_witness, appends refused/);
      await stop(rolled);
      // Without the cosigned checkpoint file (the whole folder restored), the witness alone.
      rmSync(join(data, 'cosigned-checkpoint'));
      const folder = await collector(data, witnessFlag);
      await expectBehind(folder.url, 5, ['witness forks.test/w']);
      await stop(folder);

      // The operator restores the missing entries: healthy again, appends and cosignatures resume.
      copyLedger(newest, data);
      const restored = await collector(data, witnessFlag);
      expect((await health(restored.url)).status).toBe(200);
      await ingest(restored.url, 'after', 2);
      await until('the witness cosigns size 12', async () => {
        const note = await (await fetch(`${restored.url}/v1/log/checkpoint`)).text();
        return note.split('\n')[1] === '12';
      });
      await stop(restored);
    },
  );

  it(
    'truncated (tail entries, subtree hashes and checkpoints deleted): refused the same way',
    {
      timeout: 120_000,
    },
    async () => {
      const data = join(root, 'truncated');
      const first = await collector(data, ['--origin', 'forks.test/log']);
      const logKey = (await (await fetch(`${first.url}/v1/log/key`)).text()).trim();
      await stop(first);
      const w = await witness(join(root, 'truncated-witness'), `forks.test/log=${logKey}`);
      const witnessFlag = ['--witness', `${w.url}=${w.key}`];
      const c = await collector(data, witnessFlag);
      await ingest(c.url, 'a', 4); // one commit: a checkpoint at 4
      await ingest(c.url, 'b', 4); // and at 8
      await until('the witness cosigns size 8', async () => {
        const note = await (await fetch(`${c.url}/v1/log/checkpoint`)).text();
        return note.split('\n')[1] === '8' && note.includes('\u2014 forks.test/w ');
      });
      await stop(c);
      // A consistent truncation to 4: what remains is a valid log signed by the key.
      const db = new Database(join(data, 'ledger.db'));
      db.exec(`DELETE FROM entries WHERE leaf_index >= 4;
      DELETE FROM tiles WHERE level > 0;
      UPDATE tiles SET hashes = substr(hashes, 1, 4 * 32) WHERE level = 0 AND idx = 0;
      DELETE FROM checkpoints WHERE size > 4;`);
      db.close();
      rmSync(join(data, 'cosigned-checkpoint'));
      const truncated = await collector(data, witnessFlag);
      await expectBehind(truncated.url, 4, ['witness forks.test/w']);
      await stop(truncated);
    },
  );
});

const skip = skipPostgres();

describe.skipIf(skip)('cluster members on one PostgreSQL (real processes)', () => {
  it(
    'a member with another log key refuses to start on an empty database (exit 3)',
    {
      timeout: 60_000,
    },
    async () => {
      const pg = await startTestPostgres();
      try {
        const url = await pg.newDatabase();
        const a = await collector(join(root, 'key-a'), ['--postgres', url, '--cluster']);
        expect((await health(a.url)).body.log.size).toBe(0); // empty, its key recorded
        const other = startCollectorProcess(join(root, 'key-b'), ['--postgres', url, '--cluster']);
        await expect(other).rejects.toThrow(/exited \(3\).*log_key_mismatch/s);
        // The first member is not stalled: it takes the lease and sequences.
        await ingest(a.url, 'one', 1);
        await until('a sequences', async () => (await health(a.url)).body.log.size === 1);
        await stop(a);
      } finally {
        await pg.stop();
      }
    },
  );

  it(
    'a member whose wall clock steps back an hour still follows, and takes over',
    {
      timeout: 90_000,
    },
    async () => {
      const pg = await startTestPostgres();
      try {
        const url = await pg.newDatabase();
        const data = join(root, 'clock-a');
        const a = await collector(data, ['--postgres', url, '--cluster']);
        await until(
          'a sequences',
          async () => (await health(a.url)).body.cluster?.role === 'sequencer',
        );
        const dataB = join(root, 'clock-b');
        mkdirSync(dataB, { recursive: true });
        for (const f of ['log-signer.key', 'log-verifier.key']) {
          copyFileSync(join(data, f), join(dataB, f));
        }
        const preload = fileURLToPath(new URL('./fixtures/clock-step.mjs', import.meta.url));
        const b = await collector(dataB, ['--postgres', url, '--cluster'], ['--import', preload]);
        expect((await health(b.url)).body.cluster?.role).toBe('follower');
        b.child.kill('SIGUSR2');
        await until('b stepped its clock back', async () => b.stderr().includes('stepped back'));

        await ingest(a.url, 'before', 3);
        await until(
          'b follows the tree a sequences',
          async () => (await health(b.url)).body.log.size === 3,
        );
        await stop(a, 'SIGKILL'); // the leader dies; PostgreSQL ends its session and lock
        await until(
          'b takes over',
          async () => (await health(b.url)).body.cluster?.role === 'sequencer',
        );
        await ingest(b.url, 'after', 2);
        await until('b sequences', async () => (await health(b.url)).body.log.size === 5);
        await stop(b);
      } finally {
        await pg.stop();
      }
    },
  );
});
