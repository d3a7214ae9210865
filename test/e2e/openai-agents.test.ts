// The OpenAI Agents SDK (@openai/agents) with a scripted model against a real collector: every
// tool call decided by the collector's Cedar policies before it runs, denials as the SDK's own
// guardrail refusal, handoffs as delegations with the whole chain verified.
import {
  Agent,
  Runner,
  Usage,
  addTraceProcessor,
  setTraceProcessors,
  setTracingDisabled,
  type Model,
  type ModelRequest,
  type ModelResponse,
  type Trace,
} from '@openai/agents';
import { createRecorder } from '@provenant/sdk';
import type { Recorder } from '@provenant/sdk';
import { openAIAgentsProvenance } from '@provenant/sdk/openai-agents';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testCollector as collector } from '../support/collector.js';
import { PLANNER, RESEARCHER, events, scenario, tempDir } from '../support/sdk.js';
import type { Scenario, Stored } from '../support/sdk.js';
import { CRITICAL } from '../support/frameworks.js';

/** A model that answers from a script: each turn the next response (tool calls, or text). */
class ScriptedModel implements Model {
  readonly seen: ModelRequest[] = [];
  constructor(private readonly turns: ModelResponse['output'][]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.seen.push(request);
    const output = this.turns.shift();
    if (!output) throw new Error('the script has no more turns');
    return { usage: new Usage(), output };
  }
  // eslint-disable-next-line require-yield -- the tests never stream
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not streamed');
  }
}

const call = (callId: string, name: string, args: unknown) => ({
  type: 'function_call' as const,
  callId,
  name,
  arguments: JSON.stringify(args),
  status: 'completed' as const,
});
const say = (text: string) => ({
  type: 'message' as const,
  role: 'assistant' as const,
  status: 'completed' as const,
  content: [{ type: 'output_text' as const, text }],
});

const tmp = tempDir('openai-agents');
let c: RunningCollector;
let s: Scenario;
let recorder: Recorder;
const traces: Trace[] = [];

beforeAll(async () => {
  // No export to OpenAI's tracing backend: the framework's traces are kept here.
  setTraceProcessors([]);
  // Vitest sets NODE_ENV=test, under which the framework turns its tracing off.
  setTracingDisabled(false);
  addTraceProcessor({
    onTraceStart: async (t) => void traces.push(t),
    onTraceEnd: async () => {},
    onSpanStart: async () => {},
    onSpanEnd: async () => {},
    shutdown: async () => {},
    forceFlush: async () => {},
  });
  c = await collector(tmp.dir);
  s = await scenario(c.url);
  recorder = createRecorder({
    collectorUrl: c.url,
    identity: s.planner,
    agent: { name: 'planner' },
    spool: false,
    batch: { maxRecords: 100, maxDelayMs: 5 },
  });
});
afterAll(async () => {
  await recorder.close();
  await c.close();
  tmp.remove();
});

const repo = z.object({ repo: z.string() });

function tools(provenant: ReturnType<typeof openAIAgentsProvenance>, ran: string[]) {
  return {
    getFile: provenant.tool(
      {
        name: 'get_file',
        description: 'read a file',
        parameters: z.object({ repo: z.string(), path: z.string() }),
        execute: async ({ repo: r, path }) => {
          ran.push('get_file');
          return `# ${r}/${path}`;
        },
      },
      { action: 'github.get_file', resource: (i: { repo: string }) => `repo:${i.repo}` },
    ),
    searchCode: provenant.tool(
      {
        name: 'search_code',
        description: 'search code',
        parameters: repo,
        execute: async () => {
          ran.push('search_code');
          throw new Error('rate limited');
        },
      },
      { action: 'github.search_code', resource: (i: { repo: string }) => `repo:${i.repo}` },
    ),
    push: provenant.tool(
      {
        name: 'push',
        description: 'force push',
        parameters: repo,
        execute: async () => {
          ran.push('push');
          return 'pushed';
        },
      },
      {
        action: 'github.push',
        resource: (i: { repo: string }) => `repo:${i.repo}`,
        class: CRITICAL,
        risk: 'critical',
      },
    ),
    postMessage: provenant.tool(
      {
        name: 'post_message',
        description: 'post to slack',
        parameters: z.object({ channel: z.string() }),
        execute: async () => {
          ran.push('post_message');
          return 'posted';
        },
      },
      { action: 'slack.post_message', resource: (i: { channel: string }) => `slack:${i.channel}` },
    ),
    deleteRepo: provenant.tool(
      {
        name: 'delete_repo',
        description: 'delete a repository',
        parameters: repo,
        execute: async () => {
          ran.push('delete_repo');
          return 'deleted';
        },
      },
      {
        action: 'github.delete_repo',
        resource: (i: { repo: string }) => `repo:${i.repo}`,
        class: CRITICAL,
        risk: 'critical',
      },
    ),
  };
}

const toolCalls = (got: Stored[]) => got.filter((r) => r.type === 'tool.called');
/** The agent's records (the decision point's own `policy.decision` records aside). */
const ours = (got: Stored[]) => got.filter((r) => r.type !== 'policy.decision');

