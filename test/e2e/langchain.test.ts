// LangChain.js v1 (createAgent) and LangGraph.js with the framework's own fake model against a
// real collector: every tool call decided by the collector's Cedar policies in wrapToolCall, a
// denial as an error ToolMessage, a sub-agent (a sub-graph node, and one invoked from a tool)
// under its own identity with the whole chain verified.
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { fakeModel } from '@langchain/core/testing';
import { langChainProvenance } from '@provenant/sdk/langchain';
import { AIMessage, ToolMessage, createAgent, tool } from 'langchain';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CRITICAL, plannerWorld, repoResource } from '../support/frameworks.js';
import { PLANNER, RESEARCHER, events } from '../support/sdk.js';
import type { Stored } from '../support/sdk.js';

const w = plannerWorld('langchain');

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
  return {
    getFile: tool(
      async ({ repo: r }: { repo: string }) => {
        ran.push('get_file');
        return `# ${r}`;
      },
      { name: 'get_file', description: 'read a file', schema: repo },
    ),
    searchCode: tool(
      async () => {
        ran.push('search_code');
        throw new Error('rate limited');
      },
      { name: 'search_code', description: 'search code', schema: repo },
    ),
    push: tool(
      async () => {
        ran.push('push');
        return 'pushed';
      },
      { name: 'push', description: 'force push', schema: repo },
    ),
    deleteRepo: tool(
      async () => {
        ran.push('delete_repo');
        return 'deleted';
      },
      { name: 'delete_repo', description: 'delete a repository', schema: repo },
    ),
    postMessage: tool(
      async () => {
        ran.push('post_message');
        return 'posted';
      },
      { name: 'post_message', description: 'post', schema: z.object({ channel: z.string() }) },
    ),
  };
}

const toolCalls = (got: Stored[]) => got.filter((r) => r.type === 'tool.called');
const ours = (got: Stored[]) => got.filter((r) => r.type !== 'policy.decision');

describe('LangChain.js v1 createAgent', () => {
  it('decides each tool call in wrapToolCall: allowed, denied (error ToolMessage), failing, privileged', async () => {
    const provenant = langChainProvenance(w.recorder, { tools: TOOLS });
    const ran: string[] = [];
    const t = tools(ran);
    const model = fakeModel()
      .respondWithTools([
        { name: 'get_file', args: { repo: 'acme/payments' }, id: 'c1' },
        { name: 'post_message', args: { channel: 'general' }, id: 'c2' },
        { name: 'push', args: { repo: 'acme/payments' }, id: 'c4' },
      ])
      .respondWithTools([{ name: 'search_code', args: { repo: 'acme/payments' }, id: 'c3' }]);
    const agent = createAgent({
      model,
      tools: [t.getFile, t.postMessage, t.searchCode, t.push],
      middleware: [provenant.middleware()],
    });
    const seenMetadata: Record<string, unknown>[] = [];
    const err = await w.recorder
      .session({ initiatorToken: w.s.alice, taskId: 'lc-1' }, async () => {
        const first = await agent
          .invoke(
            { messages: [{ role: 'user', content: 'tidy up' }] },
            {
              ...provenant.runConfig(),
              callbacks: [
                {
                  handleChainStart: (_c, _i, _r, _p, _t, metadata) =>
                    void seenMetadata.push(metadata ?? {}),
                },
              ],
            },
          )
          .catch((e: unknown) => e);
        return first;
      })
      .catch((e: unknown) => e);
    // The failing tool's error is the framework's to handle: createAgent re-throws it.
    expect(err).toMatchObject({ message: expect.stringContaining('rate limited') });
    expect(ran.sort()).toEqual(['get_file', 'push', 'search_code']);
    await w.recorder.flush();
    const got = await events(w.c.url, { task_id: 'lc-1' });
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
    const push = by('github.push');
    expect(push.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    expect(push[1]!.cause?.record_id).toBe(push[0]!.id);
    for (const r of calls) {
      expect(r.attribution.level).toBe('verified');
      expect(r.actor?.id).toBe(PLANNER);
    }
    const traceIds = new Set(ours(got).map((r) => r.trace?.trace_id));
    expect(traceIds.size).toBe(1);
    const [traceId] = [...traceIds];
    expect(seenMetadata[0]?.['traceparent']).toMatch(new RegExp(`^00-${traceId}-`));
  });

  it('answers a denied call with an error ToolMessage the model reads', async () => {
    const provenant = langChainProvenance(w.recorder, { tools: TOOLS });
    const ran: string[] = [];
    const t = tools(ran);
    const agent = createAgent({
      model: fakeModel()
        .respondWithTools([{ name: 'post_message', args: { channel: 'general' }, id: 'd1' }])
        .respond(new AIMessage('ok')),
      tools: [t.postMessage],
      middleware: [provenant.middleware()],
    });
    const result = await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'lc-2' }, () =>
      agent.invoke({ messages: [{ role: 'user', content: 'post it' }] }),
    );
    expect(ran).toEqual([]);
    const refusal = result.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage;
    expect(refusal).toMatchObject({ status: 'error', tool_call_id: 'd1' });
    expect(String(refusal.content)).toContain('Provenant refused this tool call (policy_denied)');
  });
});

