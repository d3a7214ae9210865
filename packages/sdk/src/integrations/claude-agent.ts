/**
 * `@provenant/sdk/claude-agent`: the Claude Agent SDK (`@anthropic-ai/claude-agent-sdk`, an
 * optional peer; only its types are imported, so this module loads nothing of it).
 *
 * - `provenant.options(options)` adds hooks to the `query()` options: `PreToolUse` asks the
 *   decision point before the tool runs (a refusal is `permissionDecision: "deny"` with the
 *   reason, which the CLI hands the model; the tool does not run), `PostToolUse` and
 *   `PostToolUseFailure` record the outcome; `canUseTool` decides a call the hooks did not.
 * - A sub-agent (the `Agent` tool, whose frames carry its `tool_use_id` as
 *   `parent_tool_use_id`; in hooks, `agent_id` and `agent_type`) acts under its own identity,
 *   with a credential exchanged from the session's: `agents` is keyed by `agent_type`. The
 *   `Agent` tool call itself is the delegation, not an action: its `tool_use_id` (the
 *   sub-agent's `parent_tool_use_id`) is recorded on the sub-agent's `agent.invoked` as
 *   `action.tool` (`{ name: "Agent", call_id }`). Hooks name the sub-agent (`agent_id`), not
 *   that tool use: `observe(message)` learns it exactly from the `query()` stream
 *   (`task_started`: `task_id` and `tool_use_id`; a sub-agent's frames: `agent_id` and
 *   `parent_tool_use_id`); without it, the one open `Agent` call for that `subagent_type`,
 *   and none when several are open (never a guess).
 * - The CLI's ids are not W3C: `options()` puts `TRACEPARENT` in the CLI's environment.
 *
 * The options must be made inside `recorder.session()`: the hooks act in that context (the CLI
 * calls them from the SDK's read loop, whose async context is not the caller's).
 */
import type {
  CanUseTool,
  HookCallbackMatcher,
  HookEvent,
  HookInput,
  HookJSONOutput,
  Options,
  PermissionResult,
  SDKMessage,
} from '@anthropic-ai/claude-agent-sdk';
import process from 'node:process';
import type { WorkContext } from '../context.js';
import type { CallStart, OpenCall, Recorder } from '../recorder.js';
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

const NAME = 'claude-agent';
/** The tools that start a sub-agent (`Agent`; `Task` in earlier releases of the CLI). */
const AGENT_TOOLS = new Set(['Agent', 'Task']);
/** The `subagent_type` of an `Agent` call that names none. */
const DEFAULT_AGENT_TYPE = 'general-purpose';

export interface ClaudeAgentOptions {
  /** How each tool is recorded, by tool name (`Read`, `Bash`, `mcp__server__tool` …). */
  readonly tools?: FrameworkTools;
  /** The sub-agents, by `agent_type`: identity and delegated scopes. */
  readonly agents?: SubAgents;
}

type Hooks = Partial<Record<HookEvent, HookCallbackMatcher[]>>;

export interface ClaudeAgentProvenance {
  /**
   * The `query()` options with Provenant's hooks added (before any of yours for the same
   * event), `canUseTool` wrapped and `TRACEPARENT` in the CLI's environment. Call it inside
   * `recorder.session()`.
   */
  options<O extends Options>(options?: O): O & { hooks: Hooks; canUseTool: CanUseTool };
  /** The hooks alone, acting in the calling code's context. */
  hooks(): Hooks;
  /**
   * A `canUseTool` that decides a call no `PreToolUse` hook decided, then asks `next` (default:
   * allow with the input unchanged).
   */
  canUseTool(next?: CanUseTool): CanUseTool;
  /**
   * Reads a message of the `query()` stream for which `Agent` tool use started which sub-agent
   * (pass each one: `for await (const m of query(…)) { provenant.observe(m); … }`).
   */
  observe(message: SDKMessage): void;
}

/** The `Agent` tool's input, as far as it is read here. */
interface AgentToolInput {
  readonly subagent_type?: unknown;
}

