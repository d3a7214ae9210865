// Google ADK's own OpenTelemetry spans and the records of its tool calls in one W3C trace, the
// session's (adkProvenance().inTrace). ADK pins @opentelemetry/api 1.9.0: its tracer sees only a
// provider registered before it is imported, so this file registers one first and imports ADK
// after.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import type { Context as OtelContext, ContextManager } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createRecorder } from '@provenant/sdk';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { testCollector as collector } from '../support/collector.js';
import { events, scenario, tempDir } from '../support/sdk.js';

/** The smallest AsyncLocalStorage context manager, so spans stay active across awaits. */
class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<OtelContext>();
  active(): OtelContext {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: OtelContext,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: OtelContext, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

const spans = new InMemorySpanExporter();
context.setGlobalContextManager(new AlsContextManager());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
);
const { BaseLlm, FunctionTool, InMemoryRunner, LlmAgent } = await import('@google/adk');
const { adkProvenance } = await import('@provenant/sdk/adk');

const tmp = tempDir('adk-trace');
let c: RunningCollector;
beforeAll(async () => {
  c = await collector(tmp.dir);
});
afterAll(async () => {
  await c.close();
  tmp.remove();
  context.disable();
  trace.disable();
});

it('puts ADK’s spans and the records of its tool calls in the session’s trace', async () => {
  const s = await scenario(c.url);
  const recorder = createRecorder({
    collectorUrl: c.url,
    identity: s.planner,
    spool: false,
    batch: { maxRecords: 100, maxDelayMs: 5 },
  });
  class OneCall extends BaseLlm {
    private turn = 0;
    constructor() {
      super({ model: 'scripted' });
    }
    async *generateContentAsync() {
      yield this.turn++ === 0
        ? {
            content: {
              role: 'model',
              parts: [
                { functionCall: { id: 'o1', name: 'get_file', args: { repo: 'acme/payments' } } },
              ],
            },
          }
        : { content: { role: 'model', parts: [{ text: 'done' }] } };
    }
    async connect(): Promise<never> {
      throw new Error('no live connection');
    }
  }
  const provenant = adkProvenance(recorder, {
    tools: { get_file: { action: 'github.get_file', resource: 'repo:acme/payments' } },
  });
  const agent = new LlmAgent({
    name: 'planner',
    model: new OneCall(),
    tools: [
      new FunctionTool({
        name: 'get_file',
        description: 'read',
        parameters: z.object({ repo: z.string() }),
        execute: async () => ({ text: '# README' }),
      }),
    ],
  });
  const runner = new InMemoryRunner({ agent, appName: 'adk-trace', plugins: [provenant.plugin()] });
  const session = await runner.sessionService.createSession({ appName: 'adk-trace', userId: 'a' });
  const traceId = await recorder.session({ initiatorToken: s.alice, taskId: 'adk-trace' }, () =>
    provenant.inTrace(async () => {
      for await (const _ of runner.runAsync({
        userId: 'a',
        sessionId: session.id,
        newMessage: { role: 'user', parts: [{ text: 'read' }] },
      }));
      return recorder.current()!.traceId;
    }),
  );
  const adkSpans = spans.getFinishedSpans();
  expect(adkSpans.map((x) => x.name)).toContain('execute_tool get_file');
  expect(new Set(adkSpans.map((x) => x.spanContext().traceId))).toEqual(new Set([traceId]));
  await recorder.flush();
  const got = (await events(c.url, { task_id: 'adk-trace' })).filter(
    (r) => r.type !== 'policy.decision',
  );
  expect(new Set(got.map((r) => r.trace?.trace_id))).toEqual(new Set([traceId]));
  const call = got.find((r) => r.type === 'tool.called')!;
  expect(call.attribution.level).toBe('verified');
  await recorder.close();
});
