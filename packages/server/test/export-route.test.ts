import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@provenant/core';
import { MemoryStorage } from '@provenant/ledger';
import type { FastifyInstance } from 'fastify';
import { exportChunks, exportPages } from '../src/export/stream.js';
import type { OcsfApiActivity, ServedRecord } from '../src/export/ocsf.js';
import { makeApp, postJson, record, asAdmin } from './helpers.js';

let app: FastifyInstance;
let storage: MemoryStorage;
const ids: string[] = [];

beforeAll(async () => {
  storage = new MemoryStorage();
  ({ app } = await makeApp({ storage }));
  const records = [...Array(2500).keys()].map((i) => {
    const id = uuidv7();
    ids.push(id);
    return record({
      id,
      time: `2026-11-27T13:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`,
      type: i % 5 === 0 ? 'prompt.received' : 'tool.called',
    });
  });
  for (let i = 0; i < records.length; i += 1000) {
    const res = await postJson(app, records.slice(i, i + 1000));
    expect(res.statusCode).toBe(200);
  }
});
afterAll(() => app.close());

const lines = (body: string) =>
  body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('GET /v1/export', () => {
  it('streams every record as NDJSON, the same as GET /v1/events serves them', async () => {
    const res = await app.inject({
      headers: asAdmin,
      method: 'GET',
      url: '/v1/export?format=jsonl',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['x-provenant-tree-size']).toBe('2500');
    expect(res.headers['content-length']).toBeUndefined(); // streamed, not buffered
    const all = lines(res.body);
    expect(all.map((r) => r['id'])).toEqual(ids);
    const page = await app.inject({ headers: asAdmin, method: 'GET', url: '/v1/events?limit=3' });
    expect(all.slice(0, 3)).toEqual((page.json() as { events: unknown[] }).events);
    // jsonl is the default format.
    expect((await app.inject({ headers: asAdmin, method: 'GET', url: '/v1/export' })).body).toBe(
      res.body,
    );
  });

  it('streams OCSF API Activity events, with filters', async () => {
    const res = await app.inject({
      headers: asAdmin,
      method: 'GET',
      url: '/v1/export?format=ocsf&type=prompt.received&from=2026-11-27T13:10:00Z&to=2026-11-27T13:20:00Z',
    });
    expect(res.statusCode).toBe(200);
    const events = lines(res.body) as unknown as OcsfApiActivity[];
    expect(events.length).toBe(120);
    for (const e of events) {
      expect(e.class_uid).toBe(6003);
      expect(e.metadata.event_code).toBe('prompt.received');
      expect(e.time).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 27, 13, 10));
      expect(e.time).toBeLessThan(Date.UTC(2026, 10, 27, 13, 20));
    }
    const first = events[0]!;
    expect(first.metadata.uid).toBe(ids[first.metadata.sequence!]);
  });

  it('takes the search filters of GET /v1/events', async () => {
    const count = async (q: string) => {
      const res = await app.inject({ headers: asAdmin, url: `/v1/export?${q}` });
      expect(res.statusCode, res.body).toBe(200);
      return res.body.trim() === '' ? 0 : lines(res.body).length;
    };
    expect(await count('action=github.*&type=prompt.received')).toBe(500);
    expect(await count(`resource=${encodeURIComponent('repo:acme/')}&outcome=success`)).toBe(2500);
    expect(await count(`resource=${encodeURIComponent('repo:acme/web')}`)).toBe(0);
    expect(await count('q=github.delete_repo&outcome=denied')).toBe(0);
    expect(await count(`q=${ids[7]}`)).toBe(1);
  });

  it('refuses a bad format with unsupported_export_format, and other bad input', async () => {
    const bad = async (url: string, status: number, code: string) => {
      const res = await app.inject({ headers: asAdmin, method: 'GET', url });
      expect(res.statusCode).toBe(status);
      expect((res.json() as { error: { code: string } }).error.code).toBe(code);
    };
    await bad('/v1/export?format=csv', 400, 'unsupported_export_format');
    await bad('/v1/export?format=otlp', 400, 'unsupported_export_format');
    await bad('/v1/export?format=constructor', 400, 'unsupported_export_format');
    await bad('/v1/export?format=__proto__', 400, 'unsupported_export_format');
    await bad('/v1/export?format=jsonl&format=ocsf', 400, 'unsupported_export_format');
    await bad('/v1/export?format=jsonl&colour=red', 400, 'invalid_parameter');
    await bad('/v1/export?from=yesterday', 400, 'invalid_parameter');
    await bad('/v1/export?level=trusted', 400, 'invalid_parameter');
    await bad('/v1/export?type=a.b&type=c.d', 400, 'invalid_parameter');
    await bad(
      '/v1/export?from=2026-11-27T14:00:00Z&to=2026-11-27T13:00:00Z',
      400,
      'invalid_time_range',
    );
    await bad('/v1/export?__proto__=x', 400, 'invalid_parameter');
    await bad('/v1/export?outcome=failed', 400, 'invalid_parameter');
    await bad('/v1/export?limit=5', 400, 'invalid_parameter');
    await bad('/v1/export?order=desc', 400, 'invalid_parameter');
  });

  it('answers an empty selection with an empty body', async () => {
    const res = await app.inject({
      headers: asAdmin,
      method: 'GET',
      url: '/v1/export?type=no.such',
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
  });
});

describe('export paging', () => {
  it('reads one page at a time, up to the tree size it was given', async () => {
    const pages: number[] = [];
    for await (const page of exportPages(storage, {}, { pageSize: 700, treeSize: 2000 })) {
      pages.push(page.length);
    }
    expect(pages).toEqual([700, 700, 600]);
    let text = '';
    for await (const chunk of exportChunks(storage, { type: 'tool.called' }, 'ocsf', {
      pageSize: 1000,
    })) {
      text += chunk;
    }
    const events = lines(text) as unknown as OcsfApiActivity[];
    expect(events).toHaveLength(2000);
    const sample = JSON.parse((await storage.getEntries(1, 1))[0]!.canonical) as ServedRecord;
    expect(events[0]!.metadata.uid).toBe(sample.id);
  });
});
