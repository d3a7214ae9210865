// Google ADK for TypeScript (@google/adk) with a scripted model against a real collector: every
// tool call decided by the collector's Cedar policies in the plugin's beforeToolCallback, a
// denial as the tool response the model reads, a sub-agent (transfer_to_agent down the agent
// tree) under its own identity with the whole chain verified.
import { BaseLlm, BasePlugin, FunctionTool, InMemoryRunner, LlmAgent } from '@google/adk';
import type { BaseLlmConnection, LlmRequest, LlmResponse } from '@google/adk';
import { adkProvenance } from '@provenant/sdk/adk';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CRITICAL, plannerWorld, repoResource } from '../support/frameworks.js';
import { PLANNER, RESEARCHER, events } from '../support/sdk.js';
import type { Stored } from '../support/sdk.js';

type Part = NonNullable<NonNullable<LlmResponse['content']>['parts']>[number];

/** A model that plays a script: each request, the next list of parts (else "done"). */
class ScriptedLlm extends BaseLlm {
  readonly requests: LlmRequest[] = [];
  constructor(private readonly turns: Part[][]) {
    super({ model: 'scripted' });
  }
  async *generateContentAsync(request: LlmRequest): AsyncGenerator<LlmResponse, void> {
    this.requests.push(request);
    yield { content: { role: 'model', parts: this.turns.shift() ?? [{ text: 'done' }] } };
  }
  async connect(): Promise<BaseLlmConnection> {
    throw new Error('no live connection');
  }
}

const fc = (id: string, name: string, args: Record<string, unknown>): Part => ({
  functionCall: { id, name, args },
});

const w = plannerWorld('adk');

const TOOLS = {
  get_file: { action: 'github.get_file', resource: repoResource },
  search_code: { action: 'github.search_code', resource: repoResource },
  push: { action: 'github.push', resource: repoResource, class: CRITICAL, risk: 'critical' },
  delete_repo: {
    action: 'github.delete_repo',
    resource: repoResource,
    class: CRITICAL,
    risk: 'critical',
  },
  post_message: {
    action: 'slack.post_message',
    resource: (i: { channel: string }) => `slack:${i.channel}`,
  },
} as const;

function tools(ran: string[]) {
  const repo = z.object({ repo: z.string() });
  const t = (name: string, parameters: z.ZodObject, run: () => unknown) =>
    new FunctionTool({
      name,
      description: name,
      parameters,
      execute: async () => {
        ran.push(name);
        return run();
      },
    });
  return {
    getFile: t('get_file', repo, () => ({ text: '# README' })),
    searchCode: t('search_code', repo, () => {
      throw new Error('rate limited');
    }),
    push: t('push', repo, () => ({ pushed: true })),
    deleteRepo: t('delete_repo', repo, () => ({ deleted: true })),
    postMessage: t('post_message', z.object({ channel: z.string() }), () => ({ posted: true })),
  };
}

async function run(runner: InMemoryRunner, text: string) {
  const session = await runner.sessionService.createSession({
    appName: runner.appName,
    userId: 'alice',
  });
  const out = [];
  for await (const e of runner.runAsync({
    userId: 'alice',
    sessionId: session.id,
    newMessage: { role: 'user', parts: [{ text }] },
  })) {
    out.push(e);
  }
  return out;
}

const toolCalls = (got: Stored[]) => got.filter((r) => r.type === 'tool.called');
const ours = (got: Stored[]) => got.filter((r) => r.type !== 'policy.decision');

