import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Spool } from '../src/export/spool.js';
import { HttpRecordExporter } from '../src/export/http.js';
import { redact } from '../src/lib/redact.js';
import { actorOf } from '../src/lib/principal.js';
import {
  formatTraceparent,
  parseTraceparent,
  traceparentFromHeaders,
  traceparentFromMcpMeta,
} from '../src/index.js';
import { parseEventRecord } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { decodeJwt } from 'jose';
import { toolRecord } from '../src/records/build.js';
import { memoryIssuer } from '../src/testing/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('unit');
afterAll(() => tmp.remove());

const rec = (id: string) => ({ schema: 'provenant.event/v1', id }) as unknown as EventRecord;

describe('spool', () => {
  it('replays records in order with the credential each was made under, across a reopen', () => {
    const dir = join(tmp.dir, 's1');
    const a = new Spool(dir, 1 << 20, 'always', 10);
    expect(
      a.append(
        [
          { token: 'T1', json: '{"n":1}' },
          { token: 'T1', json: '{"n":2}' },
        ],
        false,
      ),
    ).toBe(true);
    expect(a.append([{ token: 'T2', json: '{"n":3}' }], false)).toBe(true);
    const first = a.read(2);
    expect(first.runs).toEqual([{ token: 'T1', records: ['{"n":1}', '{"n":2}'] }]);
    a.commit(first.end, first.token);
    a.close();
    // Reopen (as after a crash): the cursor and the credential in force are kept.
    const b = new Spool(dir, 1 << 20, 'always', 10);
    expect(b.pending).toBe(true);
    b.append([{ token: 'T2', json: '{"n":4}' }], false);
    const rest = b.read(100);
    expect(rest.runs).toEqual([{ token: 'T2', records: ['{"n":3}', '{"n":4}'] }]);
    b.commit(rest.end, rest.token);
    expect(b.pending).toBe(false);
    expect(b.bytes).toBe(0); // drained: reset
    b.close();
  });

  it('cuts a torn last line and refuses appends over its size bound', () => {
    const dir = join(tmp.dir, 's2');
    const a = new Spool(dir, 200, 'never', 10);
    a.append([{ token: 'T', json: '{"n":1}' }], false);
    a.close();
    appendFileSync(join(dir, 'spool.ndjson'), '{"n":2, "torn');
    const b = new Spool(dir, 200, 'never', 10);
    expect(b.read(10).runs).toEqual([{ token: 'T', records: ['{"n":1}'] }]);
    expect(b.append([{ token: 'T', json: `{"big":"${'x'.repeat(300)}"}` }], false)).toBe(false);
    expect(b.append([{ token: 'T', json: '{"n":3}' }], false)).toBe(true);
    expect(readFileSync(join(dir, 'spool.ndjson'), 'utf8')).toBe(
      '{"t":"T"}\n{"n":1}\n{"t":"T"}\n{"n":3}\n',
    );
    b.close();
  });

  it('ignores an unreadable cursor file and starts from the beginning', () => {
    const dir = join(tmp.dir, 's3');
    const a = new Spool(dir, 1 << 20, 'batch', 10);
    a.append([{ token: 'T', json: '{"n":1}' }], true);
    a.close();
    writeFileSync(join(dir, 'spool.cursor'), 'garbage');
    const b = new Spool(dir, 1 << 20, 'batch', 10);
    expect(b.read(10).count).toBe(1);
    b.close();
  });
});

