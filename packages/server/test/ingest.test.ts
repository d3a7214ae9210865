import { canonicalize } from '@provenant/core';
import { MemoryStorage, StorageError, hashLeaf } from '@provenant/ledger';
import type { AppendBatch } from '@provenant/ledger';
import { describe, expect, it } from 'vitest';
import { makeApp, postJson, record, asAdmin } from './helpers.js';
import type { IngestAnswer } from './helpers.js';

describe('POST /v1/events', () => {
  it('accepts one record and answers its leaf index and attribution level', async () => {
    const { app, log } = await makeApp();
    const r = record();
    const res = await postJson(app, r);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      accepted: [{ id: r['id'], leaf_index: 0, attribution: { level: 'asserted' } }],
      rejected: [],
    });
    expect(log.size).toBe(1);
  });

  it('accepts a JSON array and NDJSON, in order', async () => {
    const { app } = await makeApp();
    const batch = [record(), record(), record()];
    const a = (await postJson(app, batch)).json<IngestAnswer>();
    expect(a.accepted.map((x) => x.leaf_index)).toEqual([0, 1, 2]);
    const nd = [record(), record()].map((x) => JSON.stringify(x)).join('\n') + '\n';
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: nd,
    });
    expect(res.json<IngestAnswer>().accepted.map((x) => x.leaf_index)).toEqual([3, 4]);
  });

  it('rejects only the NDJSON line that is not JSON', async () => {
    const { app, log } = await makeApp();
    const nd = `${JSON.stringify(record())}\n{not json\n${JSON.stringify(record())}\n`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: nd,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<IngestAnswer>();
    expect(body.accepted).toHaveLength(2);
    expect(body.rejected).toEqual([expect.objectContaining({ index: 1, code: 'malformed_json' })]);
    expect(log.size).toBe(2);
  });

  it('ignores attribution and integrity claimed by the input', async () => {
    const { app } = await makeApp();
    const r = record({
      attribution: { level: 'verified', reasons: [] },
      integrity: { leaf_index: 99, leaf_hash: 'forged' },
    });
    const res = await postJson(app, r);
    expect(res.json<IngestAnswer>().accepted[0]).toMatchObject({
      leaf_index: 0,
      attribution: { level: 'asserted' },
    });
    const stored = (await app.inject({ headers: asAdmin, url: `/v1/events/${r['id']}` })).json();
    expect(stored.attribution).toEqual({ level: 'asserted', reasons: [] });
    expect(stored.integrity.leaf_index).toBe(0);
  });

  it('marks a record without an initiator or actor unattributed', async () => {
    const { app } = await makeApp();
    const r = record();
    delete r['actor'];
    const res = await postJson(app, r);
    expect(res.json<IngestAnswer>().accepted[0]!.attribution.level).toBe('unattributed');
  });

  it('returns the original leaf index when an accepted id is re-sent', async () => {
    const { app, log } = await makeApp();
    const r = record();
    await postJson(app, [record(), r]);
    const again = await postJson(app, r);
    expect(again.statusCode).toBe(200);
    expect(again.json<IngestAnswer>().accepted[0]!.leaf_index).toBe(1);
    expect(log.size).toBe(2);
  });

  it('rejects the same id with other content as id_conflict and stores nothing', async () => {
    const { app, log } = await makeApp();
    const r = record();
    await postJson(app, r);
    const res = await postJson(app, { ...r, type: 'action.performed' });
    expect(res.statusCode).toBe(422);
    expect(res.json<IngestAnswer>().rejected).toEqual([
      expect.objectContaining({ index: 0, id: r['id'], code: 'id_conflict' }),
    ]);
    expect(log.size).toBe(1);
  });

  it('answers 200 with both lists when some records are rejected', async () => {
    const { app } = await makeApp();
    const res = await postJson(app, [record(), record({ id: 'nope' }), record()]);
    expect(res.statusCode).toBe(200);
    const body = res.json<IngestAnswer>();
    expect(body.accepted.map((a) => a.leaf_index)).toEqual([0, 1]);
    expect(body.rejected).toEqual([
      expect.objectContaining({ index: 1, id: 'nope', code: 'invalid_id' }),
    ]);
  });

  it('stores exactly the canonical record, so anyone can recompute its leaf hash', async () => {
    const { app } = await makeApp();
    const r = record({ action: { name: 'x.y', args: { b: 1, a: [1e21, -0, 4.5] } } });
    await postJson(app, r);
    const stored = (await app.inject({ headers: asAdmin, url: `/v1/events/${r['id']}` })).json();
    const { integrity, ...rest } = stored;
    const leaf = hashLeaf(new TextEncoder().encode(canonicalize(rest)));
    expect(Buffer.from(leaf).toString('base64')).toBe(integrity.leaf_hash);
    expect(rest.action.args).toEqual({ a: [1e21, 0, 4.5], b: 1 });
  });
});

