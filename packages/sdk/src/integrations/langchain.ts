/**
 * `@provenant/sdk/langchain`: LangChain.js v1 agents (`createAgent`) and LangGraph.js graphs
 * (`langchain`, an optional peer).
 *
 * - `provenant.middleware()` is a `createMiddleware({ wrapToolCall })`: each tool call is
 *   decided before the tool's handler runs; a refusal reaches the model as a `ToolMessage` with
 *   `status: "error"` (the tool does not run); the handler's answer or throw is the outcome.
 * - A sub-agent is an agent whose middleware names it (`middleware({ agent: 'researcher' })`):
 *   run as a LangGraph sub-graph node, or invoked from a tool of its delegator, its tool calls
 *   act under its own identity with a credential exchanged from the context it runs in.
 * - Identity travels in the run's context (`ToolRuntime.context`, LangGraph's `Runtime.context`):
 *   `agent.invoke(input, { context: { ...provenant.context() } })` carries the calling code's
 *   Provenant context under the key `provenant`, so the run's tool calls act in it even where
 *   the async context does not reach (a run started elsewhere, a stream consumed later). With a
 *   `contextSchema`, declare the key (`provenant: z.any()`): zod drops undeclared keys. Without
 *   it in the run's context, the middleware acts in the calling code's async context.
 * - LangChain's run ids are UUIDs, not W3C: `runConfig()` puts the W3C `traceparent` in the
 *   run's metadata, which every callback and LangSmith run of it carries.
 */
import { ToolMessage, createMiddleware } from 'langchain';
import type { WorkContext } from '../context.js';
import { isMadeContext, madeContext, storage } from '../context.js';
import { readIdentityFile } from '../lib/auth.js';
import type { Recorder } from '../recorder.js';
import { isPromise } from '../tool/call.js';
import { formatTraceparent } from '../trace/traceparent.js';
import {
  beginToolCall,
  delegateTo,
  refusalText,
  requireContext,
  type FrameworkTools,
  type SubAgents,
} from './lib/framework.js';

const NAME = 'langchain';

export interface LangChainOptions {
  /** How each tool is recorded, by tool name (default: action = name, resource `tool:<name>`). */
  readonly tools?: FrameworkTools;
  /** The sub-agents, by the name their middleware gives: identity and delegated scopes. */
  readonly agents?: SubAgents;
}

export interface LangChainProvenance {
  /**
   * The middleware for one agent. Without `agent` it acts in the calling code's context (the
   * session's, or its delegator's); with it, that sub-agent's own (delegated on first use).
   */
  middleware(options?: { readonly agent?: string }): ReturnType<typeof createMiddleware>;
  /** Run config carrying the Provenant trace: `metadata.traceparent` (W3C), `metadata.provenant_invocation_id`. */
  runConfig(): { metadata: Record<string, string> };
  /**
   * The run context entry that carries the calling code's Provenant context to the run's tool
   * calls (`ToolRuntime.context.provenant`): spread it into `invoke`'s `context`. Only a
   * context a recorder of this process made is taken from there (never one parsed from input).
   */
  context(): { readonly [CONTEXT_KEY]: WorkContext };
}

/** The key of the run context (`ToolRuntime.context`) that carries the Provenant context. */
export const CONTEXT_KEY = 'provenant';

export function langChainProvenance(
  recorder: Recorder,
  options: LangChainOptions = {},
): LangChainProvenance {
  const tools = options.tools ?? {};
  const subAgents = options.agents ?? {};
  const hasSubAgents = Object.keys(subAgents).length > 0;
  const principals = new Map<string, string>();
  /** Each delegation made from a context, by sub-agent name (a context per parent tool call). */
  const delegated = new WeakMap<WorkContext, Map<string, Promise<WorkContext>>>();

  const principalOf = (agent: string): string | undefined => {
    const sub = subAgents[agent];
    if (!sub) return undefined;
    let p = principals.get(agent);
    if (p === undefined) {
      p =
        typeof sub.identity === 'string'
          ? readIdentityFile(sub.identity).principal
          : sub.identity.principal;
      principals.set(agent, p);
    }
    return p;
  };

  const contextOf = (
    outer: WorkContext,
    agent: string | undefined,
  ): WorkContext | Promise<WorkContext> => {
    if (agent === undefined || principalOf(agent) === outer.identity.principal) return outer;
    let byAgent = delegated.get(outer);
    if (!byAgent) {
      byAgent = new Map();
      delegated.set(outer, byAgent);
    }
    let ctx = byAgent.get(agent);
    if (!ctx) {
      ctx = delegateTo(recorder, outer, NAME, subAgents, agent);
      byAgent.set(agent, ctx);
    }
    return ctx;
  };

  return {
    middleware({ agent }: { readonly agent?: string } = {}) {
      if (agent !== undefined && !subAgents[agent]) {
        throw new TypeError(`${NAME}: sub-agent "${agent}" has no identity in agents.`);
      }
      return createMiddleware({
        name: agent === undefined ? 'provenant' : `provenant:${agent}`,
        wrapToolCall: async (request, handler) => {
          const carried = carriedContext(request.runtime);
          const outer = carried ?? requireContext(NAME);
          const found = contextOf(outer, agent);
          const ctx = isPromise(found) ? await found : found;
          const { name, args, id } = request.toolCall;
          const start = beginToolCall(recorder, ctx, tools, name, args, id);
          const started = isPromise(start) ? await start : start;
          if (!started.allowed) {
            return new ToolMessage({
              content: refusalText(started.error),
              tool_call_id: id ?? '',
              name,
              status: 'error',
            });
          }
          const call = started.call;
          let out: Awaited<ReturnType<typeof handler>>;
          try {
            // With sub-agents, a fresh context object per call: a sub-agent run inside it is its
            // own delegation. Otherwise the handler needs the context only where the async
            // context does not carry it (it came in the run's context).
            if (hasSubAgents)
              out = await storage.run(madeContext({ ...ctx }), () => handler(request));
            else if (carried !== undefined || ctx !== outer)
              out = await storage.run(ctx, () => handler(request));
            else out = await handler(request);
          } catch (e) {
            call.fail(e);
            throw e;
          }
          if (ToolMessage.isInstance(out)) {
            const content = out.content as unknown;
            if (out.status === 'error') {
              call.failWith(
                { code: 'tool_error', message: typeof content === 'string' ? content : '' },
                content,
              );
            } else call.finish(content);
          } else call.finish({ command: true });
          return out;
        },
      });
    },

    context() {
      return { [CONTEXT_KEY]: requireContext(NAME) };
    },

    runConfig() {
      const ctx = requireContext(NAME);
      return {
        metadata: {
          traceparent: formatTraceparent({
            traceId: ctx.traceId,
            spanId: ctx.spanId,
            sampled: ctx.sampled,
          }),
          provenant_invocation_id: ctx.invocationId,
        },
      };
    },
  };
}

/**
 * The Provenant context the run's context carries (`runtime.context.provenant`), if any. A
 * value there that no recorder of this process made is refused (TypeError): it would name a
 * credential the code running the agent never held.
 */
function carriedContext(
  runtime: { readonly context?: unknown } | undefined,
): WorkContext | undefined {
  const given = runtime?.context;
  if (typeof given !== 'object' || given === null || !(CONTEXT_KEY in given)) return undefined;
  const value = (given as Record<string, unknown>)[CONTEXT_KEY];
  if (value === undefined) return undefined;
  if (!isMadeContext(value)) {
    throw new TypeError(
      `${NAME}: the run context's "${CONTEXT_KEY}" is not a Provenant context of this process (pass provenant.context()).`,
    );
  }
  return value;
}
