/**
 * `@provenant/sdk/openai-agents`: the OpenAI Agents SDK (`@openai/agents`, an optional peer).
 *
 * - Each tool made with `provenant.tool(...)` gets a tool input guardrail that asks the decision
 *   point before the tool runs: a refusal reaches the model as the guardrail's `rejectContent`
 *   (the SDK's own refusal form), the tool does not run, the denial is recorded; an allowed call
 *   that fails closed has its intent made durable first. Its `execute` records the outcome.
 * - A handoff (`Runner` event `agent_handoff`) is a delegation: the agent handed to runs under
 *   its own agent-instance identity with a credential exchanged from the delegator's.
 * - A local MCP server (`mcpServers` of an agent: stdio, Streamable HTTP, SSE) wrapped with
 *   `provenant.mcpServer(server)` has each `callTool` decided before it reaches the server: a
 *   refusal is thrown there, which the SDK hands the model as the tool's error output (the
 *   server's `errorFunction`); the answer (`isError` as an error) is the outcome.
 * - A hosted MCP tool made with `provenant.hostedMcpTool(options)` asks for approval of every
 *   call (`requireApproval: 'always'`): the Responses API stops before it calls the server, and
 *   `onApproval` is the decision (a refusal is `approve: false` with the reason, which the model
 *   is told; the server is never called). The call itself runs at OpenAI: its outcome comes back
 *   as an `mcp_call` item of the run, recorded by `provenant.settle(result)`.
 * - Hosted tools (`webSearchTool`, `fileSearchTool`, `codeInterpreterTool`,
 *   `imageGenerationTool`, `toolSearchTool`) run inside OpenAI's model call, with no step back
 *   to this process before they run: the SDK (0.14.3) only receives them afterwards, as
 *   finished `hosted_tool_call` items. Nothing can decide them here, and nothing is recorded
 *   for them (a record would claim a decision that was never made): keep them off an agent
 *   whose actions must be decided.
 * - The framework's trace ids are `trace_<32 hex>`, not W3C: `withTrace` runs its trace under
 *   the Provenant trace id and puts the W3C `traceparent` in the trace's metadata.
 */
import {
  hostedMcpTool as agentsHostedMcpTool,
  tool as agentsTool,
  withTrace as agentsWithTrace,
} from '@openai/agents';
import type {
  HostedMCPTool,
  MCPServer,
  RunToolApprovalItem,
  FunctionTool,
  RunContext,
  Runner,
  ToolInputParameters,
  ToolOptions as AgentsToolOptions,
} from '@openai/agents';
import type { WorkContext } from '../context.js';
import { storage } from '../context.js';
import type { OpenCall, Recorder } from '../recorder.js';
import { isPromise } from '../tool/call.js';
import { formatTraceparent } from '../trace/traceparent.js';
import {
  beginToolCall,
  delegateTo,
  refusalText,
  requireContext,
  type FrameworkToolOptions,
  type FrameworkTools,
  type SubAgents,
} from './lib/framework.js';

const NAME = 'openai-agents';

export interface OpenAIAgentsOptions {
  /** How each tool is recorded, by tool name (default: action = name, resource `tool:<name>`). */
  readonly tools?: FrameworkTools;
  /** The agents handed off to, by agent name: each one's identity and delegated scopes. */
  readonly agents?: SubAgents;
}

