/**
 * Trace pages built in the investigation worker (a thread with its own read-only connection):
 * the same answer as the one built on the event loop from the same ledger, paging included,
 * from a thread that runs below the collector's priority.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import type { RunningCollector } from '../src/index.js';
import { readTracePage } from '../src/investigate/trace.js';
import { InvestigationWorker, INVESTIGATION_NICE } from '../src/investigate/worker-client.js';
import { record } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-investigate-worker-'));
const TRACE = 'abcdef0123456789abcdef0123456789';
const span = (i: number) => i.toString(16).padStart(16, '0');
let running: RunningCollector;
let admin: Record<string, string>;

beforeAll(async () => {
  running = await startCollector({
    dataDir: join(root, 'data'),
    host: '127.0.0.1',
    port: 0,
    anonymousIngest: 'asserted',
  });
  admin = {
    authorization: `Bearer ${readFileSync(join(root, 'data', 'admin.token'), 'utf8').trim()}`,
  };
  // A chain of five spans, not privileged (anonymous records of privileged actions are refused).
  const records = Array.from({ length: 5 }, (_, i) =>
    record({
      action: { name: 'repo.read', resource: `repo:acme/r${i}` },
      trace: { trace_id: TRACE, span_id: span(i + 1), ...(i ? { parent_span_id: span(i) } : {}) },
    }),
  );
  const res = await fetch(`${running.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
  expect(res.status).toBeLessThan(300);
});
afterAll(async () => {
  await running?.close();
  rmSync(root, { recursive: true, force: true });
});

const get = async (path: string) => {
  const res = await fetch(`${running.url}${path}`, { headers: admin });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
};

describe('the investigation worker', () => {
  it('answers a trace page, and the next, as the event loop would build them', async () => {
    const first = await get(`/v1/traces/${TRACE}?limit=3`);
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^application\/json/);
    expect(first.body).toEqual(await readTracePage(running.storage, { traceId: TRACE, limit: 3 }));
    expect(first.body.count).toBe(3);
    expect(first.body.truncated).toBe(true);
    const second = await get(first.body.next as string);
    expect(second.status).toBe(200);
    expect(second.body.count).toBe(2);
    expect(second.body.truncated).toBe(false);
    expect(second.body.next_cursor).toBeNull();
  });

  it('answers 404 not_found for a trace with no record', async () => {
    const res = await get(`/v1/traces/${'1'.repeat(32)}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it.runIf(process.platform === 'linux')('runs below the priority of the collector', async () => {
    // The collector's own worker runs at INVESTIGATION_NICE; another value names this one.
    expect(INVESTIGATION_NICE).toBeGreaterThan(0);
    const worker = new InvestigationWorker(join(root, 'data', 'ledger.db'), 7);
    try {
      expect(await worker.trace({ traceId: TRACE, limit: 1 })).toContain(TRACE);
      const nice = readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      });
      // Relative to the collector's own nice value (the suite may itself run under `nice`).
      const own = getPriority();
      expect(nice).toContain(Math.min(19, own + 7));
      expect(nice).toContain(own);
    } finally {
      await worker.close();
    }
  });

  it('refuses with storage_unavailable once closed, and on a file that is no ledger', async () => {
    const closed = new InvestigationWorker(join(root, 'data', 'ledger.db'));
    await closed.close();
    await expect(closed.trace({ traceId: TRACE, limit: 1 })).rejects.toMatchObject({
      code: 'storage_unavailable',
    });
    const missing = new InvestigationWorker(join(root, 'no-such-ledger.db'));
    await expect(missing.trace({ traceId: TRACE, limit: 1 })).rejects.toMatchObject({
      code: 'storage_unavailable',
    });
    await missing.close();
  });
});