describe('OpenAI Agents SDK', () => {
  it('decides each tool call before it runs: allowed, denied (guardrail refusal), failing, privileged', async () => {
    const provenant = openAIAgentsProvenance(recorder);
    const ran: string[] = [];
    const t = tools(provenant, ran);
    const model = new ScriptedModel([
      [
        call('c1', 'get_file', { repo: 'acme/payments', path: 'README.md' }),
        call('c2', 'post_message', { channel: 'general' }),
        call('c3', 'search_code', { repo: 'acme/payments' }),
        call('c4', 'push', { repo: 'acme/payments' }),
      ],
      [say('done')],
    ]);
    const agent = new Agent({
      name: 'planner',
      instructions: 'tidy up',
      model,
      tools: [t.getFile, t.postMessage, t.searchCode, t.push],
    });
    const runner = provenant.attach(new Runner());
    const result = await recorder.session({ initiatorToken: s.alice, taskId: 'oa-1' }, () =>
      provenant.withTrace('tidy up', () => runner.run(agent, 'tidy up')),
    );
    expect(result.finalOutput).toBe('done');
    expect(ran.sort()).toEqual(['get_file', 'push', 'search_code']);
    // What the model saw of each call: the refusal is the guardrail's message, not a crash.
    const outputs = Object.fromEntries(
      (model.seen[1]!.input as { type: string; callId?: string; output?: unknown }[])
        .filter((i) => i.type === 'function_call_result')
        .map((i) => [i.callId, JSON.stringify(i.output)]),
    );
    expect(outputs['c2']).toContain('Provenant refused this tool call (policy_denied)');
    expect(outputs['c3']).toContain('rate limited');
    expect(outputs['c1']).toContain('# acme/payments/README.md');
    await recorder.flush();
    const got = await events(c.url, { task_id: 'oa-1' });
    const calls = toolCalls(got);
    const by = (name: string) => calls.filter((r) => r.action?.name === name);
    expect(by('github.get_file').map((r) => r.outcome?.status)).toEqual(['success']);
    expect(by('slack.post_message')[0]).toMatchObject({
      outcome: { status: 'denied', error: { code: 'policy_denied' } },
      policy: { decision: 'deny' },
      action: { tool: { name: 'post_message', call_id: 'c2' } },
    });
    expect(by('github.search_code')[0]).toMatchObject({
      outcome: { status: 'error', error: { message: 'rate limited' } },
    });
    // Privileged: the intent was recorded before the tool ran, then its outcome.
    const push = by('github.push');
    expect(push.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    expect(push[1]!.cause?.record_id).toBe(push[0]!.id);
    for (const r of calls) {
      expect(r.attribution.level).toBe('verified');
      expect(r.actor?.id).toBe(PLANNER);
      expect(r.initiator?.id).toBe('user:alice');
    }
    // One W3C trace; the framework's trace carries it.
    const traceIds = new Set(ours(got).map((r) => r.trace?.trace_id));
    expect(traceIds.size).toBe(1);
    const [traceId] = [...traceIds];
    const fwTrace = traces.find((x) => x.traceId === `trace_${traceId}`);
    expect(fwTrace?.metadata?.['traceparent']).toMatch(
      new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`),
    );
  });

  it('runs the agent handed off to under its own identity, with the chain back to alice', async () => {
    const provenant = openAIAgentsProvenance(recorder, {
      agents: { researcher: { identity: s.researcher, scope: ['repo:read', 'repo:write'] } },
    });
    const ran: string[] = [];
    const t = tools(provenant, ran);
    const researcherModel = new ScriptedModel([
      [
        call('r1', 'get_file', { repo: 'acme/payments', path: 'a.md' }),
        call('r2', 'delete_repo', { repo: 'acme/payments' }),
      ],
      [say('read it; deleting was refused')],
    ]);
    const researcher = new Agent({
      name: 'researcher',
      model: researcherModel,
      tools: [t.getFile, t.deleteRepo],
    });
    const planner = new Agent({
      name: 'planner',
      model: new ScriptedModel([[call('p1', 'transfer_to_researcher', {})]]),
      handoffs: [researcher],
    });
    const runner = provenant.attach(new Runner());
    const result = await recorder.session({ initiatorToken: s.alice, taskId: 'oa-2' }, () =>
      runner.run(planner, 'clean up acme/payments'),
    );
    expect(result.finalOutput).toBe('read it; deleting was refused');
    expect(ran).toEqual(['get_file']);
    await recorder.flush();
    const got = await events(c.url, { task_id: 'oa-2' });
    const invoked = got.filter((r) => r.type === 'agent.invoked');
    expect(invoked.map((r) => r.actor?.id)).toEqual([PLANNER, RESEARCHER]);
    expect(invoked[1]!.cause).toEqual({ kind: 'delegation', record_id: invoked[0]!.id });
    const calls = toolCalls(got);
    expect(calls.map((r) => [r.action?.name, r.outcome?.status])).toEqual([
      ['github.get_file', 'success'],
      ['github.delete_repo', 'denied'],
    ]);
    for (const r of calls) {
      expect(r.attribution.level).toBe('verified');
      expect(r.actor?.id).toBe(RESEARCHER);
      expect(r.delegation?.map((h) => [h.from, h.to])).toEqual([
        ['user:alice', PLANNER],
        [PLANNER, RESEARCHER],
      ]);
    }
    expect(calls[1]!.policy).toMatchObject({ decision: 'deny' });
    expect(new Set(ours(got).map((r) => r.trace?.trace_id)).size).toBe(1);
  });
});