describe('LangGraph sub-agents', () => {
  it('runs a sub-graph agent under its own identity, with the chain back to alice', async () => {
    const provenant = langChainProvenance(w.recorder, {
      tools: TOOLS,
      agents: { researcher: { identity: w.s.researcher, scope: ['repo:read', 'repo:write'] } },
    });
    const ran: string[] = [];
    const t = tools(ran);
    const planner = createAgent({
      model: fakeModel()
        .respondWithTools([{ name: 'get_file', args: { repo: 'acme/payments' }, id: 'p1' }])
        .respond(new AIMessage('over to the researcher')),
      tools: [t.getFile],
      middleware: [provenant.middleware()],
    });
    // Explicit message ids: the fake model numbers its messages per instance, and the graph's
    // message reducer would merge the researcher's into the planner's of the same id.
    const rModel = fakeModel()
      .respond(
        new AIMessage({
          id: 'researcher-1',
          content: '',
          tool_calls: [
            { name: 'get_file', args: { repo: 'acme/payments' }, id: 'r1' },
            { name: 'delete_repo', args: { repo: 'acme/payments' }, id: 'r2' },
          ],
        }),
      )
      .respond(new AIMessage({ id: 'researcher-2', content: 'done' }));
    const researcher = createAgent({
      model: rModel,
      tools: [t.getFile, t.deleteRepo],
      middleware: [provenant.middleware({ agent: 'researcher' })],
    });
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('planner', planner.graph)
      .addNode('researcher', researcher.graph)
      .addEdge(START, 'planner')
      .addEdge('planner', 'researcher')
      .addEdge('researcher', END)
      .compile();
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'lg-1' }, () =>
      graph.invoke({ messages: [{ role: 'user', content: 'clean up' }] }),
    );
    expect(ran).toEqual(['get_file', 'get_file']);
    await w.recorder.flush();
    const got = await events(w.c.url, { task_id: 'lg-1' });
    const invoked = got.filter((r) => r.type === 'agent.invoked');
    expect(invoked.map((r) => r.actor?.id)).toEqual([PLANNER, RESEARCHER]);
    expect(invoked[1]!.cause).toEqual({ kind: 'delegation', record_id: invoked[0]!.id });
    const calls = toolCalls(got);
    expect(calls.map((r) => [r.actor?.id, r.action?.name, r.outcome?.status])).toEqual([
      [PLANNER, 'github.get_file', 'success'],
      [RESEARCHER, 'github.get_file', 'success'],
      [RESEARCHER, 'github.delete_repo', 'denied'],
    ]);
    for (const r of calls.slice(1)) {
      expect(r.attribution.level).toBe('verified');
      expect(r.delegation?.map((h) => [h.from, h.to])).toEqual([
        ['user:alice', PLANNER],
        [PLANNER, RESEARCHER],
      ]);
    }
    expect(new Set(ours(got).map((r) => r.trace?.trace_id)).size).toBe(1);
  });

  it('delegates to a sub-agent invoked from a tool of its delegator', async () => {
    const provenant = langChainProvenance(w.recorder, {
      tools: {
        ...TOOLS,
        ask_researcher: { action: 'github.search_code', resource: 'repo:acme/payments' },
      },
      agents: { researcher: { identity: w.s.researcher, scope: ['repo:read'] } },
    });
    const ran: string[] = [];
    const t = tools(ran);
    const researcher = createAgent({
      model: fakeModel()
        .respondWithTools([{ name: 'get_file', args: { repo: 'acme/payments' }, id: 'r1' }])
        .respond(new AIMessage('read it')),
      tools: [t.getFile],
      middleware: [provenant.middleware({ agent: 'researcher' })],
    });
    const ask = tool(
      async ({ question }: { question: string }) => {
        const out = await researcher.invoke({ messages: [{ role: 'user', content: question }] });
        return String(out.messages.at(-1)?.content);
      },
      { name: 'ask_researcher', description: 'ask', schema: z.object({ question: z.string() }) },
    );
    const planner = createAgent({
      model: fakeModel()
        .respondWithTools([{ name: 'ask_researcher', args: { question: 'read it' }, id: 'p1' }])
        .respond(new AIMessage('the researcher read it')),
      tools: [ask],
      middleware: [provenant.middleware()],
    });
    await w.recorder.session({ initiatorToken: w.s.alice, taskId: 'lg-2' }, () =>
      planner.invoke({ messages: [{ role: 'user', content: 'read it' }] }),
    );
    await w.recorder.flush();
    const got = await events(w.c.url, { task_id: 'lg-2' });
    const calls = toolCalls(got);
    expect(calls.map((r) => [r.actor?.id, r.action?.tool?.name, r.outcome?.status])).toEqual([
      [RESEARCHER, 'get_file', 'success'],
      [PLANNER, 'ask_researcher', 'success'],
    ]);
    expect(calls[0]!.attribution.level).toBe('verified');
    expect(calls[0]!.delegation?.map((h) => h.to)).toEqual([PLANNER, RESEARCHER]);
  });
});
