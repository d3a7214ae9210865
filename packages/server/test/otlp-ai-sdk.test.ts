/**
 * The Vercel AI SDK's own telemetry through `/v1/traces`: a real `generateText` run of the `ai`
 * package (its mock language model, no network) with `experimental_telemetry` on, its spans
 * exported by the OpenTelemetry OTLP exporter to a collector listening on loopback. The AI SDK
 * names tool calls `ai.toolCall` (`ai.toolCall.name`, `.id`, `.args`, `.result`,
 * `ai.telemetry.metadata.*`), not in GenAI terms; the receiver maps that vocabulary too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { digestOf } from '@provenant/core';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import type { RunningCollector } from '../src/index.js';
import { ADMIN, ISSUER, TD, aliceScenario } from './identity-helpers.js';
import { asAdmin } from './helpers.js';

const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record JSON
type Json = any;

let collector: RunningCollector;
let dataDir: string;
let tokens: Awaited<ReturnType<typeof aliceScenario>>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'provenant-otlp-ai-'));
  collector = await startCollector({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    issuerUrl: ISSUER,
    adminToken: ADMIN,
    identity: { devLogin: true },
  });
  tokens = await aliceScenario(collector.app);
});

afterAll(async () => {
  await collector.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const usage = () => ({
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
});

const GET_FILE_INPUT = { repo: 'acme/payments', path: 'README.md' };
const DELETE_INPUT = { repo: 'acme/payments' };

/** One agent run of the AI SDK: two tool calls (one fails), then an answer. */
async function run(metadata: Record<string, string>, bearer: string) {
  const memory = new InMemorySpanExporter();
  const exporter = new OTLPTraceExporter({
    url: `${collector.url}/v1/traces`,
    headers: { authorization: `Bearer ${bearer}` },
  });
  const provider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(memory), new SimpleSpanProcessor(exporter)],
  });
  const model = new MockLanguageModelV3({
    doGenerate: [
      {
        content: [
          {
            type: 'tool-call',
            toolCallId: 'call_1',
            toolName: 'getFile',
            input: JSON.stringify(GET_FILE_INPUT),
          },
          {
            type: 'tool-call',
            toolCallId: 'call_2',
            toolName: 'deleteRepo',
            input: JSON.stringify(DELETE_INPUT),
          },
        ],
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage: usage(),
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'Read it; the deletion failed.' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage: usage(),
        warnings: [],
      },
    ],
  });
  const input = jsonSchema<{ repo: string; path?: string }>({
    type: 'object',
    properties: { repo: { type: 'string' }, path: { type: 'string' } },
    required: ['repo'],
  });
  // The AI SDK nests its spans through the active context: the provider's context manager.
  provider.register();
  const result = await generateText({
    model,
    prompt: 'tidy up',
    stopWhen: stepCountIs(3),
    tools: {
      getFile: tool({
        inputSchema: input,
        execute: async ({ repo, path }) => ({ text: `# ${repo}/${path}` }),
      }),
      deleteRepo: tool({
        inputSchema: input,
        execute: async () => {
          throw new Error('repository is protected');
        },
      }),
    },
    experimental_telemetry: {
      isEnabled: true,
      functionId: 'tidy-up',
      tracer: provider.getTracer('ai'),
      metadata,
    },
  });
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  context.disable();
  trace.disable();
  propagation.disable();
  const root = spans.find((s) => s.name === 'ai.generateText')!;
  return { result, spans, traceId: root.spanContext().traceId };
}

async function recordsOf(traceId: string): Promise<Json[]> {
  const res = await fetch(`${collector.url}/v1/events?trace_id=${traceId}&limit=1000`, {
    headers: asAdmin,
  });
  return ((await res.json()) as Json).events;
}

describe('Vercel AI SDK telemetry through /v1/traces', () => {
  it('records each ai.toolCall span as a verified tool call with its arguments and result digests', async () => {
    const { result, spans, traceId } = await run(
      { userId: 'alice', agentId: researcherId, agentName: 'researcher', sessionId: 'sess-1' },
      tokens.researcherToken,
    );
    expect(result.text).toBe('Read it; the deletion failed.');
    const toolSpans = spans.filter((s) => s.name === 'ai.toolCall');
    expect(toolSpans).toHaveLength(2);
    // The AI SDK's own vocabulary, not GenAI's: what the receiver has to map.
    expect(toolSpans[0]!.attributes['gen_ai.operation.name']).toBeUndefined();
    expect(toolSpans[0]!.attributes['ai.toolCall.name']).toBeDefined();

    const records = await recordsOf(traceId);
    // Only the tool calls are records: the generateText and doGenerate spans are model calls.
    expect(records.map((r) => r.type)).toEqual(['tool.called', 'tool.called']);
    const byCall = Object.fromEntries(records.map((r) => [r.action.tool.call_id, r]));
    const read = byCall['call_1'];
    expect(read).toMatchObject({
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: researcherId, kind: 'agent_instance', agent: 'researcher' },
      action: { name: 'getFile', tool: { name: 'getFile', call_id: 'call_1' } },
      outcome: { status: 'success' },
      session_id: 'sess-1',
      attribution: { level: 'verified' },
      source: { producer: 'ai' },
    });
    // The digest of the call's own arguments and result, not of the span's attributes.
    expect(read.action.args_digest).toBe(digestOf(GET_FILE_INPUT));
    expect(read.outcome.result_digest).toBe(digestOf({ text: '# acme/payments/README.md' }));
    expect(read.action.args['ai.telemetry.functionId']).toBe('tidy-up');
    expect(read.delegation.map((h: Json) => h.to)).toEqual([
      `spiffe://${TD}/agent/planner/instance/19c2`,
      researcherId,
    ]);

    const failed = byCall['call_2'];
    expect(failed.action.args_digest).toBe(digestOf(DELETE_INPUT));
    expect(failed.outcome).toMatchObject({
      status: 'error',
      error: { code: 'span_error', message: 'repository is protected' },
    });
    expect(failed.outcome.result_digest).toBeUndefined();
  });

  it('refuses AI SDK spans whose metadata names another agent than the credential', async () => {
    const stats = async (): Promise<Json> =>
      (await fetch(`${collector.url}/v1/otlp/stats`, { headers: asAdmin })).json();
    const before = await stats();
    const { traceId } = await run(
      { userId: 'alice', agentId: `spiffe://${TD}/agent/planner/instance/19c2` },
      tokens.researcherToken,
    );
    expect(await recordsOf(traceId)).toEqual([]);
    const after = await stats();
    expect(after.spans_rejected - before.spans_rejected).toBe(2);
  });
});