export function claudeAgentProvenance(
  recorder: Recorder,
  options: ClaudeAgentOptions = {},
): ClaudeAgentProvenance {
  const tools = options.tools ?? {};
  const subAgents = options.agents ?? {};
  /** The `Agent` tool use that started each sub-agent, by `agent_id`, as the stream says. */
  const startedBy = new Map<string, string>();

  /** What one session's hooks share: the open calls and the sub-agents' contexts. */
  const bind = (root: WorkContext) => {
    const open = new Map<string, OpenCall>();
    const decided = new Set<string>();
    /** The open `Agent` tool uses, by the `subagent_type` they start. */
    const agentCalls = new Map<string, Set<string>>();

    /** The `Agent` tool use that started sub-agent `agentId` of `agentType`, when certain. */
    const parentToolUse = (agentId: string, agentType: string): string | undefined => {
      const known = startedBy.get(agentId);
      const waiting = agentCalls.get(agentType);
      if (known !== undefined) {
        waiting?.delete(known);
        return known;
      }
      if (waiting?.size !== 1) return undefined;
      const [only] = waiting;
      waiting.clear();
      return only;
    };
    const agents = new Map<string, WorkContext | Promise<WorkContext>>();

    /** The main thread's context, or the sub-agent's (undefined: a sub-agent of unknown type). */
    const contextOf = (
      agentId: string | undefined,
      agentType: string | undefined,
    ): WorkContext | Promise<WorkContext> | undefined => {
      if (agentId === undefined) return root;
      let ctx = agents.get(agentId);
      if (!ctx) {
        if (agentType === undefined) return undefined;
        const parent = parentToolUse(agentId, agentType);
        ctx = delegateTo(
          recorder,
          root,
          NAME,
          subAgents,
          agentType,
          undefined,
          parent !== undefined ? { tool: 'Agent', callId: parent } : undefined,
        );
        agents.set(agentId, ctx);
      }
      return ctx;
    };

    /** The refusal text, if the call is refused; its open call is kept by the tool use id. */
    const started = (toolUseId: string, start: CallStart): string | undefined => {
      if (!start.allowed) return refusalText(start.error);
      open.set(toolUseId, start.call);
      return undefined;
    };

    /** Decides a call; synchronous when its context is known and its decision cached. */
    const decide = (
      toolName: string,
      input: unknown,
      toolUseId: string,
      agentId: string | undefined,
      agentType: string | undefined,
    ): string | undefined | Promise<string | undefined> => {
      decided.add(toolUseId);
      const ctx = contextOf(agentId, agentType);
      if (!ctx) return `Provenant refused this tool call: sub-agent ${agentId} is not known.`;
      const begin = (c: WorkContext) => {
        const start = beginToolCall(recorder, c, tools, toolName, input, toolUseId);
        return isPromise(start)
          ? start.then((s) => started(toolUseId, s))
          : started(toolUseId, start);
      };
      return isPromise(ctx) ? ctx.then(begin) : begin(ctx);
    };

    const hook = async (input: HookInput): Promise<HookJSONOutput> => {
      switch (input.hook_event_name) {
        case 'PreToolUse': {
          // The sub-agent it starts is the delegation (its frames' parent_tool_use_id).
          if (AGENT_TOOLS.has(input.tool_name)) {
            const type = (input.tool_input as AgentToolInput | undefined)?.subagent_type;
            const key = typeof type === 'string' ? type : DEFAULT_AGENT_TYPE;
            let waiting = agentCalls.get(key);
            if (!waiting) agentCalls.set(key, (waiting = new Set()));
            waiting.add(input.tool_use_id);
            return {};
          }
          const decision = decide(
            input.tool_name,
            input.tool_input,
            input.tool_use_id,
            input.agent_id,
            input.agent_type,
          );
          const refusal = isPromise(decision) ? await decision : decision;
          if (refusal === undefined) return {};
          return {
            hookSpecificOutput: {
              hookEventName: 'PreToolUse',
              permissionDecision: 'deny',
              permissionDecisionReason: refusal,
            },
          };
        }
        case 'SubagentStart': {
          // Delegating starts now: the sub-agent's `agent.invoked` precedes its first call.
          await contextOf(input.agent_id, input.agent_type);
          return {};
        }
        case 'PostToolUse': {
          if (AGENT_TOOLS.has(input.tool_name)) {
            for (const waiting of agentCalls.values()) waiting.delete(input.tool_use_id);
            return {};
          }
          take(input.tool_use_id)?.finish(input.tool_response);
          return {};
        }
        case 'PostToolUseFailure': {
          take(input.tool_use_id)?.failWith({ code: 'tool_error', message: input.error });
          return {};
        }
        default:
          return {};
      }
    };

    const take = (id: string): OpenCall | undefined => {
      const call = open.get(id);
      open.delete(id);
      decided.delete(id);
      return call;
    };

    const hooks: Hooks = {
      PreToolUse: [{ hooks: [hook] }],
      PostToolUse: [{ hooks: [hook] }],
      PostToolUseFailure: [{ hooks: [hook] }],
      SubagentStart: [{ hooks: [hook] }],
    };

    const canUseTool =
      (next?: CanUseTool): CanUseTool =>
      async (toolName, input, o): Promise<PermissionResult | null> => {
        if (!decided.has(o.toolUseID) && !AGENT_TOOLS.has(toolName)) {
          const decision = decide(toolName, input, o.toolUseID, o.agentID, undefined);
          const refusal = isPromise(decision) ? await decision : decision;
          if (refusal !== undefined) return { behavior: 'deny', message: refusal };
        }
        return next ? next(toolName, input, o) : { behavior: 'allow', updatedInput: input };
      };

    return { hooks, canUseTool };
  };

  return {
    options<O extends Options>(o?: O) {
      const root = requireContext(NAME);
      const b = bind(root);
      const merged: Hooks = { ...o?.hooks };
      for (const [event, matchers] of Object.entries(b.hooks) as [
        HookEvent,
        HookCallbackMatcher[],
      ][]) {
        merged[event] = [...matchers, ...(o?.hooks?.[event] ?? [])];
      }
      const traceparent = formatTraceparent({
        traceId: root.traceId,
        spanId: root.spanId,
        sampled: root.sampled,
      });
      return {
        ...(o as O),
        hooks: merged,
        canUseTool: b.canUseTool(o?.canUseTool),
        env: { ...(o?.env ?? process.env), TRACEPARENT: traceparent },
      };
    },
    hooks: () => bind(requireContext(NAME)).hooks,
    observe(message: SDKMessage) {
      const m = message as {
        type?: unknown;
        subtype?: unknown;
        task_id?: unknown;
        tool_use_id?: unknown;
        agent_id?: unknown;
        parent_tool_use_id?: unknown;
      };
      if (m.type === 'system' && m.subtype === 'task_started') {
        if (typeof m.task_id === 'string' && typeof m.tool_use_id === 'string') {
          startedBy.set(m.task_id, m.tool_use_id);
        }
      } else if (typeof m.agent_id === 'string' && typeof m.parent_tool_use_id === 'string') {
        if (!startedBy.has(m.agent_id)) startedBy.set(m.agent_id, m.parent_tool_use_id);
      }
    },
    canUseTool: (next?: CanUseTool) => bind(requireContext(NAME)).canUseTool(next),
  };
}
