// The framework integrations with the real framework packages and an in-memory recorder: what
// they add to a framework's run (abort listeners), and what each reads from the framework.
import { EventEmitter, getEventListeners, setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Agent, MCPServerStdio, Runner, Usage, setTracingDisabled } from '@openai/agents';
import type { Model } from '@openai/agents';
import { fakeModel } from '@langchain/core/testing';
import { AIMessage, createAgent, tool } from 'langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Recorder } from '../src/index.js';
import { langChainProvenance } from '../src/integrations/langchain.js';
import { openAIAgentsProvenance } from '../src/integrations/openai-agents.js';
import { world } from './helpers.js';
import type { World } from './helpers.js';

let w: World;
let recorder: Recorder;
beforeAll(async () => {
  w = await world();
  recorder = w.recorder();
});
afterAll(() => recorder.close());

/**
 * Counts `abort` listeners per AbortSignal while `fn` runs: the most any one signal held at
 * once, and how many are left on signals that still hold some at the end.
 */
async function countingAbortListeners(fn: () => Promise<void>) {
  const held = new Map<AbortSignal, number>();
  let peak = 0;
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (this: EventTarget, type, ...rest) {
    if (type === 'abort' && this instanceof AbortSignal) {
      const n = (held.get(this) ?? 0) + 1;
      held.set(this, n);
      peak = Math.max(peak, n);
    }
    return add.call(this, type, ...rest);
  };
  EventTarget.prototype.removeEventListener = function (this: EventTarget, type, ...rest) {
    if (type === 'abort' && this instanceof AbortSignal && held.has(this)) {
      held.set(this, held.get(this)! - 1);
    }
    return remove.call(this, type, ...rest);
  };
  try {
    await fn();
  } finally {
    EventTarget.prototype.addEventListener = add;
    EventTarget.prototype.removeEventListener = remove;
  }
  return { peak, left: [...held.values()].reduce((a, n) => a + Math.max(0, n), 0) };
}

describe('LangChain.js abort listeners', () => {
  const K = 20;
  const getFile = tool(async () => 'ok', {
    name: 'get_file',
    description: 'read',
    schema: z.object({ repo: z.string() }),
  });
  const calls = Array.from({ length: K }, (_, i) => ({
    name: 'get_file',
    args: { repo: 'acme/payments' },
    id: `c${i}`,
  }));
  /** Three runs of an agent whose model asks for K calls at once, with the caller's signal. */
  const runs = (withProvenant: boolean, signal: AbortSignal) => async () => {
    const provenant = langChainProvenance(recorder, {});
    const session = await recorder.session({ initiatorToken: w.alice });
    for (let i = 0; i < 3; i++) {
      const model = fakeModel()
        .respond(new AIMessage({ content: '', tool_calls: calls }))
        .respond(new AIMessage('done'));
      const agent = createAgent({
        model,
        tools: [getFile],
        middleware: withProvenant ? [provenant.middleware()] : [],
      });
      await session.run(() =>
        agent.invoke({ messages: [{ role: 'user', content: 'go' }] }, { signal }),
      );
    }
  };

  // K listeners on one signal is the framework's own doing: not worth Node's warning here.
  const warnAt = EventEmitter.defaultMaxListeners;
  beforeAll(() => setMaxListeners(K + 10));
  afterAll(() => setMaxListeners(warnAt));

  it('adds none: the framework holds one per parallel tool call and leaves what it leaves without Provenant', async () => {
    const plainSignal = new AbortController().signal;
    const withSignal = new AbortController().signal;
    const plain = await countingAbortListeners(runs(false, plainSignal));
    const recorded = await countingAbortListeners(runs(true, withSignal));
    // LangGraph races each of a step's K tool calls against the step's signal: K at once (what
    // set off MaxListenersExceededWarning in bench/frameworks.js), all removed when they end.
    expect(plain.peak).toBe(K);
    expect(recorded.peak).toBe(plain.peak);
    expect(recorded.left).toBe(plain.left);
    // On the caller's own signal, LangGraph (1.7.3) leaves one listener per invoke, with or
    // without Provenant (its combined run signal is never disposed).
    expect(getEventListeners(withSignal, 'abort').length).toBe(
      getEventListeners(plainSignal, 'abort').length,
    );
    expect(
      w.records().filter((r) => r.type === 'tool.called' && r.outcome?.status === 'success'),
    ).toHaveLength(3 * K);
  });
});

