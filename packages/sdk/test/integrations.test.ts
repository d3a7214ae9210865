import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { recordAiTools } from '../src/index.js';
import type { Recorder } from '../src/index.js';
import { PLANNER, RESEARCHER, world } from './helpers.js';
import type { World } from './helpers.js';

/** The smallest AsyncLocalStorage context manager, so spans become active across awaits. */
class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

let w: World;
let recorder: Recorder;

beforeAll(async () => {
  w = await world();
  recorder = w.recorder();
});
afterAll(() => recorder.close());

describe('OpenTelemetry', () => {
  it('uses the active span ids and sets GenAI and provenant attributes on it', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    context.setGlobalContextManager(new AlsContextManager());
    const tracer = provider.getTracer('test');
    try {
      const read = recorder.tool(
        'github.get_file',
        { resource: 'repo:acme/payments', risk: 'low' },
        () => 'x',
      );
      const ids = await tracer.startActiveSpan('invoke_agent planner', async (agentSpan) => {
        const out = await recorder.session(
          { initiatorToken: w.alice, taskId: 'otel-1', conversationId: 'conv-9' },
          () =>
            tracer.startActiveSpan('execute_tool get_file', async (toolSpan) => {
              await read();
              toolSpan.end();
              return toolSpan.spanContext();
            }),
        );
        agentSpan.end();
        return out;
      });
      const spans = exporter.getFinishedSpans();
      const toolSpan = spans.find((x) => x.name === 'execute_tool get_file')!;
      const agentSpan = spans.find((x) => x.name === 'invoke_agent planner')!;
      const [rec] = w.records('otel-1').filter((r) => r.type === 'tool.called');
      expect(rec!.trace).toEqual({ trace_id: ids.traceId, span_id: ids.spanId });
      expect(toolSpan.attributes).toMatchObject({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_file',
        'gen_ai.agent.id': PLANNER,
        'gen_ai.agent.name': 'planner',
        'gen_ai.conversation.id': 'conv-9',
        'provenant.initiator': 'user:alice',
        'provenant.decision.id': rec!.policy!.decision_id,
        'provenant.record.id': rec!.id,
        // What the collector compares with the decision the span cites.
        'provenant.action': rec!.action!.name,
        'provenant.action.resource': rec!.action!.resource,
      });
      // The collector decides the attribution level; the SDK never claims one on a span.
      expect(toolSpan.attributes).not.toHaveProperty('provenant.attribution.level');
      expect(agentSpan.attributes).not.toHaveProperty('provenant.attribution.level');
      expect(agentSpan.attributes).toMatchObject({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.id': PLANNER,
      });
      const [invoked] = w.records('otel-1').filter((r) => r.type === 'agent.invoked');
      expect(invoked!.trace?.trace_id).toBe(ids.traceId);
    } finally {
      context.disable();
      trace.disable();
    }
  });
});

describe('Vercel AI SDK', () => {
  it('attributes every tool call of a generateText run, with the model tool call ids', async () => {
    const model = new MockLanguageModelV3({
      doGenerate: [
        {
          content: [
            {
              type: 'tool-call',
              toolCallId: 'call_1',
              toolName: 'getFile',
              input: JSON.stringify({ repo: 'acme/payments', path: 'README.md' }),
            },
            {
              type: 'tool-call',
              toolCallId: 'call_2',
              toolName: 'deleteRepo',
              input: JSON.stringify({ repo: 'acme/payments' }),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage: usage(),
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'Read it; deleting was refused.' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage: usage(),
          warnings: [],
        },
      ],
    });
    const repoInput = jsonSchema<{ repo: string; path?: string }>({
      type: 'object',
      properties: { repo: { type: 'string' }, path: { type: 'string' } },
      required: ['repo'],
    });
    let deleted = false;
    const tools = recordAiTools(
      recorder,
      {
        getFile: tool({
          description: 'read a file',
          inputSchema: repoInput,
          execute: async ({ repo, path }) => `# ${repo}/${path}`,
        }),
        deleteRepo: tool({
          description: 'delete a repository',
          inputSchema: repoInput,
          execute: async () => {
            deleted = true;
            return 'deleted';
          },
        }),
      },
      {
        getFile: {
          action: 'github.get_file',
          resource: (i: { repo: string }) => `repo:${i.repo}`,
          risk: 'low',
        },
        deleteRepo: {
          action: 'github.delete_repo',
          resource: (i: { repo: string }) => `repo:${i.repo}`,
          class: { privileged: true, irreversible: true, external: true },
          risk: 'critical',
        },
      },
    );
    const result = await recorder.session(
      { initiatorToken: w.alice, taskId: 'ai-1', prompt: 'tidy up' },
      () =>
        recorder.delegate(w.researcher, { scope: ['repo:read', 'repo:write'] }, () =>
          generateText({ model, tools, prompt: 'tidy up', stopWhen: stepCountIs(3) }),
        ),
    );
    expect(result.text).toBe('Read it; deleting was refused.');
    expect(deleted).toBe(false);
    const toolResults = result.steps[0]!.content.filter(
      (p) => p.type === 'tool-result' || p.type === 'tool-error',
    );
    expect(toolResults.map((p) => p.type)).toEqual(['tool-result', 'tool-error']);
    const calls = w.records('ai-1').filter((r) => r.type === 'tool.called');
    expect(calls).toHaveLength(2);
    const byCall = Object.fromEntries(calls.map((r) => [r.action?.tool?.call_id, r]));
    expect(byCall['call_1']).toMatchObject({
      actor: { id: RESEARCHER },
      initiator: { id: 'user:alice' },
      action: {
        name: 'github.get_file',
        resource: 'repo:acme/payments',
        tool: { name: 'getFile' },
      },
      outcome: { status: 'success' },
      policy: { decision: 'allow' },
    });
    expect(byCall['call_2']).toMatchObject({
      actor: { id: RESEARCHER },
      action: { name: 'github.delete_repo', tool: { call_id: 'call_2' } },
      outcome: { status: 'denied' },
      policy: { decision: 'deny' },
    });
    // Made under alice → planner → researcher.
    const credential = w.exported().find((e) => e.record.id === byCall['call_1']!.id)!.credential;
    expect(decodeJwt(credential)).toMatchObject({
      sub: 'user:alice',
      act: { sub: RESEARCHER, act: { sub: PLANNER } },
    });
  });
});

function usage() {
  return {
    inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 5, text: 5, reasoning: undefined },
  };
}
