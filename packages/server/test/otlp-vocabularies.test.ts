/**
 * The span vocabularies translated into GenAI attributes before mapping: Google ADK's content
 * attributes and placeholders, the AI SDK's metadata aliases, and that a GenAI attribute the
 * span carries itself always wins.
 */
import { digestOf } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import { mapSpans } from '../src/otlp/map.js';
import type { OtlpAttributes, OtlpSpan } from '../src/otlp/model.js';
import { asGenAi } from '../src/otlp/vocabularies.js';

function span(attributes: OtlpAttributes, name = 'span'): OtlpSpan {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    parentSpanId: '',
    name,
    kind: 1,
    startTimeUnixNano: 1_796_000_000_000_000_000n,
    endTimeUnixNano: 1_796_000_000_500_000_000n,
    attributes,
    links: [],
    statusCode: 0,
    statusMessage: '',
    resource: {},
    scope: { name: 'gcp.vertex.agent', version: '2.0.0' },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record JSON
const recordOf = (s: OtlpSpan): any => {
  const [m] = mapSpans([s]);
  if (m?.kind !== 'record') throw new Error(`not a record: ${JSON.stringify(m)}`);
  return m.record;
};

describe('span vocabularies', () => {
  it("reads an ADK tool span's arguments, result and session from ADK's own attributes", () => {
    const r = recordOf(
      span({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_weather',
        'gen_ai.tool.call.id': 'adk-1',
        'gcp.vertex.agent.tool_call_args': '{"city":"Paris"}',
        'gcp.vertex.agent.tool_response': '{"result":"sunny"}',
        'gcp.vertex.agent.session_id': 'sess-9',
      }),
    );
    expect(r.action.args_digest).toBe(digestOf({ city: 'Paris' }));
    expect(r.outcome.result_digest).toBe(digestOf({ result: 'sunny' }));
    expect(r.session_id).toBe('sess-9');
    expect(r.action.tool).toEqual({ name: 'get_weather', call_id: 'adk-1' });
  });

  it("keeps no digest of ADK's placeholders when content recording is off", () => {
    const r = recordOf(
      span({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_weather',
        'gen_ai.tool.call.id': '<not specified>',
        'gcp.vertex.agent.tool_call_args': '{}',
        'gcp.vertex.agent.tool_response': '{}',
      }),
    );
    expect(r.action.args_digest).toBeUndefined();
    expect(r.outcome.result_digest).toBeUndefined();
    expect(r.action.tool).toEqual({ name: 'get_weather' });
  });

  it('reads AI SDK metadata under GenAI names and camel-case aliases; a GenAI attribute wins', () => {
    const s = asGenAi(
      span({
        'ai.telemetry.metadata.userId': 'bob',
        'ai.telemetry.metadata.gen_ai.agent.id': 'agent:x',
        'ai.telemetry.metadata.agentId': 'agent:y',
        'ai.telemetry.metadata.constructor': 'ignored',
        'gen_ai.conversation.id': 'own',
        'ai.telemetry.metadata.conversationId': 'from-metadata',
      }),
    );
    expect(s.attributes['enduser.id']).toBe('bob');
    expect(s.attributes['gen_ai.agent.id']).toBe('agent:x');
    expect(s.attributes['gen_ai.conversation.id']).toBe('own');
    expect(Object.keys(s.attributes)).not.toContain('constructor');
  });

  it('leaves a span of no known vocabulary as it is', () => {
    const s = span({ 'http.request.method': 'GET' });
    expect(asGenAi(s)).toBe(s);
  });
});
