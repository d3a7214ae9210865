/**
 * The OTLP/HTTP receiver against the real thing: the official OpenTelemetry SDK and its OTLP
 * exporters (protobuf and JSON) sending GenAI spans to a collector started in-process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Link, Span } from '@opentelemetry/api';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import { otlpRecordId } from '../src/otlp/map.js';
import type { RunningCollector } from '../src/index.js';
import { ADMIN, ISSUER, TD, aliceScenario, exchange } from './identity-helpers.js';
import { asAdmin } from './helpers.js';

const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;
const plannerId = `spiffe://${TD}/agent/planner/instance/19c2`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record JSON
type Json = any;

let collector: RunningCollector;
let dataDir: string;
let tokens: Awaited<ReturnType<typeof aliceScenario>>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'provenant-otlp-'));
  collector = await startCollector({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    issuerUrl: ISSUER,
    adminToken: ADMIN,
    anonymousIngest: 'asserted',
    identity: { devLogin: true },
  });
  tokens = await aliceScenario(collector.app);
});

afterAll(async () => {
  await collector.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Trace {
  spans: ReadableSpan[];
  traceId: string;
  byName: (name: string) => ReadableSpan;
}

/**
 * One agent run as GenAI instrumentation emits it: alice's prompt invokes an agent, which
 * calls a tool (that fails), creates a helper agent, and makes an ordinary HTTP call.
 */
function agentRun(agentId: string, options: { user?: string; links?: Link[] } = {}): Trace {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('genai-instrumentation', '1.2.3');
  const root = tracer.startSpan('invoke_agent researcher', {
    kind: SpanKind.INTERNAL,
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.id': agentId,
      'gen_ai.agent.name': 'researcher',
      'gen_ai.conversation.id': 'conv-42',
      'gen_ai.request.model': 'gpt-test',
      ...(options.user === undefined ? {} : { 'enduser.id': options.user }),
    },
    ...(options.links ? { links: options.links } : {}),
  });
  const inRoot = trace.setSpan(ROOT_CONTEXT, root);
  const child = (name: string, attributes: Attributes): Span =>
    tracer.startSpan(name, { attributes }, inRoot);
  const tool = child('execute_tool get_file', {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'get_file',
    'gen_ai.tool.call.id': 'call_7',
    'gen_ai.tool.call.arguments': '{"path":"README.md","repo":"acme/payments"}',
  });
  tool.setStatus({ code: SpanStatusCode.ERROR, message: 'file not found' });
  tool.setAttribute('error.type', 'not_found');
  tool.end();
  const created = child('create_agent summarizer', {
    'gen_ai.operation.name': 'create_agent',
    'gen_ai.agent.id': agentId,
    'gen_ai.agent.name': 'summarizer',
  });
  created.end();
  const http = child('GET', { 'http.request.method': 'GET', 'url.full': 'https://example.test/' });
  http.end();
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  const spans = memory.getFinishedSpans();
  const traceId = root.spanContext().traceId;
  return {
    spans,
    traceId,
    byName: (name) => spans.find((s) => s.name === name)!,
  };
}

function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<{ code: number }> {
  return new Promise((resolve) => exporter.export(spans, (r) => resolve(r))).finally(() =>
    exporter.shutdown(),
  ) as Promise<{ code: number }>;
}

const proto = (headers: Record<string, string> = {}) =>
  new ProtoExporter({ url: `${collector.url}/v1/traces`, headers });
const json = (headers: Record<string, string> = {}, compression?: 'gzip') =>
  new JsonExporter({
    url: `${collector.url}/v1/traces`,
    headers,
    ...(compression ? { compression: compression as never } : {}),
  });

async function recordsOf(traceId: string): Promise<Json[]> {
  const res = await fetch(`${collector.url}/v1/events?trace_id=${traceId}&limit=1000`, {
    headers: asAdmin,
  });
  return ((await res.json()) as Json).events;
}

async function alerts(): Promise<Json[]> {
  const res = await fetch(`${collector.url}/v1/events?type=security.alert&limit=1000`, {
    headers: asAdmin,
  });
  return ((await res.json()) as Json).events;
}

