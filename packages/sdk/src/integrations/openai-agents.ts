/**
 * `@provenant/sdk/openai-agents`: the OpenAI Agents SDK (`@openai/agents`, an optional peer).
 *
 * - Each tool made with `provenant.tool(...)` gets a tool input guardrail that asks the decision
 *   point before the tool runs: a refusal reaches the model as the guardrail's `rejectContent`
 *   (the SDK's own refusal form), the tool does not run, the denial is recorded; an allowed call
 *   that fails closed has its intent made durable first. Its `execute` records the outcome.
 * - A handoff (`Runner` event `agent_handoff`) is a delegation: the agent handed to runs under
 *   its own agent-instance identity with a credential exchanged from the delegator's.
 * - The framework's trace ids are `trace_<32 hex>`, not W3C: `withTrace` runs its trace under
 *   the Provenant trace id and puts the W3C `traceparent` in the trace's metadata.
 */
import { tool as agentsTool, withTrace as agentsWithTrace } from '@openai/agents';
import type {
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