describe('HTTP exporter', () => {
  it('retries after 503 honouring Retry-After, then delivers', async () => {
    const calls: number[] = [];
    const fake: typeof fetch = async () => {
      calls.push(Date.now());
      return calls.length === 1
        ? new Response('{"error":{"code":"overloaded"}}', {
            status: 503,
            headers: { 'retry-after': '1' },
          })
        : new Response('{"accepted":[{"id":"a"}],"rejected":[]}', { status: 200 });
    };
    const d = new HttpRecordExporter({
      collectorUrl: 'http://x.invalid',
      fetch: fake,
      spool: null,
      maxBatch: 10,
      maxDelayMs: 1,
      maxQueued: 10,
      overflow: 'block',
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 5_000 },
    });
    void d.export({ records: [rec('a')], credential: 'T' });
    await d.forceFlush();
    expect(calls).toHaveLength(2);
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(950);
    expect(d.stats()).toMatchObject({ delivered: 1, retries: 1, queued: 0 });
  });

  it('counts and reports records the collector refuses, without retrying them', async () => {
    const refused: string[] = [];
    const d = new HttpRecordExporter({
      collectorUrl: 'http://x.invalid',
      fetch: async () =>
        new Response(
          JSON.stringify({
            accepted: [],
            rejected: [{ index: 0, id: 'a', code: 'attribution_mismatch', message: 'no' }],
          }),
          { status: 422 },
        ),
      spool: null,
      maxBatch: 10,
      maxDelayMs: 1,
      maxQueued: 10,
      overflow: 'block',
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
      onRejected: (r) => refused.push(r.code),
    });
    void d.export({ records: [rec('a')], credential: 'T' });
    await d.forceFlush();
    expect(refused).toEqual(['attribution_mismatch']);
    expect(d.stats()).toMatchObject({ rejected: 1, delivered: 0, retries: 0 });
  });
});

describe('HTTP exporter and Transaction Tokens', () => {
  /** A collector that accepts everything, refusing a request whose Txn-Token is `expired`. */
  function collector() {
    const posts: { txn: string | null; ids: string[] }[] = [];
    const fake: typeof fetch = async (_url, init) => {
      const txn = new Headers(init?.headers).get('txn-token');
      const ids = (JSON.parse(String(init?.body)) as { id: string }[]).map((r) => r.id);
      posts.push({ txn, ids });
      if (txn === 'expired') {
        return new Response('{"error":{"code":"expired","message":"Txn-Token: expired"}}', {
          status: 401,
        });
      }
      return new Response(JSON.stringify({ accepted: ids.map((id) => ({ id })), rejected: [] }));
    };
    const exporter = new HttpRecordExporter({
      collectorUrl: 'http://x.invalid',
      fetch: fake,
      spool: null,
      maxBatch: 10,
      maxDelayMs: 1,
      maxQueued: 10,
      overflow: 'block',
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 10 },
    });
    return { posts, exporter };
  }

  it('sends each run of records with its Txn-Token header, one request per credential and token', async () => {
    const { posts, exporter } = collector();
    void exporter.export({ records: [rec('a'), rec('b')], credential: 'T', txnToken: 'X1' });
    void exporter.export({ records: [rec('c')], credential: 'T', txnToken: 'X2' });
    void exporter.export({ records: [rec('d')], credential: 'T' });
    await exporter.forceFlush();
    expect(posts).toEqual([
      { txn: 'X1', ids: ['a', 'b'] },
      { txn: 'X2', ids: ['c'] },
      { txn: null, ids: ['d'] },
    ]);
    expect(exporter.stats()).toMatchObject({ delivered: 4, rejected: 0 });
  });

  it('sends a run refused with its Txn-Token again without it: the records are kept', async () => {
    const { posts, exporter } = collector();
    void exporter.export({ records: [rec('a')], credential: 'T', txnToken: 'expired' });
    await exporter.forceFlush();
    expect(posts).toEqual([
      { txn: 'expired', ids: ['a'] },
      { txn: null, ids: ['a'] },
    ]);
    expect(exporter.stats()).toMatchObject({ delivered: 1, rejected: 0 });
  });
});

