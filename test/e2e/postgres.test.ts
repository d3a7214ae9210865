import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipPostgres, startTestPostgres } from '../support/postgres.js';
import type { TestPostgres } from '../support/postgres.js';
import { runCliAsync, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';
import { killWhileWriting } from './writers.js';

const KILLS = 5;
const CLIENTS = 3;
const BATCH = 25;

function rec(client: number) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: `user:client-${client}`, kind: 'human' },
    actor: { id: `spiffe://pg.test/agent/a/instance/${client}`, kind: 'agent_instance' },
    action: { name: 'fs.write', resource: 'file:/tmp/x', args: { n: Math.random() } },
  };
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const skip = skipPostgres();

describe.skipIf(skip)('collector on PostgreSQL (real processes)', () => {
  let server: TestPostgres;
  let pgUrl: string;
  const root = mkdtempSync(join(tmpdir(), 'provenant-pg-e2e-'));
  beforeAll(async () => {
    server = await startTestPostgres();
    pgUrl = await server.newDatabase();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it(`keeps every acknowledged record and the registry across ${KILLS} kill -9s`, async () => {
    const dir = join(root, 'data');
    const acked = new Map<string, number>();
    const start = () => startCollectorProcess(dir, ['--postgres', pgUrl]);

    let c: CollectorProcess = await start();
    const admin = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
    const reg = await fetch(`${c.url}/v1/principals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'user:alice', kind: 'human', shared: false, disabled: false }),
    });
    expect(reg.status, await reg.text()).toBe(201);
    const health = (await (await fetch(`${c.url}/healthz`, { headers: c.admin })).json()) as {
      storage: { kind: string };
    };
    expect(health.storage.kind).toBe('postgres');

    for (let round = 0; round < KILLS; round++) {
      if (round > 0) c = await start();
      // Killed once more than a batch is acknowledged, while the other writers are mid-request.
      await killWhileWriting(c, { clients: CLIENTS, batch: BATCH, record: rec, acked });
    }
    expect(acked.size).toBeGreaterThan(KILLS * BATCH);

    c = await start();
    try {
      // Every acknowledged record is there, at the leaf index it was acknowledged with.
      for (const [id, leaf] of acked) {
        const res = await fetch(`${c.url}/v1/events/${id}`, { headers: c.admin });
        expect(res.status, `acknowledged record ${id} is missing`).toBe(200);
        const body = (await res.json()) as { integrity: { leaf_index: number } };
        expect(body.integrity.leaf_index).toBe(leaf);
      }
      // The registry survived the kills (it lives in PostgreSQL too).
      const list = (await (
        await fetch(`${c.url}/v1/principals`, { headers: { authorization: `Bearer ${admin}` } })
      ).json()) as { principals: { id: string }[] };
      expect(list.principals.map((p) => p.id)).toContain('user:alice');

      // PostgreSQL down: ingest answers 503 (nothing acknowledged); back up: it recovers.
      if (server.canPause) {
        server.pause();
        const down = await post(c.url, [rec(9)]);
        expect(down.status).toBe(503);
        expect((await fetch(`${c.url}/healthz`)).status).toBe(503);
        server.start();
        // Back once PostgreSQL accepts connections again, however long its start takes.
        let up = await post(c.url, [rec(9)]);
        while (up.status === 503) {
          await new Promise((r) => setTimeout(r, 100));
          up = await post(c.url, [rec(9)]);
        }
        expect(up.status).toBe(200);
      } else {
        expect((await post(c.url, [rec(9)])).status).toBe(200);
      }

      // The whole log verifies against its signed checkpoint, through the API.
      const key = (await (await fetch(`${c.url}/v1/log/key`)).text()).trim();
      const token = c.admin.authorization.slice('Bearer '.length);
      const verifyArgs = ['verify', '--server', c.url, '--key', key, '--token', token, '--json'];
      const v = await runCliAsync(verifyArgs, {
        PROVENANT_HOME: join(root, 'home'),
      });
      expect(v.status, v.stderr).toBe(0);
      const result = JSON.parse(v.stdout) as { ok: boolean; size: number };
      expect(result.ok).toBe(true);
      expect(result.size).toBeGreaterThanOrEqual(acked.size + 1);
    } finally {
      c.child.kill('SIGTERM');
      await c.exited;
    }
  }, 120_000);
});
