/**
 * The OTLP decoders and the span mapping, without a server: both encodings of the same spans
 * (as the official serializers write them) decode alike, and bad input fails as it should.
 */
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { describe, expect, it } from 'vitest';
import { decodeTraceRequest } from '../src/otlp/protobuf.js';
import { decodeTraceRequestJson } from '../src/otlp/json.js';
import { mapSpans } from '../src/otlp/map.js';
import { prepareRecord } from '../src/ingest/prepare.js';
import type { OtlpDecodeError } from '../src/otlp/model.js';

function sdkSpans() {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('decode-test', '0.1.0');
  const root = tracer.startSpan('invoke_agent planner', {
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.id': 'planner 1',
      'gen_ai.usage.input_tokens': 1234,
      'gen_ai.request.temperature': 0.25,
      'gen_ai.request.stream': true,
      'gen_ai.request.stop_sequences': ['\n\n', 'END'],
      'enduser.id': 'ünïcødé',
    },
  });
  tracer
    .startSpan(
      'execute_tool',
      {
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.call.arguments': '{"b":2,"a":1}',
          'gen_ai.tool.call.result': 'not json',
        },
      },
      trace.setSpan(ROOT_CONTEXT, root),
    )
    .end();
  root.end();
  return memory.getFinishedSpans();
}

describe('OTLP decoding', () => {
  it('decodes the protobuf and JSON serializations of the same spans identically', () => {
    const spans = sdkSpans();
    const fromProto = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(spans)!);
    const fromJson = decodeTraceRequestJson(
      new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!),
    );
    expect(fromProto).toEqual(fromJson);
    expect(fromProto).toHaveLength(2);
    const root = fromProto.find((s) => s.name === 'invoke_agent planner')!;
    expect(root.attributes['gen_ai.usage.input_tokens']).toBe(1234);
    expect(root.attributes['gen_ai.request.temperature']).toBe(0.25);
    expect(root.attributes['gen_ai.request.stop_sequences']).toEqual(['\n\n', 'END']);
    expect(root.scope).toEqual({ name: 'decode-test', version: '0.1.0' });
    expect(root.resource['telemetry.sdk.language']).toBe('nodejs');
  });

  it('maps into valid records, encoding what a principal URI may not hold', () => {
    const mapped = mapSpans(
      decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(sdkSpans())!),
    );
    const records = mapped.map((m) => (m.kind === 'record' ? m.record : null));
    for (const r of records) expect(prepareRecord(r).ok).toBe(true);
    const [tool, invoked] = records as Record<string, never>[];
    expect(invoked!['actor']).toEqual({ id: 'agent:planner%201', kind: 'agent' });
    expect(invoked!['initiator']).toEqual({ id: 'user:ünïcødé', kind: 'human' });
    // The tool span names no tool: the action is the operation itself; digests of the content.
    expect(tool!['action']).toMatchObject({ name: 'execute_tool' });
    expect((tool!['action'] as Record<string, unknown>)['args_digest']).toBe(
      // digest of the canonical JSON {"a":1,"b":2}
      'sha256:43258cff783fe7036d8a43033f830adfc60ec037382473548ac742b888292777',
    );
    expect((tool!['outcome'] as Record<string, unknown>)['result_digest']).toMatch(/^sha256:/);
  });

  it("maps a tool span's provenant.action and provenant.action.resource to the action decided on", () => {
    const memory = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('decode-test', '0.1.0');
    const attributes = {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'delete_repo',
      'provenant.decision.id': 'd-1',
    };
    tracer
      .startSpan('execute_tool delete_repo', {
        attributes: {
          ...attributes,
          'provenant.action': 'github.delete_repo',
          'provenant.action.resource': 'repo:acme/payments',
        },
      })
      .end();
    tracer.startSpan('execute_tool delete_repo', { attributes }).end();
    const [named, bare] = mapSpans(
      decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!),
    ).map((m) => (m.kind === 'record' ? (m.record['action'] as Record<string, unknown>) : null));
    expect(named).toMatchObject({
      name: 'github.delete_repo',
      resource: 'repo:acme/payments',
      tool: { name: 'delete_repo' },
    });
    // Without them: the tool name, and no resource (a cited decision is then a mismatch).
    expect(bare).toMatchObject({ name: 'delete_repo', tool: { name: 'delete_repo' } });
    expect(bare).not.toHaveProperty('resource');
  });

  it('refuses truncated protobuf, wrong wire types and invalid UTF-8', () => {
    const body = ProtobufTraceSerializer.serializeRequest(sdkSpans())!;
    const fail = (bytes: Uint8Array) => {
      try {
        decodeTraceRequest(bytes);
      } catch (e) {
        return (e as OtlpDecodeError).code;
      }
      return null;
    };
    expect(fail(body.subarray(0, body.length - 3))).toBe('malformed_protobuf');
    expect(fail(Uint8Array.from([0x08, 0x01]))).toBe('malformed_protobuf'); // field 1 as varint
    // resource_spans { resource { attributes { key: "\xff" } } }
    expect(fail(Uint8Array.from([0x0a, 0x07, 0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff]))).toBe(
      'malformed_protobuf',
    );
    expect(decodeTraceRequest(new Uint8Array(0))).toEqual([]);
  });

  it('bounds the spans of one request', () => {
    const spans = Array.from({ length: 50_001 }, () => ({}));
    expect(() =>
      decodeTraceRequestJson(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] })),
    ).toThrow(/at most 50000 spans/);
  });

  it('ignores unknown JSON fields and refuses known ones of the wrong type', () => {
    expect(decodeTraceRequestJson('{"resourceSpans":[],"future":1}')).toEqual([]);
    expect(() =>
      decodeTraceRequestJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":7}]}]}]}'),
    ).toThrow(/traceId must be a string/);
  });
});