describe('helpers', () => {
  it('parses and formats W3C traceparent from headers and MCP _meta', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(tp)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(formatTraceparent(parseTraceparent(tp)!)).toBe(tp);
    expect(traceparentFromHeaders({ TraceParent: tp })?.spanId).toBe('00f067aa0ba902b7');
    expect(traceparentFromHeaders(new Headers({ traceparent: tp }))?.sampled).toBe(true);
    expect(traceparentFromMcpMeta({ traceparent: tp })?.traceId).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    for (const bad of [
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    ]) {
      expect(parseTraceparent(bad)).toBeNull();
    }
  });

  it('redacts paths in a copy, leaving the caller object alone', () => {
    const args = {
      repo: 'a',
      token: 's3cret',
      headers: { authorization: 'Bearer x', accept: '*/*' },
    };
    expect(redact(args, ['token', 'headers.authorization', 'missing.path'])).toEqual({
      repo: 'a',
      token: '[redacted]',
      headers: { authorization: '[redacted]', accept: '*/*' },
    });
    expect(args.token).toBe('s3cret');
  });

  it('reads principal kinds and agent names from ids', () => {
    expect(actorOf('user:alice').kind).toBe('human');
    expect(actorOf('workflow:nightly').kind).toBe('workflow');
    expect(actorOf('sa:ci-bot').kind).toBe('service_account');
    expect(
      actorOf('spiffe://acme.test/agent/researcher/instance/7f3a', { version: '2.1.0' }),
    ).toEqual({
      id: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      kind: 'agent_instance',
      agent: 'researcher',
      version: '2.1.0',
      instance: '7f3a',
    });
  });
});

describe('record builders', () => {
  const context = {
    credential: {} as never,
    identity: {} as never,
    initiator: { id: 'user:alice', kind: 'human' as const },
    actor: { id: 'spiffe://acme.test/agent/planner/instance/1', kind: 'agent_instance' as const },
    taskId: 'task-1',
    sessionId: '0190a1b2-0000-7000-8000-00000000000a',
    conversationId: undefined,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    sampled: true,
    invocationId: '0190a1b2-0000-7000-8000-00000000000b',
  };

  it('build the same record from the same options, with nothing read from the clock or a span', () => {
    const options = {
      context,
      id: '0190a1b2-0000-7000-8000-000000000001',
      time: Date.UTC(2026, 0, 2, 3, 4, 5),
      host: 'h1',
      action: { name: 'github.get_file', resource: 'repo:acme/payments' },
      outcome: { status: 'pending' as const },
      trace: { trace_id: context.traceId, span_id: 'b7ad6b7169203331' },
    };
    const a = toolRecord(options);
    expect(toolRecord(options)).toEqual(a);
    expect(a).toEqual({
      schema: 'provenant.event/v1',
      id: options.id,
      time: '2026-01-02T03:04:05.000Z',
      type: 'tool.called',
      initiator: context.initiator,
      cause: { kind: 'agent_decision', record_id: context.invocationId },
      actor: context.actor,
      action: options.action,
      outcome: { status: 'pending' },
      trace: options.trace,
      session_id: context.sessionId,
      task_id: 'task-1',
      source: { producer: '@provenant/sdk@0.1.0', host: 'h1' },
    });
    expect(parseEventRecord(a).ok).toBe(true);
  });
});

describe('memory issuer', () => {
  it('refuses a delegation that widens the scope, and never outlives its parent', async () => {
    const issuer = memoryIssuer();
    const parent = issuer.initiator('user:alice', { scope: ['repo:read'], lifetimeSec: 100 });
    const actor = { principal: 'spiffe://acme.test/agent/a/instance/1', jwk: { d: 'x' } };
    await expect(issuer.exchange(parent, actor, ['repo:write'])).rejects.toMatchObject({
      code: 'token_exchange_failed',
      oauthError: 'invalid_scope',
    });
    const child = decodeJwt(await issuer.exchange(parent, actor, undefined, 3600));
    expect(child.exp).toBe(decodeJwt(parent).exp);
    expect(child).toMatchObject({
      sub: 'user:alice',
      scope: 'repo:read',
      act: { sub: actor.principal },
    });
  });
});