describe('POST /v1/events with bad input', () => {
  async function expectRejected(payload: unknown, code: string) {
    const { app, log } = await makeApp();
    const res = await postJson(app, payload);
    expect(res.statusCode).toBe(422);
    expect(res.json<IngestAnswer>().rejected[0]!.code).toBe(code);
    expect(log.size).toBe(0);
    const health = await app.inject({ url: '/healthz' });
    expect(health.statusCode).toBe(200);
  }

  it('rejects an unknown schema version', () =>
    expectRejected(record({ schema: 'provenant.event/v2' }), 'unknown_schema'));
  it('rejects an id that is not a UUID', () =>
    expectRejected(record({ id: '12345' }), 'invalid_id'));
  it('rejects a time that does not parse', () =>
    expectRejected(record({ time: '2026-13-45T99:00:00Z' }), 'invalid_time'));
  it('rejects a field of the wrong type', () =>
    expectRejected(record({ type: 42 }), 'invalid_field'));
  it('rejects a field the schema does not know', () =>
    expectRejected(record({ surprise: true }), 'unknown_field'));
  it('rejects a record that is not an object', () => expectRejected([42], 'not_an_object'));

  it('rejects deeply nested args', () => {
    // Built as text: 100,000 levels is deeper than JSON.stringify itself can go.
    const r = JSON.stringify(record({ action: { name: 'a.b', args: { deep: 'DEEP' } } }));
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    return expectRejected(r.replace('"DEEP"', deep), 'args_too_deep');
  });

  it('rejects deep nesting outside args without overflowing', () => {
    const r = JSON.stringify(record({ task_id: 'DEEP' }));
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    return expectRejected(r.replace('"DEEP"', deep), 'invalid_field');
  });

  it('rejects huge arrays in args', () =>
    expectRejected(
      record({ action: { name: 'a.b', args: { many: Array(100_000).fill(1) } } }),
      'args_too_large',
    ));

  it('rejects a record over 64 KiB', () =>
    expectRejected(
      record({ action: { name: 'a.b', args: { blob: 'x'.repeat(70_000) } } }),
      'record_too_large',
    ));

  async function expectRequestError(
    inject: Parameters<Awaited<ReturnType<typeof makeApp>>['app']['inject']>[0],
    status: number,
    code: string,
    limits = {},
  ) {
    const { app, log } = await makeApp({ limits });
    const res = await app.inject(inject);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(typeof res.json().error.message).toBe('string');
    expect(log.size).toBe(0);
    expect((await postJson(app, record())).statusCode).toBe(200); // still serving
  }

  it('answers malformed JSON with 400 malformed_json', () =>
    expectRequestError(
      {
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json' },
        payload: '{"schema":',
      },
      400,
      'malformed_json',
    ));

  it('answers an empty body with 400 malformed_json', () =>
    expectRequestError(
      {
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json' },
        payload: '',
      },
      400,
      'malformed_json',
    ));

  it('answers a wrong content type with 415', () =>
    expectRequestError(
      {
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify(record()),
      },
      415,
      'unsupported_media_type',
    ));

  it('answers a body over the limit with 413 body_too_large', () =>
    expectRequestError(
      {
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify([record(), record(), record()]),
      },
      413,
      'body_too_large',
      { bodyLimit: 1024 },
    ));

  it('answers more than 5,000 records with 413 too_many_records', async () => {
    const r = JSON.stringify(record());
    await expectRequestError(
      {
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json' },
        payload: `[${Array(5_001).fill(r).join(',')}]`,
      },
      413,
      'too_many_records',
    );
  });

  it('answers an empty array with 400 empty_batch', () =>
    expectRequestError(
      {
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json' },
        payload: '[]',
      },
      400,
      'empty_batch',
    ));
});

describe('ingest under storage trouble', () => {
  it('answers 503 storage_unavailable when the commit fails, and acknowledges nothing', async () => {
    class Failing extends MemoryStorage {
      override async append(batch: AppendBatch): Promise<void> {
        // The empty tree's checkpoint stored at open lands; every commit of records fails.
        if (batch.entries.length === 0) return super.append(batch);
        throw new StorageError('storage_unavailable', 'disk full');
      }
    }
    const { app } = await makeApp({ storage: new Failing() });
    const res = await postJson(app, record());
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('storage_unavailable');
  });

  it('pushes back with 503 overloaded and Retry-After when the queue is full', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let committing = false;
    class Slow extends MemoryStorage {
      override async append(batch: AppendBatch): Promise<void> {
        if (batch.entries.length === 0) return super.append(batch); // the open's empty checkpoint
        committing = true;
        await gate;
        return super.append(batch);
      }
    }
    const { app, log } = await makeApp({ storage: new Slow(), limits: { maxQueuedEntries: 1 } });
    // Wait on state, not on time, so a loaded machine cannot reorder the steps.
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(cond()).toBe(true);
    };
    const first = postJson(app, record()); // taken by the sequencer, waits on the gate
    await until(() => committing);
    const second = postJson(app, [record(), record()]); // queued behind it
    await until(() => log.queuedEntries === 2);
    const third = await postJson(app, record());
    expect(third.statusCode).toBe(503);
    expect(third.json().error.code).toBe('overloaded');
    expect(third.headers['retry-after']).toBe('1');
    release();
    expect((await first).statusCode).toBe(200);
    expect((await second).json<IngestAnswer>().accepted.map((a) => a.leaf_index)).toEqual([1, 2]);
  });
});