describe('LangChain.js ToolRuntime.context', () => {
  const ran: unknown[] = [];
  const getFile = tool(
    async ({ repo }: { repo: string }, runtime: { context?: { userId?: string } }) => {
      ran.push(runtime.context?.userId);
      return `# ${repo}`;
    },
    { name: 'get_file', description: 'read', schema: z.object({ repo: z.string() }) },
  );
  const agent = (contextSchema?: z.ZodObject) => {
    const provenant = langChainProvenance(recorder, {
      tools: { get_file: { action: 'github.get_file', resource: 'repo:acme/payments' } },
    });
    const model = fakeModel()
      .respondWithTools([{ name: 'get_file', args: { repo: 'acme/payments' }, id: 'rt1' }])
      .respond(new AIMessage('done'));
    return {
      provenant,
      agent: createAgent({
        model,
        tools: [getFile],
        middleware: [provenant.middleware()],
        ...(contextSchema ? { contextSchema } : {}),
      }),
    };
  };
  const callsOf = (taskId: string) =>
    w
      .records(taskId)
      .filter((r) => r.type === 'tool.called' && r.action?.name === 'github.get_file');

  it('decides and records the run’s tool calls in the context the run carries, outside any session', async () => {
    const { provenant, agent: a } = agent(z.object({ provenant: z.any(), userId: z.string() }));
    const session = await recorder.session({ initiatorToken: w.alice, taskId: 'rt-carried' });
    const carried = session.run(() => provenant.context());
    expect(recorder.current()).toBeUndefined();
    await a.invoke(
      { messages: [{ role: 'user', content: 'read' }] },
      { context: { ...carried, userId: 'u-1' } },
    );
    await recorder.flush();
    const got = callsOf('rt-carried');
    expect(got.map((r) => r.outcome?.status)).toEqual(['success']);
    expect(got[0]).toMatchObject({
      initiator: { id: 'user:alice' },
      session_id: session.context.sessionId,
      action: { tool: { call_id: 'rt1' } },
    });
    // The tool still sees the rest of the run's context.
    expect(ran).toContain('u-1');
  });

  it('prefers the run’s context to the async context it was invoked in', async () => {
    const { provenant, agent: a } = agent();
    const forAlice = await recorder.session({ initiatorToken: w.alice, taskId: 'rt-alice' });
    const forBob = await recorder.session({ initiatorToken: w.bob, taskId: 'rt-bob' });
    const carried = forAlice.run(() => provenant.context());
    await forBob.run(() =>
      a.invoke({ messages: [{ role: 'user', content: 'read' }] }, { context: carried }),
    );
    await recorder.flush();
    expect(callsOf('rt-alice')).toHaveLength(1);
    expect(callsOf('rt-bob')).toHaveLength(0);
  });

  it('refuses a context that only looks like one (not made by a recorder here): the tool does not run', async () => {
    const { provenant, agent: a } = agent();
    const session = await recorder.session({ initiatorToken: w.alice, taskId: 'rt-forged' });
    const lookalike = JSON.parse(JSON.stringify(session.run(() => provenant.context()))) as object;
    const before = ran.length;
    const err = await a
      .invoke({ messages: [{ role: 'user', content: 'read' }] }, { context: lookalike })
      .catch((e: unknown) => e);
    // (LangGraph re-throws it as its own copy: compared by name and message.)
    expect(err).toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/not a Provenant context of this process/),
    });
    expect(ran.length).toBe(before);
    expect(callsOf('rt-forged')).toHaveLength(0);
  });
});

