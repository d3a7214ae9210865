import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseEventRecord, uuidv7 } from '@provenant/core';
import {
  OtlpExportError,
  OtlpSender,
  exportResource,
  otlpJsonBody,
  toSpan as recordToSpan,
} from '../src/export/otlp.js';
import type { ServedRecord } from '../src/export/ocsf.js';
import { record } from './helpers.js';

/** OTLP/JSON as the collector protocol defines it (the shape otlp-transformer produces). */
interface KeyValue {
  key: string;
  value: {
    stringValue?: string;
    intValue?: number | string;
    boolValue?: boolean;
    arrayValue?: { values: { stringValue?: string }[] };
  };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status: { code: number; message?: string };
}
interface ExportRequest {
  resourceSpans: {
    resource: { attributes: KeyValue[] };
    scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[];
  }[];
}

/** A minimal OTLP/HTTP JSON trace receiver, answering as the OTLP spec says. */
let server: Server;
let endpoint = '';
let received: { path: string; contentType: string; body: ExportRequest }[] = [];
let raw: { contentType: string; bytes: Buffer }[] = [];
let answer: { status: number; body: string } | null = null;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
        return;
      }
      const contentType = req.headers['content-type'] ?? '';
      if (contentType === 'application/x-protobuf') {
        raw.push({ contentType, bytes: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        return;
      }
      received.push({
        path: req.url ?? '',
        contentType,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received = [];
  raw = [];
  answer = null;
});

function served(overrides: Record<string, unknown> = {}, leafIndex = 0): ServedRecord {
  const parsed = parseEventRecord(record(overrides));
  if (!parsed.ok) throw new Error(parsed.message);
  return {
    ...parsed.record,
    attribution: { level: 'verified', reasons: [] },
    integrity: { leaf_index: leafIndex, leaf_hash: `${'A'.repeat(43)}=` },
  };
}

const spansOf = (requests: typeof received): OtlpSpan[] =>
  requests.flatMap((r) =>
    r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)),
  );

function attrs(span: OtlpSpan): Record<string, unknown> {
  return Object.fromEntries(
    span.attributes.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
        value.boolValue ??
        value.arrayValue?.values.map((v) => v.stringValue),
    ]),
  );
}