async function postProtobuf(spans: ReadableSpan[], headers: Record<string, string> = {}) {
  const body = ProtobufTraceSerializer.serializeRequest(spans)!;
  const res = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', ...headers },
    body,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return {
    res,
    bytes,
    answer: res.ok ? ProtobufTraceSerializer.deserializeResponse(bytes) : null,
  };
}

describe('OTLP/HTTP receiver with the OpenTelemetry SDK exporters', () => {
  it('maps GenAI spans exported as protobuf to records, ignoring and counting other spans', async () => {
    const run = agentRun(researcherId, { user: 'alice' });
    const before = (await (
      await fetch(`${collector.url}/v1/otlp/stats`, { headers: asAdmin })
    ).json()) as Json;
    expect((await exportWith(proto(), run.spans)).code).toBe(0);
    const after = (await (
      await fetch(`${collector.url}/v1/otlp/stats`, { headers: asAdmin })
    ).json()) as Json;
    expect(after.spans_ignored - before.spans_ignored).toBe(1);
    expect(after.spans_recorded - before.spans_recorded).toBe(3);

    const records = await recordsOf(run.traceId);
    expect(records.map((r) => r.type).sort()).toEqual([
      'agent.created',
      'agent.invoked',
      'tool.called',
    ]);
    const root = run.byName('invoke_agent researcher');
    const tool = run.byName('execute_tool get_file');
    const invoked = records.find((r) => r.type === 'agent.invoked');
    expect(invoked.id).toBe(otlpRecordId(run.traceId, root.spanContext().spanId));
    expect(invoked.initiator).toEqual({ id: 'user:alice', kind: 'human' });
    expect(invoked.actor).toEqual({
      id: researcherId,
      kind: 'agent_instance',
      agent: 'researcher',
      instance: '7f3a',
    });
    expect(invoked.action.name).toBe('agent.invoke');
    expect(invoked.action.resource).toBe('agent:researcher');
    expect(invoked.action.args['gen_ai.request.model']).toBe('gpt-test');
    expect(invoked.conversation_id).toBe('conv-42');
    expect(invoked.outcome.status).toBe('success');
    expect(invoked.outcome.duration_ms).toBeGreaterThanOrEqual(0);
    expect(invoked.attribution.level).toBe('asserted');
    expect(invoked.source.producer).toBe('genai-instrumentation@1.2.3');
    expect(invoked.trace).toEqual({ trace_id: run.traceId, span_id: root.spanContext().spanId });

    const called = records.find((r) => r.type === 'tool.called');
    expect(called.id).toBe(otlpRecordId(run.traceId, tool.spanContext().spanId));
    // The tool span names no agent or user: both come from its parent in the same export.
    expect(called.actor.id).toBe(researcherId);
    expect(called.initiator.id).toBe('user:alice');
    expect(called.action.name).toBe('get_file');
    expect(called.action.tool).toEqual({ name: 'get_file', call_id: 'call_7' });
    expect(called.action.args_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(called.trace.parent_span_id).toBe(root.spanContext().spanId);
    expect(called.outcome).toMatchObject({
      status: 'error',
      error: { code: 'not_found', message: 'file not found' },
    });
    const startNs = BigInt(tool.startTime[0]) * 1_000_000_000n + BigInt(tool.startTime[1]);
    expect(called.time).toBe(
      `${new Date(Number(startNs / 1_000_000_000n) * 1000).toISOString().slice(0, 19)}.${String(
        startNs % 1_000_000_000n,
      ).padStart(9, '0')}Z`,
    );

    const created = records.find((r) => r.type === 'agent.created');
    expect(created.action).toMatchObject({ name: 'agent.create', resource: 'agent:summarizer' });
  });

  it('is idempotent: re-exporting the same spans, as protobuf or JSON, stores nothing new', async () => {
    const run = agentRun(researcherId, { user: 'alice' });
    expect((await exportWith(proto(), run.spans)).code).toBe(0);
    const size = collector.log.size;
    const first = await recordsOf(run.traceId);
    expect((await exportWith(proto(), run.spans)).code).toBe(0);
    expect((await exportWith(json(), run.spans)).code).toBe(0);
    expect((await exportWith(json({}, 'gzip'), run.spans)).code).toBe(0);
    expect(collector.log.size).toBe(size);
    expect(await recordsOf(run.traceId)).toEqual(first);
  });

  it('accepts OTLP/JSON, gzip-compressed, from the HTTP exporter', async () => {
    const run = agentRun(researcherId, { user: 'bob' });
    expect((await exportWith(json({}, 'gzip'), run.spans)).code).toBe(0);
    const records = await recordsOf(run.traceId);
    expect(records).toHaveLength(3);
    expect(records.every((r) => r.initiator.id === 'user:bob')).toBe(true);
  });

  it('keeps span links as trace fields with the linked record id', async () => {
    const earlier = agentRun(researcherId, { user: 'alice' });
    const linked = earlier.byName('invoke_agent researcher').spanContext();
    const run = agentRun(researcherId, { user: 'alice', links: [{ context: linked }] });
    expect((await exportWith(proto(), run.spans)).code).toBe(0);
    const invoked = (await recordsOf(run.traceId)).find((r) => r.type === 'agent.invoked');
    expect(invoked.action.args['otel.links']).toEqual([
      {
        trace_id: linked.traceId,
        span_id: linked.spanId,
        record_id: otlpRecordId(linked.traceId, linked.spanId),
      },
    ]);
  });

  it('works through a tracer provider with a batch processor', async () => {
    const exporter = proto();
    const provider = new NodeTracerProvider({
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    const span = provider.getTracer('batch').startSpan('execute_tool search', {
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'search',
        'gen_ai.agent.id': 'support-bot',
        'user.id': 'carol',
      },
    });
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    const [record] = await recordsOf(span.spanContext().traceId);
    expect(record.actor).toEqual({ id: 'agent:support-bot', kind: 'agent' });
    expect(record.initiator).toEqual({ id: 'user:carol', kind: 'human' });
  });
});

describe('detections over OTLP records', () => {
  it('raises instance_many_initiators when one agent instance acts for many humans', async () => {
    const agent = `spiffe://${TD}/agent/roamer/instance/9a9a`;
    for (const user of ['u1', 'u2', 'u3', 'u4']) {
      expect((await exportWith(proto(), agentRun(agent, { user }).spans)).code).toBe(0);
    }
    const found = (await alerts()).filter(
      (a) => a.action.name === 'detect.instance_many_initiators',
    );
    expect(found.length).toBeGreaterThanOrEqual(1);
  });
});

describe('record ids of spans', () => {
  it('are UUIDv8 from SHA-256 of the trace and span ids, stable and distinct', () => {
    const a = otlpRecordId('5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(otlpRecordId('5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174')).toBe(a);
    expect(otlpRecordId('5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b175')).not.toBe(a);
    // Pinned: the id of a span must never change between versions of the collector.
    expect(a).toBe('15cbd08c-4576-8bd5-b066-648969fb5706');
  });
});

describe('credentials on OTLP export', () => {
  it('verifies spans whose user and agent match the Bearer credential', async () => {
    const run = agentRun(researcherId, { user: 'alice' });
    const auth = { authorization: `Bearer ${tokens.researcherToken}` };
    expect((await exportWith(proto(auth), run.spans)).code).toBe(0);
    const records = await recordsOf(run.traceId);
    expect(records).toHaveLength(3);
    for (const r of records) {
      expect(r.attribution.level).toBe('verified');
      expect(r.credential.iss).toBe(ISSUER);
      expect(r.delegation.map((h: Json) => [h.from, h.to])).toEqual([
        ['user:alice', plannerId],
        [plannerId, researcherId],
      ]);
    }
  });

  it('fills the actor and initiator of spans that name none from the credential', async () => {
    const run = agentRun(researcherId);
    const tool = run.byName('execute_tool get_file');
    const { res, answer } = await postProtobuf([tool], {
      authorization: `Bearer ${tokens.researcherToken}`,
    });
    expect(res.status).toBe(200);
    expect(answer?.partialSuccess).toBeUndefined();
    const [record] = await recordsOf(run.traceId);
    expect(record.attribution.level).toBe('verified');
    expect(record.initiator.id).toBe('user:alice');
  });

  it('rejects spans that contradict the credential, stores none of them, and alerts', async () => {
    const run = agentRun(plannerId, { user: 'alice' });
    const before = (await alerts()).length;
    const { res, answer } = await postProtobuf(run.spans, {
      authorization: `Bearer ${tokens.researcherToken}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('provenant-spans-ignored')).toBe('1');
    // invoke_agent and create_agent claim the planner; the tool span inherits it.
    expect(answer?.partialSuccess?.rejectedSpans).toBe(3);
    expect(answer?.partialSuccess?.errorMessage).toContain('attribution_mismatch');
    expect(await recordsOf(run.traceId)).toHaveLength(0);
    const after = await alerts();
    expect(after.length).toBe(before + 1);
    expect(after.at(-1).actor.id).toBe(researcherId);
  });

  it("takes a create_agent span's creator as its actor, not the agent it creates", async () => {
    // Under a credential, the created agent as actor was a false attribution_mismatch whose
    // alert used the credential's alert budget, so a real impersonation that followed went
    // unflagged.
    const fresh = (
      await exchange(collector.app, tokens.plannerToken, tokens.researcher, 'repo:read')
    ).body.access_token!;
    const memory = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('genai-instrumentation');
    const created = tracer.startSpan('create_agent summarizer', {
      attributes: {
        'gen_ai.operation.name': 'create_agent',
        'gen_ai.agent.id': 'summarizer-1',
        'gen_ai.agent.name': 'summarizer',
      },
    });
    created.end();
    const before = (await alerts()).length;
    const first = await postProtobuf(memory.getFinishedSpans(), {
      authorization: `Bearer ${fresh}`,
    });
    expect(first.answer?.partialSuccess).toBeUndefined();
    const [record] = await recordsOf(created.spanContext().traceId);
    expect(record).toMatchObject({
      type: 'agent.created',
      actor: { id: researcherId },
      action: {
        name: 'agent.create',
        resource: 'agent:summarizer',
        args: { 'gen_ai.agent.id': 'summarizer-1', 'gen_ai.agent.name': 'summarizer' },
      },
      attribution: { level: 'verified' },
    });
    expect((await alerts()).length).toBe(before);

    // A real impersonation under the same credential still raises its alert.
    const impersonation = agentRun(plannerId, { user: 'alice' });
    const claimed = ['invoke_agent researcher', 'execute_tool get_file'].map(impersonation.byName);
    const second = await postProtobuf(claimed, {
      authorization: `Bearer ${fresh}`,
    });
    expect(second.answer?.partialSuccess?.errorMessage).toContain('attribution_mismatch');
    expect((await alerts()).length).toBe(before + 1);
  });

  it('refuses a bad credential with 401 in the OTLP error shape', async () => {
    const run = agentRun(researcherId, { user: 'alice' });
    const { res, bytes } = await postProtobuf(run.spans, { authorization: 'Bearer not.a.jwt' });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-protobuf/);
    expect(Buffer.from(bytes).toString('latin1')).toContain('malformed_token');
    expect(await recordsOf(run.traceId)).toHaveLength(0);
  });
});

describe('a full disk', () => {
  it('answers 503 UNAVAILABLE with Retry-After, so exporters retry instead of dropping spans', async () => {
    const storage = collector.storage as { append: (...args: unknown[]) => Promise<void> };
    const original = storage.append;
    storage.append = async () => {
      const { StorageError } = await import('@provenant/ledger');
      throw new StorageError('storage_full', 'database or disk is full');
    };
    try {
      const run = agentRun(researcherId, { user: 'alice' });
      const { res, bytes } = await postProtobuf(run.spans);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('10');
      expect(Buffer.from(bytes).toString('latin1')).toContain('storage_full');
      expect(await recordsOf(run.traceId)).toHaveLength(0);
    } finally {
      storage.append = original;
    }
  });
});

describe('malformed and unusual requests', () => {
  const post = (body: Uint8Array | string, headers: Record<string, string>) =>
    fetch(`${collector.url}/v1/traces`, { method: 'POST', headers, body });

  it('answers garbage protobuf with 400 and a protobuf google.rpc.Status', async () => {
    const res = await post(Uint8Array.from([0x0a, 0xff, 0xff, 0x01]), {
      'content-type': 'application/x-protobuf',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-protobuf/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes[0]).toBe(0x08); // field 1 (code), varint
    expect(bytes[1]).toBe(3); // INVALID_ARGUMENT
    expect(bytes.toString('latin1')).toContain('malformed_protobuf');
  });

  it('answers bad JSON with 400 and a JSON google.rpc.Status', async () => {
    const res = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Json;
    expect(body.code).toBe(3);
    expect(body.message).toMatch(/not valid JSON/);
    expect(body.details[0]).toMatchObject({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'malformed_json',
    });
    const shape = await post('{"resourceSpans": {"no": 1}}', {
      'content-type': 'application/json',
    });
    expect(shape.status).toBe(400);
    expect(((await shape.json()) as Json).details[0].reason).toBe('malformed_otlp');
  });

  it('reports GenAI spans with invalid ids as a partial success', async () => {
    const span = (spanId: string) => ({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId,
      name: 'execute_tool x',
      startTimeUnixNano: '1795000000123456789',
      endTimeUnixNano: 1795000000623456789n.toString(),
      attributes: [
        { key: 'gen_ai.operation.name', value: { stringValue: 'execute_tool' } },
        { key: 'gen_ai.tool.name', value: { stringValue: 'x' } },
      ],
    });
    const body = {
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: 'enduser.id', value: { stringValue: 'dave' } },
              { key: 'gen_ai.agent.id', value: { stringValue: 'bot' } },
            ],
          },
          scopeSpans: [{ spans: [span('eee19b7ec3c1b174'), span('0000000000000000')] }],
        },
      ],
    };
    const res = await post(JSON.stringify(body), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Json;
    expect(answer.partialSuccess.rejectedSpans).toBe('1');
    expect(answer.partialSuccess.errorMessage).toContain('invalid_span');
    const [record] = await recordsOf('5b8efff798038103d269b633813fc60c');
    // Resource attributes name the human and the agent of every span.
    expect(record.initiator.id).toBe('user:dave');
    expect(record.actor.id).toBe('agent:bot');
    expect(record.outcome.duration_ms).toBe(500);
    expect(record.time).toBe('2026-11-18T11:06:40.123456789Z');
    expect(record.id).toBe(otlpRecordId(record.trace.trace_id, 'eee19b7ec3c1b174'));
  });

  it('answers an empty export with an empty success', async () => {
    const empty = await post(new Uint8Array(0), { 'content-type': 'application/x-protobuf' });
    expect(empty.status).toBe(200);
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
    const none = await post('{}', { 'content-type': 'application/json' });
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({});
  });

  it('answers an export with only non-GenAI spans with an empty success', async () => {
    const run = agentRun(researcherId);
    const { res, bytes } = await postProtobuf([run.byName('GET')]);
    expect(res.status).toBe(200);
    expect(bytes.length).toBe(0);
    expect(res.headers.get('provenant-spans-ignored')).toBe('1');
    expect(res.headers.get('provenant-spans-recorded')).toBe('0');
  });

  it('refuses invalid gzip, unknown encodings and content types', async () => {
    const bad = await post('not gzip', {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    expect(bad.status).toBe(400);
    const br = await post('x', { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    expect(((await br.json()) as Json).details[0].reason).toBe('unsupported_encoding');
    const text = await post('x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as Json).details[0].reason).toBe('unsupported_media_type');
  });

  it('bounds the decompressed size of a gzip body', async () => {
    // 64 MiB of zeros compress to about 64 KiB: far under the body limit, far over once inflated.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const res = await post(bomb, {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(413);
    expect(Buffer.from(await res.arrayBuffer()).toString('latin1')).toContain(
      'decompressed_too_large',
    );
  });
});
