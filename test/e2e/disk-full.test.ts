import { spawnSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';

/*
 * Issue 8: a collector whose SQLite ledger sits on a full disk answers 507 `storage_full` with
 * Retry-After, stays up, keeps every acknowledged record, never stores half a batch, and
 * recovers once space returns. The data folder is a real size-limited tmpfs, so that needs root
 * and a kernel that lets this process mount (`mount -t tmpfs`); where it cannot, the test says
 * why and is skipped (a container without CAP_SYS_ADMIN), rather than faking a full disk.
 */

const TMPFS_SIZE = '16m';
const HEADROOM = 512 * 1024; // left free after the ballast: a few commits still fit
const BATCH = 20;

const root = mkdtempSync(join(tmpdir(), 'provenant-disk-full-'));
const mnt = join(root, 'mnt');
mkdirSync(mnt);
const isRoot = process.getuid?.() === 0;
let mounted = false;
let skipReason: string | null = null;
if (!isRoot) {
  skipReason = 'mounting a size-limited tmpfs needs root';
} else {
  const r = spawnSync(
    'mount',
    ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', mnt],
    {
      encoding: 'utf8',
    },
  );
  if (r.status === 0) mounted = true;
  else skipReason = `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
}
if (skipReason) console.warn(`disk-full e2e: ${skipReason}`);

let collector: CollectorProcess | null = null;

afterAll(async () => {
  if (collector && collector.child.exitCode === null && collector.child.signalCode === null) {
    collector.child.kill('SIGKILL');
    await collector.exited;
  }
  if (mounted) {
    let r = spawnSync('umount', [mnt], { encoding: 'utf8' });
    if (r.status !== 0) r = spawnSync('umount', ['-l', mnt], { encoding: 'utf8' });
    if (r.status !== 0) console.warn(`disk-full e2e: cannot unmount ${mnt}: ${r.stderr}`);
  }
  rmSync(root, { recursive: true, force: true });
});

function rec(n: number) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:disk-full', kind: 'human' },
    actor: { id: 'spiffe://disk.test/agent/a/instance/1', kind: 'agent_instance' },
    action: { name: 'fs.write', resource: 'file:/tmp/x', args: { n, pad: 'x'.repeat(1500) } },
  };
}

type Batch = ReturnType<typeof rec>[];

async function post(url: string, batch: Batch) {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(batch),
  });
  const body = (await res.json()) as {
    accepted?: { id: string; leaf_index: number }[];
    error?: { code: string; message: string };
  };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
}

/** The admin token of the collector under test: its reads and health detail need a role. */
let readHeaders: Record<string, string> = {};

async function health(url: string) {
  const res = await fetch(`${url}/healthz`, { headers: readHeaders });
  const body = (await res.json()) as {
    status: string;
    storage: { ok: boolean; detail?: string };
    log: { size: number };
  };
  return { status: res.status, body };
}

/** Fills the file system with a ballast file, then gives back `headroom` bytes of it. */
function fillDisk(file: string, headroom: number): void {
  const fd = openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    for (const size of [chunk.length, 4096]) {
      for (;;) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - headroom));
  } finally {
    closeSync(fd);
  }
}

function verify(dir: string) {
  const v = runCli(['verify', '--data', dir, '--json'], { PROVENANT_HOME: join(root, 'home') });
  expect(v.status, `verify failed: ${v.stdout} ${v.stderr}`).toBe(0);
  const result = JSON.parse(v.stdout) as { ok: boolean; size: number };
  expect(result.ok).toBe(true);
  return result;
}

async function expectStored(url: string, acked: Map<string, number>) {
  for (const [id, leaf] of acked) {
    const res = await fetch(`${url}/v1/events/${id}`, { headers: readHeaders });
    expect(res.status, `acknowledged record ${id} is missing`).toBe(200);
    const body = (await res.json()) as { integrity: { leaf_index: number } };
    expect(body.integrity.leaf_index).toBe(leaf);
  }
}

describe.skipIf(!mounted)(
  `disk full (real collector, SQLite on a ${TMPFS_SIZE} tmpfs)${skipReason ? ` — skipped: ${skipReason}` : ''}`,
  () => {
    it('answers 507 storage_full without corrupting the log, and recovers when space returns', async () => {
      expect(skipReason, 'CI as root must be able to mount a tmpfs').toBeNull();
      const dir = join(mnt, 'data');
      const ballast = join(mnt, 'ballast');
      const acked = new Map<string, number>();
      let n = 0;
      const batch = (): Batch => Array.from({ length: BATCH }, () => rec(n++));
      const accept = (r: Awaited<ReturnType<typeof post>>, sent: Batch) => {
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.accepted!.map((a) => a.id)).toEqual(sent.map((s) => s.id));
        for (const a of r.body.accepted!) acked.set(a.id, a.leaf_index);
      };

      collector = await startCollectorProcess(dir);
      readHeaders = collector.admin;
      const url = collector.url;
      for (let i = 0; i < 5; i++) {
        const b = batch();
        accept(await post(url, b), b);
      }
      expect(verify(dir).size).toBe(acked.size);

      // Fill the disk, leaving room for a few more commits: ingest runs out mid-stream.
      fillDisk(ballast, HEADROOM);
      const failed: Batch[] = [];
      let acceptedAfterBallast = 0;
      for (let i = 0; i < 500 && failed.length === 0; i++) {
        const b = batch();
        const r = await post(url, b);
        if (r.status === 200) {
          accept(r, b);
          acceptedAfterBallast++;
          continue;
        }
        expect([507, 503]).toContain(r.status);
        expect(r.body.error?.code).toBe('storage_full');
        expect(Number(r.retryAfter)).toBeGreaterThan(0);
        failed.push(b);
      }
      expect(failed.length, 'the disk never filled up').toBe(1);
      expect(acceptedAfterBallast).toBeGreaterThan(0);

      // Stays full and says so, with the same code, every time; the process stays up.
      for (let i = 0; i < 3; i++) {
        const b = batch();
        const r = await post(url, b);
        expect(r.status).toBe(507);
        expect(r.body.error?.code).toBe('storage_full');
        expect(r.retryAfter).toBe('10');
        failed.push(b);
      }
      expect(collector.child.exitCode).toBeNull();
      const full = await health(url);
      expect(full.status).toBe(503);
      expect(full.body.status).toBe('degraded');
      expect(full.body.storage.detail).toMatch(/^storage_full/);
      expect(full.body.log.size).toBe(acked.size);

      // Every acknowledged record is there at its leaf; nothing of a refused batch is.
      await expectStored(url, acked);
      for (const b of failed) {
        for (const r of b) {
          const res = await fetch(`${url}/v1/events/${r.id}`, { headers: readHeaders });
          expect(res.status, `record ${r.id} of a refused batch was stored`).toBe(404);
        }
      }
      // The log verifies offline while the collector runs on the full disk.
      expect(verify(dir).size).toBe(acked.size);

      // Space returns: health turns ok without any ingest, then ingest works again.
      unlinkSync(ballast);
      const deadline = Date.now() + 10_000;
      let h = await health(url);
      while (h.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        h = await health(url);
      }
      expect(h.status, JSON.stringify(h.body)).toBe(200);
      const sizeBefore = acked.size;
      for (const b of failed) accept(await post(url, b), b); // re-sent: stored now, in order
      const more = batch();
      accept(await post(url, more), more);
      const leaves = [...acked.values()].sort((a, b) => a - b);
      expect(leaves).toEqual(leaves.map((_, i) => i)); // no gap, no reuse
      expect(acked.get(failed[0]![0]!.id)).toBe(sizeBefore);

      await expectStored(url, acked);
      expect((await health(url)).body.log.size).toBe(acked.size);
      const checkpoint = await (await fetch(`${url}/v1/log/checkpoint`)).text();
      expect(Number(checkpoint.split('\n')[1])).toBe(acked.size);
      // Consistent with the checkpoint verify saw while the disk was full (kept in known/).
      expect(verify(dir).size).toBe(acked.size);

      // A clean stop, and a restart that re-checks the stored tree against its checkpoint.
      collector.child.kill('SIGTERM');
      expect(await collector.exited).toBe(0);
      collector = await startCollectorProcess(dir);
      readHeaders = collector.admin;
      expect((await health(collector.url)).body.log.size).toBe(acked.size);
      collector.child.kill('SIGTERM');
      expect(await collector.exited).toBe(0);
      expect(verify(dir).size).toBe(acked.size);
    }, 120_000);
  },
);