describe('OTLP/HTTP export', () => {
  it('sends GenAI spans with the trace ids, status and provenant attributes', async () => {
    const tool = served(
      {
        time: '2026-11-27T13:05:01.123456789Z',
        trace: {
          trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
          span_id: '00f067aa0ba902b7',
          parent_span_id: '1111111111111111',
        },
        conversation_id: 'conv-1',
        policy: {
          decision_id: 'dec-9',
          engine: 'cedar',
          decision: 'allow',
          policy_set: `sha256:${'ab'.repeat(32)}`,
        },
        delegation: [
          { from: 'user:alice', to: 'spiffe://acme.test/agent/planner/instance/1' },
          {
            from: 'spiffe://acme.test/agent/planner/instance/1',
            to: 'spiffe://acme.test/agent/researcher/instance/7f3a',
          },
        ],
      },
      41,
    );
    const agent = served(
      {
        type: 'agent.invoked',
        trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '1111111111111111' },
        outcome: { status: 'error', error: { code: 'timeout', message: 'took too long' } },
      },
      40,
    );
    delete (agent as { action?: unknown }).action;
    const sender = new OtlpSender({ endpoint });
    await sender.add(agent);
    await sender.add(tool);
    expect(await sender.flush()).toEqual({ spans: 2, batches: 1, rejected: 0 });

    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe('/v1/traces');
    expect(received[0]!.contentType).toBe('application/json');
    const resource = Object.fromEntries(
      received[0]!.body.resourceSpans[0]!.resource.attributes.map((a) => [
        a.key,
        a.value.stringValue,
      ]),
    );
    expect(resource['service.name']).toBe('provenant');
    const [a, t] = spansOf(received);

    expect(t!.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(t!.spanId).toBe('00f067aa0ba902b7');
    expect(t!.parentSpanId).toBe('1111111111111111');
    expect(t!.name).toBe('execute_tool delete_repo');
    expect(t!.startTimeUnixNano).toBe('1795784701123456789');
    expect(BigInt(t!.endTimeUnixNano) - BigInt(t!.startTimeUnixNano)).toBe(412_000_000n);
    expect(t!.status).toEqual({ code: 1 });
    expect(attrs(t!)).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'delete_repo',
      'gen_ai.tool.call.id': 'call_42',
      'gen_ai.agent.id': 'spiffe://acme.test/agent/researcher/instance/7f3a',
      'gen_ai.agent.name': 'researcher',
      'gen_ai.conversation.id': 'conv-1',
      'provenant.initiator': 'user:alice',
      'provenant.attribution.level': 'verified',
      'provenant.decision.id': 'dec-9',
      'provenant.record.id': tool.id,
      'provenant.leaf_index': 41,
      'provenant.delegation.chain': [
        'user:alice',
        'spiffe://acme.test/agent/planner/instance/1',
        'spiffe://acme.test/agent/researcher/instance/7f3a',
      ],
    });

    expect(a!.name).toBe('invoke_agent researcher');
    expect(a!.spanId).toBe('1111111111111111');
    expect(a!.parentSpanId ?? '').toBe('');
    expect(a!.status).toEqual({ code: 2, message: 'took too long' });
    expect(attrs(a!)).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'error.type': 'timeout',
      'provenant.leaf_index': 40,
    });
    expect(attrs(a!)['gen_ai.tool.name']).toBeUndefined();
  });

  it('is the same wire form the official OpenTelemetry OTLP/HTTP exporter sends', async () => {
    const records = [served({}, 1), served({ type: 'prompt.received' }, 2)];
    const sender = new OtlpSender({ endpoint });
    for (const r of records) await sender.add(r);
    await sender.flush();
    const ours = received.splice(0);

    const exporter = new OTLPTraceExporter({ url: endpoint });
    const resource = exportResource();
    const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
      exporter.export(
        records.map((r) => recordToSpan(r, resource)),
        resolve,
      ),
    );
    await exporter.shutdown();
    expect(result.code).toBe(0);
    expect(received).toHaveLength(1);
    expect(received[0]!.body).toEqual(ours[0]!.body);
  });

  it('sends protobuf byte for byte as the official OTLP/HTTP protobuf exporter does', async () => {
    const records = [served({}, 1), served({ type: 'agent.invoked' }, 2)];
    const sender = new OtlpSender({ endpoint, protocol: 'http/protobuf' });
    for (const r of records) await sender.add(r);
    expect(await sender.flush()).toEqual({ spans: 2, batches: 1, rejected: 0 });
    const exporter = new OTLPProtoTraceExporter({ url: endpoint });
    const resource = exportResource();
    const result = await new Promise<{ code: number }>((resolve) =>
      exporter.export(
        records.map((r) => recordToSpan(r, resource)),
        resolve,
      ),
    );
    await exporter.shutdown();
    expect(result.code).toBe(0);
    expect(raw).toHaveLength(2);
    expect(raw[0]!.bytes.length).toBeGreaterThan(100);
    expect(raw[0]!.bytes.equals(raw[1]!.bytes)).toBe(true);
    // The trace id travels as 16 raw bytes.
    expect(raw[0]!.bytes.includes(Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'))).toBe(
      true,
    );
  });

  it('derives stable ids for a record without a trace, and batches', async () => {
    const records = [...Array(5).keys()].map((i) => {
      const r = served({ id: uuidv7() }, i);
      delete (r as { trace?: unknown }).trace;
      return r;
    });
    const sender = new OtlpSender({ endpoint, batchSize: 2 });
    for (const r of records) await sender.add(r);
    expect(await sender.flush()).toEqual({ spans: 5, batches: 3, rejected: 0 });
    expect(received.map((r) => spansOf([r]).length)).toEqual([2, 2, 1]);
    const spans = spansOf(received);
    expect(spans.map((s) => attrs(s)['provenant.record.id'])).toEqual(records.map((r) => r.id));
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(attrs(s)['provenant.trace.derived']).toBe(true);
    }
    const again = JSON.parse(
      new TextDecoder().decode(otlpJsonBody([records[0]!], exportResource())),
    ) as ExportRequest;
    expect(spansOf([{ path: '', contentType: '', body: again }])[0]!.traceId).toBe(
      spans[0]!.traceId,
    );
  });

  it('counts spans the receiver reports as rejected (partial success)', async () => {
    answer = { status: 200, body: '{"partialSuccess":{"rejectedSpans":1,"errorMessage":"x"}}' };
    const sender = new OtlpSender({ endpoint });
    await sender.add(served());
    expect(await sender.flush()).toEqual({ spans: 1, batches: 1, rejected: 1 });
  });

  it('fails with the status when the receiver refuses, and when it cannot be reached', async () => {
    answer = { status: 400, body: '{"code":3,"message":"bad"}' };
    const sender = new OtlpSender({ endpoint });
    await sender.add(served());
    await expect(sender.flush()).rejects.toMatchObject({ name: 'OtlpExportError', status: 400 });

    const unreachable = new OtlpSender({ endpoint: 'http://127.0.0.1:1/v1/traces', attempts: 1 });
    await unreachable.add(served());
    await expect(unreachable.flush()).rejects.toBeInstanceOf(OtlpExportError);
    expect(() => new OtlpSender({ batchSize: 0 })).toThrow(RangeError);
  });

  it('serializes through OpenTelemetry’s own serializer', () => {
    const span = recordToSpan(served(), exportResource());
    expect(JsonTraceSerializer.serializeRequest([span])).toBeInstanceOf(Uint8Array);
    expect(span.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
});
