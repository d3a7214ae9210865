/**
 * Issue 14, "reads that stall the log", against a real collector process on SQLite: 8 readers
 * of a trace and of provenance over 10,000 planted records run at once, and /healthz and ingest
 * answer while they run (they finish before the last read does), every read answering 200.
 * Ordering, not wall-clock thresholds: a machine under load only makes the reads longer.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-reads-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TRACE = 'c0ffeec0ffeec0ffeec0ffeec0ffee00';
const VICTIM = { id: 'user:victim', kind: 'human' };
const span = (i: number) => i.toString(16).padStart(16, '0');

const base = (type: string, time: string) => ({
  schema: 'provenant.event/v1',
  id: uuidv7(),
  time,
  type,
  initiator: VICTIM,
  actor: { id: 'spiffe://reads.test/agent/a/instance/1', kind: 'agent_instance' },
});

async function post(url: string, records: unknown[]): Promise<void> {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
  const body = (await res.json()) as { accepted: unknown[] };
  if (body.accepted.length !== records.length) throw new Error(JSON.stringify(body).slice(0, 500));
}

describe('reads never block ingest or health (a real collector, SQLite)', () => {
  it('answers /healthz and ingest during 8 parallel trace and provenance reads of planted records', async () => {
    const c = await startCollectorProcess(join(root, 'data'), ['--anonymous-ingest', 'asserted']);
    try {
      const actionTime = new Date(Date.now() - 60_000).toISOString();
      const action = {
        ...base('tool.called', actionTime),
        action: { name: 'fs.read', resource: 'file:/etc/hosts' },
        outcome: { status: 'success' },
      };
      await post(c.url, [action]);
      // 10,000 planted records: one chain of spans 10,000 deep in one trace, all "alerts" and
      // "revocations" of the victim after the action, for every provenance search to wade through.
      const planted = Array.from({ length: 10_000 }, (_, i) => ({
        ...base(i % 2 === 0 ? 'security.alert' : 'credential.revoked', new Date().toISOString()),
        ...(i % 2 === 0
          ? { action: { name: 'planted', resource: `record:${action.id}` } }
          : { credential: { jti: uuidv7(), iss: 'x', sub: VICTIM.id, iat: 1, exp: 2 } }),
        trace: {
          trace_id: TRACE,
          span_id: span(i + 1),
          ...(i === 0 ? {} : { parent_span_id: span(i) }),
        },
      }));
      for (let i = 0; i < planted.length; i += 5000) await post(c.url, planted.slice(i, i + 5000));

      // Reads as the admin token (every role), ready for role checks on the read routes.
      const admin = readFileSync(join(root, 'data', 'admin.token'), 'utf8').trim();
      const asAdmin = { headers: { authorization: `Bearer ${admin}` } };
      const order: string[] = [];
      const timed = async (name: string, url: string, init?: RequestInit) => {
        // Reads need a role: the collector's admin token.
        const res = await fetch(url, { ...init, headers: { ...init?.headers, ...c.admin } });
        const body = await res.text();
        order.push(name);
        return { status: res.status, body };
      };
      const readers = Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? timed(`provenance-${i}`, `${c.url}/v1/events/${action.id}/provenance`, asAdmin)
          : timed(`trace-${i}`, `${c.url}/v1/traces/${TRACE}?limit=1000`, asAdmin),
      );
      // Issued once all 8 reads are on their way.
      const health = timed('healthz', `${c.url}/healthz`, asAdmin);
      const ingest = timed('ingest', `${c.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ ...base('tool.called', new Date().toISOString()) }]),
      });
      const reads = await Promise.all(readers);
      expect((await health).status).toBe(200);
      expect((await ingest).status).toBe(200);
      for (const r of reads) expect(r.status, r.body.slice(0, 300)).toBe(200);
      const lastRead = Math.max(...order.map((n, k) => (/^(trace|provenance)/.test(n) ? k : -1)));
      expect(order.indexOf('healthz'), order.join(' ')).toBeLessThan(lastRead);
      expect(order.indexOf('ingest'), order.join(' ')).toBeLessThan(lastRead);

      // Planted rows never reach provenance's searches (only verified rows are read).
      const prov = JSON.parse(reads[0]!.body) as { truncated: boolean; chain: unknown[] };
      expect([prov.truncated, prov.chain.length]).toEqual([false, 1]);
      const trace = JSON.parse(reads[1]!.body) as { count: number; truncated: boolean };
      expect([trace.count, trace.truncated]).toEqual([1000, true]);
    } finally {
      c.child.kill('SIGTERM');
      await c.exited;
    }
  });
});
