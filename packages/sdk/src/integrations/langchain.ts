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
 * - LangChain's run ids are UUIDs, not W3C: `runConfig()` puts the W3C `traceparent` in the
 *   run's metadata, which every callback and LangSmith run of it carries.
 */
import { ToolMessage, createMiddleware } from 'langchain';
import type { WorkContext } from '../context.js';
import { storage } from '../context.js';
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
}

export function langChainProvenance(
  recorder: Recorder,
  options: LangChainOptions = {},
): LangChainProvenance {
  const tools = options.tools ?? {};
  const subAgents = options.agents ?? {};
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
          const found = contextOf(requireContext(NAME), agent);
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
            // A fresh context object per call: a sub-agent run inside it is its own delegation.
            out = await storage.run({ ...ctx }, () => handler(request));
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