describe('OpenAI Agents MCP tools', () => {
  let ow: World;
  let r: Recorder;
  const noDeletes: Parameters<typeof world>[0] = (request) =>
    request.action.name.endsWith('delete_repo')
      ? { decision: 'deny', determining: ['no-deletes'], reason: 'no deletes' }
      : 'allow';
  beforeAll(async () => {
    ow = await world(noDeletes);
    r = ow.recorder();
    setTracingDisabled(true);
  });
  afterAll(() => r.close());

  /** A model whose turns are scripted: each call answers the next list of output items. */
  const scripted = (...turns: unknown[][]) => {
    let turn = 0;
    const seen: unknown[] = [];
    return {
      seen,
      // The SDK's Model, answering scripted output items (typed loosely: raw Responses items).
      model: {
        getResponse: async (req: { input: unknown }) => {
          seen.push(req.input);
          return { usage: new Usage(), output: turns[turn++] ?? [done] };
        },
        // eslint-disable-next-line require-yield -- never streamed
        async *getStreamedResponse() {
          throw new Error('not streamed');
        },
      } as unknown as Model,
    };
  };
  const done = {
    type: 'message',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text: 'done' }],
  };
  const calls = (taskId: string) => ow.records(taskId).filter((x) => x.type === 'tool.called');

  it('decides each call of a local MCP server (a real stdio server) before it reaches the server', async () => {
    const provenant = openAIAgentsProvenance(r, {
      tools: {
        read_file: { action: 'github.get_file', resource: 'repo:acme/payments' },
        delete_repo: { action: 'github.delete_repo', resource: 'repo:acme/payments' },
      },
    });
    const server = new MCPServerStdio({
      name: 'github',
      command: process.execPath,
      args: [fileURLToPath(new URL('../../mcp/test/fixtures/stdio-server.js', import.meta.url))],
    });
    const mcp = provenant.mcpServer(server);
    await mcp.connect();
    try {
      const call = (id: string, name: string, args: unknown) => ({
        type: 'function_call',
        callId: id,
        name,
        arguments: JSON.stringify(args),
        status: 'completed',
      });
      const { model, seen } = scripted([
        call('m1', 'read_file', { repo: 'acme/payments', path: 'README.md' }),
        call('m2', 'delete_repo', { repo: 'acme/payments' }),
        call('m3', 'fail', {}),
      ]);
      const agent = new Agent({ name: 'planner', model, mcpServers: [mcp] });
      const result = await r.session({ initiatorToken: ow.alice, taskId: 'oa-mcp' }, () =>
        new Runner({ tracingDisabled: true }).run(agent, 'go'),
      );
      expect(result.finalOutput).toBe('done');
      await r.flush();
      const got = calls('oa-mcp');
      // (A refusal is recorded at once, an outcome when the server answers: order varies.)
      expect(
        got.map((x) => [x.action?.name, x.outcome?.status, x.action?.tool?.server]).sort(),
      ).toEqual([
        ['fail', 'error', 'github'],
        ['github.delete_repo', 'denied', 'github'],
        ['github.get_file', 'success', 'github'],
      ]);
      // The model was told of the refusal as the tool's output; the server never deleted.
      const second = JSON.stringify(seen[1]);
      expect(second).toContain('Policy denied github.delete_repo');
      expect(second).toContain('contents of acme/payments/README.md');
      expect(second).not.toContain('deleted');
    } finally {
      await mcp.close();
    }
  });

  it('decides a hosted MCP call in its approval, and records its outcome from the run’s mcp_call item', async () => {
    const provenant = openAIAgentsProvenance(r, {
      tools: {
        read_file: { action: 'github.get_file', resource: 'repo:acme/payments' },
        delete_repo: { action: 'github.delete_repo', resource: 'repo:acme/payments' },
      },
    });
    const approval = (id: string, name: string) => ({
      type: 'hosted_tool_call',
      name: 'mcp_approval_request',
      providerData: {
        type: 'mcp_approval_request',
        id,
        name,
        arguments: '{"repo":"acme/payments"}',
        server_label: 'github',
      },
    });
    const { model, seen } = scripted(
      [approval('apr_1', 'read_file'), approval('apr_2', 'delete_repo')],
      [
        {
          type: 'hosted_tool_call',
          name: 'mcp_call',
          providerData: {
            type: 'mcp_call',
            id: 'mcp_1',
            approval_request_id: 'apr_1',
            name: 'read_file',
            arguments: '{"repo":"acme/payments"}',
            server_label: 'github',
            output: '# README',
          },
        },
        done,
      ],
    );
    const hosted = provenant.hostedMcpTool({
      serverLabel: 'github',
      serverUrl: 'https://mcp.example/github',
    });
    expect(hosted.providerData.require_approval).toBe('always');
    const agent = new Agent({ name: 'planner', model, tools: [hosted] });
    await r.session({ initiatorToken: ow.alice, taskId: 'oa-hosted' }, async () => {
      const result = await new Runner({ tracingDisabled: true }).run(agent, 'go');
      provenant.settle(result);
    });
    await r.flush();
    expect(calls('oa-hosted').map((x) => [x.action?.name, x.outcome?.status])).toEqual([
      ['github.delete_repo', 'denied'],
      ['github.get_file', 'success'],
    ]);
    // The approval responses went back to the model: approve for one, the refusal for the other.
    const second = JSON.stringify(seen[1]);
    expect(second).toMatch(/"approve":true/);
    expect(second).toMatch(/"approve":false/);
    expect(second).toContain('Provenant refused');
  });
});
