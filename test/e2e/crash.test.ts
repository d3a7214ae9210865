import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';
import { killWhileWriting } from './writers.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const KILLS = 20;
const CLIENTS = 4;
const BATCH = 25;

function rec(client: number) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: `user:client-${client}`, kind: 'human' },
    actor: { id: `spiffe://crash.test/agent/a/instance/${client}`, kind: 'agent_instance' },
    action: { name: 'fs.write', resource: 'file:/tmp/x', args: { n: Math.random() } },
  };
}

describe('crash safety (real processes, kill -9)', () => {
  it(`keeps every acknowledged record at its leaf index across ${KILLS} kill -9s`, async () => {
    const dir = join(root, 'data');
    const acked = new Map<string, number>();
    for (let round = 0; round < KILLS; round++) {
      const c: CollectorProcess = await startCollectorProcess(dir);
      // Killed once more than a batch is acknowledged, while the other writers are mid-request.
      await killWhileWriting(c, { clients: CLIENTS, batch: BATCH, record: rec, acked });
    }
    expect(acked.size).toBeGreaterThan(KILLS * BATCH);

    const c = await startCollectorProcess(dir);
    try {
      for (const [id, leaf] of acked) {
        const res = await fetch(`${c.url}/v1/events/${id}`, { headers: c.admin });
        expect(res.status, `acknowledged record ${id} is missing`).toBe(200);
        const body = (await res.json()) as { integrity: { leaf_index: number } };
        expect(body.integrity.leaf_index).toBe(leaf);
      }
    } finally {
      c.child.kill('SIGTERM');
      await c.exited;
    }
    const v = runCli(['verify', '--data', dir, '--json'], { PROVENANT_HOME: join(root, 'home') });
    expect(v.status, v.stderr).toBe(0);
    const result = JSON.parse(v.stdout) as { ok: boolean; size: number };
    expect(result.ok).toBe(true);
    expect(result.size).toBeGreaterThanOrEqual(acked.size);
  }, 300_000);
});