describe('Google ADK', () => {
  it('decides each tool call in beforeToolCallback: allowed, denied (the tool response), privileged', async () => {
    const provenant = adkProvenance(w.recorder, { tools: TOOLS });
    const ran: string[] = [];
    const t = tools(ran);
    const model = new ScriptedLlm([
      [
        fc('c1', 'get_file', { repo: 'acme/payments' }),
        fc('c2', 'post_message', { channel: 'general' }),
        fc('c4', 'push', { repo: 'acme/payments' }),
      ],
      [{ text: 'done' }],
    ]);
    const agent = new LlmAgent({
      name: 'planner',
      model,
      tools: [t.getFile, t.postMessage, t.push],
    });
    const runner = new InMemoryRunner({
      agent,
      appName: 'adk-test',
      plugins: [provenant.plugin()],
    });
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'adk-1' }, () =>
      provenant.inTrace(() => run(runner, 'tidy up')),
    );
    expect(ran.sort()).toEqual(['get_file', 'push']);
    // What the model read for the denied call: the refusal, as the tool's response.
    const responses = model.requests[1]!.contents.flatMap((cn) => cn.parts ?? [])
      .map((p) => p.functionResponse)
      .filter((r) => r !== undefined);
    const denied = responses.find((r) => r.id === 'c2');
    expect(JSON.stringify(denied?.response)).toContain(
      'Provenant refused this tool call (policy_denied)',
    );
    await w.recorder.flush();
    const got = await events(w.c.url, { task_id: 'adk-1' });
    const calls = toolCalls(got);
    const by = (name: string) => calls.filter((r) => r.action?.name === name);
    expect(by('github.get_file').map((r) => r.outcome?.status)).toEqual(['success']);
    expect(by('slack.post_message')[0]).toMatchObject({
      outcome: { status: 'denied', error: { code: 'policy_denied' } },
      policy: { decision: 'deny' },
      action: { tool: { name: 'post_message', call_id: 'c2' } },
    });
    const push = by('github.push');
    expect(push.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    expect(push[1]!.cause?.record_id).toBe(push[0]!.id);
    for (const r of calls) {
      expect(r.attribution.level).toBe('verified');
      expect(r.actor?.id).toBe(PLANNER);
    }
    expect(new Set(ours(got).map((r) => r.trace?.trace_id)).size).toBe(1);
  });

  it('records a failing tool as an error outcome', async () => {
    const provenant = adkProvenance(w.recorder, { tools: TOOLS });
    const ran: string[] = [];
    const t = tools(ran);
    const agent = new LlmAgent({
      name: 'planner',
      model: new ScriptedLlm([[fc('e1', 'search_code', { repo: 'acme/payments' })]]),
      tools: [t.searchCode],
    });
    const runner = new InMemoryRunner({
      agent,
      appName: 'adk-test',
      plugins: [provenant.plugin()],
    });
    // ADK answers the model with the error; the run goes on.
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'adk-2' }, () =>
      run(runner, 'search'),
    );
    expect(ran).toEqual(['search_code']);
    await w.recorder.flush();
    const [call] = toolCalls(await events(w.c.url, { task_id: 'adk-2' }));
    expect(call).toMatchObject({
      action: { name: 'github.search_code' },
      outcome: { status: 'error', error: { message: expect.stringContaining('rate limited') } },
      attribution: { level: 'verified' },
    });
  });

  it('records a call allowed by Provenant and then answered by a later plugin as refused, not as success', async () => {
    const provenant = adkProvenance(w.recorder, { tools: TOOLS });
    const ran: string[] = [];
    const t = tools(ran);
    // The application's own plugin, after Provenant's: it answers for get_file itself.
    class Blocker extends BasePlugin {
      constructor() {
        super('blocker');
      }
      override async beforeToolCallback({ tool }: { tool: { name: string } }) {
        return tool.name === 'get_file' ? { error: 'blocked by the application' } : undefined;
      }
    }
    const model = new ScriptedLlm([
      [fc('b1', 'get_file', { repo: 'acme/payments' }), fc('b2', 'get_file', { repo: 'acme/x' })],
      [fc('b3', 'search_code', { repo: 'acme/payments' })],
      [{ text: 'done' }],
    ]);
    const agent = new LlmAgent({ name: 'planner', model, tools: [t.getFile, t.searchCode] });
    const runner = new InMemoryRunner({
      agent,
      appName: 'adk-test',
      plugins: [provenant.plugin(), new Blocker()],
    });
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'adk-blocked' }, () =>
      run(runner, 'read'),
    );
    expect(ran).toEqual(['search_code']);
    await w.recorder.flush();
    const calls = toolCalls(await events(w.c.url, { task_id: 'adk-blocked' }));
    const blocked = calls.filter((r) => r.action?.name === 'github.get_file');
    expect(blocked).toHaveLength(2);
    for (const r of blocked) {
      expect(r).toMatchObject({
        outcome: { status: 'error', error: { code: 'approval_refused' } },
        policy: { decision: 'allow' },
      });
    }
    // A tool that did run after the blocker let it through is recorded as it ended.
    expect(calls.find((r) => r.action?.name === 'github.search_code')).toMatchObject({
      outcome: { status: 'error', error: { message: expect.stringContaining('rate limited') } },
    });
  });

  it('runs a sub-agent under its own identity, with the chain back to alice', async () => {
    const provenant = adkProvenance(w.recorder, {
      tools: TOOLS,
      agents: { researcher: { identity: w.s.researcher, scope: ['repo:read', 'repo:write'] } },
    });
    const ran: string[] = [];
    const t = tools(ran);
    const researcher = new LlmAgent({
      name: 'researcher',
      description: 'reads and cleans repositories',
      model: new ScriptedLlm([
        [
          fc('r1', 'get_file', { repo: 'acme/payments' }),
          fc('r2', 'delete_repo', { repo: 'acme/payments' }),
        ],
        [{ text: 'read it; deleting was refused' }],
      ]),
      tools: [t.getFile, t.deleteRepo],
    });
    const planner = new LlmAgent({
      name: 'planner',
      model: new ScriptedLlm([[fc('p1', 'transfer_to_agent', { agentName: 'researcher' })]]),
      subAgents: [researcher],
    });
    const runner = new InMemoryRunner({
      agent: planner,
      appName: 'adk-test',
      plugins: [provenant.plugin()],
    });
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'adk-3' }, () =>
      run(runner, 'clean up'),
    );
    expect(ran).toEqual(['get_file']);
    await w.recorder.flush();
    const got = await events(w.c.url, { task_id: 'adk-3' });
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
    expect(new Set(ours(got).map((r) => r.trace?.trace_id)).size).toBe(1);
  });
});