export interface OpenAIAgentsProvenance {
  /**
   * `tool(options)` of `@openai/agents`, decided and recorded: the Provenant guardrail runs
   * first among the tool's input guardrails, and `execute` records the outcome. `record` says
   * how it is recorded (else `options.tools[name]`).
   */
  tool<TParameters extends ToolInputParameters = undefined, Context = unknown, Result = string>(
    options: AgentsToolOptions<TParameters, Context>,
    record?: FrameworkToolOptions<never>,
  ): FunctionTool<Context, TParameters, Result>;
  /** Makes the runner's handoffs delegations; returns it. */
  attach<R extends Runner>(runner: R): R;
  /**
   * The MCP server with each tool call decided and recorded (how: `options.tools` by the MCP
   * tool's name; `server` defaults to the server's name). Give it as the agent's `mcpServers`.
   */
  mcpServer<S extends MCPServer>(server: S): S;
  /**
   * `hostedMcpTool(options)` of `@openai/agents`, every call decided in its approval
   * (`requireApproval: 'always'`; your `onApproval`, if any, is asked after an allow). How each
   * call is recorded: `options.tools` by the MCP tool's name (`server` defaults to the label).
   */
  hostedMcpTool<Context = unknown>(
    options: Parameters<typeof agentsHostedMcpTool<Context>>[0],
  ): HostedMCPTool<Context>;
  /**
   * Records the outcomes of the hosted MCP calls the run approved, from its `mcp_call` items
   * (their `output`, or `error`); a call approved whose item the run does not hold is recorded
   * as an error (`outcome_not_observed`). Call it with each run's result.
   */
  settle(result: { readonly newItems: readonly unknown[] }): void;
  /**
   * Runs `fn` in a trace of the framework whose id is the Provenant trace id (`trace_<W3C
   * trace id>`), with `traceparent` and `provenant.invocation_id` in its metadata.
   */
  withTrace<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

interface RunState {
  /** The context each agent of the run acts in, by agent name (the first agent: the session's). */
  readonly agents: Map<string, WorkContext | Promise<WorkContext>>;
  /** Calls allowed by the guardrail, waiting for their `execute`, by the model's call id. */
  readonly open: Map<string, OpenCall>;
}

export function openAIAgentsProvenance(
  recorder: Recorder,
  options: OpenAIAgentsOptions = {},
): OpenAIAgentsProvenance {
  // A new table on each registration: the options made from a table are kept by it.
  let tools: FrameworkTools = { ...options.tools };
  const subAgents = options.agents ?? {};
  const runs = new WeakMap<object, RunState>();
  /** Hosted MCP calls approved, waiting for their `mcp_call` item, by approval request id. */
  const hosted = new Map<string, OpenCall>();

  const stateOf = (rc: RunContext<unknown>): RunState => {
    let s = runs.get(rc);
    if (!s) {
      s = { agents: new Map(), open: new Map() };
      runs.set(rc, s);
    }
    return s;
  };
  /** The context `agent` acts in: its delegation's, or else (the run's first agent) the session's. */
  const contextOf = (
    rc: RunContext<unknown>,
    agent: string,
  ): WorkContext | Promise<WorkContext> => {
    const s = stateOf(rc);
    let ctx = s.agents.get(agent);
    if (!ctx) {
      ctx = requireContext(NAME);
      s.agents.set(agent, ctx);
    }
    return ctx;
  };

  const guardrail = {
    name: 'provenant',
    run: async ({
      context,
      agent,
      toolCall,
    }: {
      context: RunContext<unknown>;
      agent: { name: string };
      toolCall: { callId: string; name: string; arguments: string };
    }) => {
      const s = stateOf(context);
      // Approval flows run the input guardrails twice for one call: decide it once.
      if (s.open.has(toolCall.callId)) return { behavior: { type: 'allow' as const } };
      const known = contextOf(context, agent.name);
      const ctx = isPromise(known) ? await known : known;
      const start = beginToolCall(
        recorder,
        ctx,
        tools,
        toolCall.name,
        parseArguments(toolCall.arguments),
        toolCall.callId,
      );
      const started = isPromise(start) ? await start : start;
      if (!started.allowed) {
        return {
          behavior: { type: 'rejectContent' as const, message: refusalText(started.error) },
          outputInfo: { provenant: started.error.code },
        };
      }
      s.open.set(toolCall.callId, started.call);
      return { behavior: { type: 'allow' as const } };
    },
  };

  return {
    tool<TParameters extends ToolInputParameters = undefined, Context = unknown, Result = string>(
      o: AgentsToolOptions<TParameters, Context>,
      record?: FrameworkToolOptions<never>,
    ): FunctionTool<Context, TParameters, Result> {
      const name = o.name;
      if (typeof name !== 'string' || name === '') {
        throw new TypeError(`${NAME}: a recorded tool needs a name.`);
      }
      if (record) tools = { ...tools, [name]: record };
      const execute = o.execute as (...a: unknown[]) => unknown;
      const recorded = async (input: unknown, rc?: RunContext<Context>, details?: Details) => {
        const callId = details?.toolCall?.callId;
        const s = rc ? stateOf(rc as RunContext<unknown>) : undefined;
        let call = callId !== undefined ? s?.open.get(callId) : undefined;
        if (callId !== undefined) s?.open.delete(callId);
        if (!call) {
          // Called without the guardrail (directly, or with guardrails stripped): decided here,
          // in the context of the calling code; a refusal is thrown, the SDK's error form.
          const start = beginToolCall(recorder, requireContext(NAME), tools, name, input, callId);
          const started = isPromise(start) ? await start : start;
          if (!started.allowed) throw started.error;
          call = started.call;
        }
        let out: unknown;
        try {
          const answer = execute(input, rc, details);
          out = isPromise(answer) ? await answer : answer;
        } catch (e) {
          call.fail(e);
          throw e;
        }
        call.finish(out);
        return out;
      };
      const guardrails = [guardrail, ...((o.inputGuardrails ?? []) as unknown[])];
      return agentsTool({
        ...o,
        execute: recorded,
        inputGuardrails: guardrails,
      } as unknown as AgentsToolOptions<TParameters, Context>) as unknown as FunctionTool<
        Context,
        TParameters,
        Result
      >;
    },

    attach<R extends Runner>(runner: R): R {
      runner.on('agent_handoff', (rc, from, to) => {
        const s = stateOf(rc as RunContext<unknown>);
        // Handing back to an agent that already acts in this run keeps its context.
        if (s.agents.has(to.name)) return;
        const parent = Promise.resolve(contextOf(rc as RunContext<unknown>, from.name));
        const child = parent.then((p) => delegateTo(recorder, p, NAME, subAgents, to.name));
        // Its tool calls await it; the listener itself must not leave a rejection unhandled.
        child.catch(() => {});
        s.agents.set(to.name, child);
      });
      return runner;
    },

    mcpServer<S extends MCPServer>(server: S): S {
      const table: Record<string, FrameworkToolOptions<never>> = {};
      const optionsFor = (name: string): FrameworkTools => {
        table[name] ??= { server: server.name, ...tools[name] } as FrameworkToolOptions<never>;
        return table;
      };
      /** Decides the call, runs it, records what the server answered (`isError`: an error). */
      const decided =
        <R>(call: (...a: unknown[]) => Promise<R>, answerOf: (r: R) => McpAnswer) =>
        async (name: string, args: Record<string, unknown> | null, ...rest: unknown[]) => {
          const start = beginToolCall(
            recorder,
            requireContext(NAME),
            optionsFor(name),
            name,
            args ?? {},
            undefined,
          );
          const started = isPromise(start) ? await start : start;
          // The SDK hands a throw here to the model as the tool's error output.
          if (!started.allowed) throw started.error;
          let out: R;
          try {
            out = await call(name, args, ...rest);
          } catch (e) {
            started.call.fail(e);
            throw e;
          }
          const answer = answerOf(out);
          if (answer.isError === true) {
            started.call.failWith({ code: 'tool_error', message: mcpText(answer.content) }, out);
          } else started.call.finish(out);
          return out;
        };
      const callTool = decided(server.callTool.bind(server) as never, (content: unknown) => ({
        content,
        isError: (content as { isError?: unknown } | null)?.isError,
      }));
      const callToolResult =
        server.callToolResult &&
        decided(server.callToolResult.bind(server) as never, (r: McpAnswer) => r);
      return new Proxy(server, {
        get(target, prop, receiver) {
          if (prop === 'callTool') return callTool;
          if (prop === 'callToolResult') return callToolResult;
          const v = Reflect.get(target, prop, receiver) as unknown;
          // Its own methods on itself (private fields do not resolve through a proxy).
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },

    hostedMcpTool<Context = unknown>(
      o: Parameters<typeof agentsHostedMcpTool<Context>>[0],
    ): HostedMCPTool<Context> {
      const label = o.serverLabel;
      const table: Record<string, FrameworkToolOptions<never>> = {};
      const theirs = (o as { onApproval?: HostedApproval<Context> }).onApproval;
      const onApproval: HostedApproval<Context> = async (rc, item) => {
        const raw = (item as { rawItem?: { providerData?: HostedMcpCall } }).rawItem;
        const call = raw?.providerData ?? {};
        const name = typeof call.name === 'string' ? call.name : 'unknown';
        table[name] ??= { server: label, ...tools[name] } as FrameworkToolOptions<never>;
        const known = contextOf(rc as RunContext<unknown>, item.agent.name);
        const ctx = isPromise(known) ? await known : known;
        const start = beginToolCall(
          recorder,
          ctx,
          table,
          name,
          parseArguments(typeof call.arguments === 'string' ? call.arguments : '{}'),
          typeof call.id === 'string' ? call.id : undefined,
        );
        const started = isPromise(start) ? await start : start;
        if (!started.allowed) return { approve: false, reason: refusalText(started.error) };
        if (theirs) {
          const answer = await theirs(rc, item);
          if (!answer.approve) {
            started.call.failWith({
              code: 'approval_refused',
              message: answer.reason ?? 'refused by the approval function',
            });
            return answer;
          }
        }
        hosted.set(typeof call.id === 'string' ? call.id : `${label}:${name}`, started.call);
        return { approve: true };
      };
      return agentsHostedMcpTool<Context>({
        ...o,
        requireApproval: 'always',
        onApproval,
      } as Parameters<typeof agentsHostedMcpTool<Context>>[0]);
    },

    settle(result: { readonly newItems: readonly unknown[] }): void {
      for (const item of result.newItems) {
        const data = (item as { rawItem?: { type?: unknown; providerData?: HostedMcpCall } })
          .rawItem;
        const call = data?.providerData;
        if (data?.type !== 'hosted_tool_call' || call?.type !== 'mcp_call') continue;
        const id = typeof call.approval_request_id === 'string' ? call.approval_request_id : '';
        const open = hosted.get(id);
        if (!open) continue;
        hosted.delete(id);
        if (call.error !== undefined && call.error !== null) {
          open.failWith({ code: 'tool_error', message: mcpText(call.error) }, call.error);
        } else open.finish(call.output ?? null);
      }
      for (const [id, open] of hosted) {
        hosted.delete(id);
        open.failWith({
          code: 'outcome_not_observed',
          message: 'the run holds no mcp_call item for this approved call',
        });
      }
    },

    withTrace<T>(name: string, fn: () => Promise<T>): Promise<T> {
      const ctx = requireContext(NAME);
      const traceparent = formatTraceparent({
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        sampled: ctx.sampled,
      });
      return agentsWithTrace(name, () => storage.run(ctx, fn), {
        traceId: `trace_${ctx.traceId}`,
        metadata: { traceparent, 'provenant.invocation_id': ctx.invocationId },
      });
    },
  };
}

interface Details {
  readonly toolCall?: { readonly callId?: string };
}

/** The model's arguments (a JSON string) as the tool will see them; the text when not JSON. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The approval function of a hosted MCP tool (`onApproval`). */
type HostedApproval<Context> = (
  context: RunContext<Context>,
  item: RunToolApprovalItem,
) => Promise<{ approve: boolean; reason?: string }>;

/** What a hosted MCP item says of its call (Responses API `mcp_approval_request`, `mcp_call`). */
interface HostedMcpCall {
  readonly type?: unknown;
  readonly id?: unknown;
  readonly name?: unknown;
  readonly arguments?: unknown;
  readonly approval_request_id?: unknown;
  readonly output?: unknown;
  readonly error?: unknown;
}

/** An MCP server's answer, as far as it is read here. */
interface McpAnswer {
  readonly content?: unknown;
  readonly isError?: unknown;
}

/** The text of an MCP answer's content (or of an error), for an error outcome's message. */
function mcpText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((c) =>
        typeof (c as { text?: unknown })?.text === 'string' ? (c as { text: string }).text : '',
      )
      .filter(Boolean)
      .join('\n');
  }
  try {
    return JSON.stringify(content) ?? '';
  } catch {
    return '';
  }
}
