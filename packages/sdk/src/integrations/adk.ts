/**
 * `@provenant/sdk/adk`: Google's Agent Development Kit for TypeScript (`@google/adk`, an
 * optional peer).
 *
 * - `provenant.plugin()` is a `BasePlugin`: `beforeToolCallback` asks the decision point before
 *   the tool runs (a refusal is the dictionary the callback returns, which ADK hands the model as
 *   the tool's response; the tool does not run), `afterToolCallback` and `onToolErrorCallback`
 *   record the outcome. ADK calls the after-tool callbacks also when a later plugin or the
 *   agent's own `beforeToolCallback` answered for a call Provenant allowed: the plugin marks
 *   each call its tool really starts (the tool's `runAsync`), so such a call is recorded as
 *   refused by the application (`approval_refused`), never as the tool's success. The
 *   framework's own `transfer_to_agent` is not an action: it is decided by the delegation it
 *   starts.
 * - A sub-agent (`subAgents`; its `parentAgent` is its delegator) acts under its own identity
 *   with a credential exchanged from its parent's, per ADK invocation (`invocationId`), so its
 *   records carry the chain up the agent tree to the human.
 * - ADK's spans are OpenTelemetry (W3C) spans: `inTrace(fn)` runs `fn` with the session's trace
 *   as the active parent, so ADK's `invoke_agent` / `execute_tool` spans, and the records made
 *   under them, share the session's trace id.
 */
import { context as otelContext, trace, TraceFlags } from '@opentelemetry/api';
import { BasePlugin } from '@google/adk';
import type { BaseTool, Context } from '@google/adk';
import type { WorkContext } from '../context.js';
import type { OpenCall, Recorder } from '../recorder.js';
import { isPromise } from '../tool/call.js';
import {
  beginToolCall,
  delegateTo,
  refusalText,
  requireContext,
  type FrameworkTools,
  type SubAgents,
} from './lib/framework.js';

const NAME = 'adk';
/** ADK's own tool that hands the conversation to another agent. */
const TRANSFER = 'transfer_to_agent';

export interface AdkOptions {
  /** How each tool is recorded, by tool name (default: action = name, resource `tool:<name>`). */
  readonly tools?: FrameworkTools;
  /** The sub-agents, by agent name: identity and delegated scopes. */
  readonly agents?: SubAgents;
}

export interface AdkProvenance {
  /** The plugin to give the `Runner` (`plugins: [provenant.plugin()]`). */
  plugin(): BasePlugin;
  /** Runs `fn` with the session's trace as OpenTelemetry's active parent context. */
  inTrace<T>(fn: () => T): T;
}

interface AgentNode {
  readonly name: string;
  readonly parentAgent?: AgentNode | undefined;
}

export function adkProvenance(recorder: Recorder, options: AdkOptions = {}): AdkProvenance {
  const tools = options.tools ?? {};
  const subAgents = options.agents ?? {};
  /** The contexts of each session's sub-agents, by invocation id and agent name. */
  const delegated = new WeakMap<WorkContext, Map<string, Promise<WorkContext>>>();

  /** The context `agent` acts in: the session's for the root, else delegated from its parent's. */
  const contextOf = (
    root: WorkContext,
    invocationId: string,
    agent: AgentNode | undefined,
  ): WorkContext | Promise<WorkContext> => {
    if (!agent?.parentAgent) return root;
    let byAgent = delegated.get(root);
    if (!byAgent) {
      byAgent = new Map();
      delegated.set(root, byAgent);
    }
    const key = `${invocationId}\u0000${agent.name}`;
    let ctx = byAgent.get(key);
    if (!ctx) {
      ctx = Promise.resolve(contextOf(root, invocationId, agent.parentAgent)).then((parent) =>
        delegateTo(recorder, parent, NAME, subAgents, agent.name),
      );
      byAgent.set(key, ctx);
    }
    return ctx;
  };

  const agentNamed = (from: AgentNode | undefined, name: string): AgentNode | undefined => {
    let root = from;
    while (root?.parentAgent) root = root.parentAgent;
    const find = (a: AgentNode | undefined): AgentNode | undefined => {
      if (!a) return undefined;
      if (a.name === name) return a;
      for (const s of (a as { subAgents?: AgentNode[] }).subAgents ?? []) {
        const f = find(s);
        if (f) return f;
      }
      return undefined;
    };
    return find(root);
  };

  /** The tool contexts whose tool started running (its `runAsync` was called). */
  const ran = new WeakSet<object>();
  /** Tools whose `runAsync` marks `ran` (wrapped once each, on the instance). */
  const marked = new WeakSet<BaseTool>();
  const markRuns = (tool: BaseTool) => {
    if (marked.has(tool)) return;
    marked.add(tool);
    const run = tool.runAsync.bind(tool);
    tool.runAsync = (request: Parameters<BaseTool['runAsync']>[0]) => {
      ran.add(request.toolContext);
      return run(request);
    };
  };

  class ProvenantPlugin extends BasePlugin {
    /** Calls allowed before their tool ran, by the model's function call id (else the context). */
    private readonly open = new Map<unknown, OpenCall>();

    constructor() {
      super('provenant');
    }

    override async beforeToolCallback({
      tool,
      toolArgs,
      toolContext,
    }: {
      tool: BaseTool;
      toolArgs: Record<string, unknown>;
      toolContext: Context;
    }): Promise<Record<string, unknown> | undefined> {
      const root = requireContext(NAME);
      const inv = toolContext.invocationContext;
      if (tool.name === TRANSFER) {
        // Delegating starts now: the target's `agent.invoked` precedes its first tool call.
        const target = agentNamed(inv.agent, String(toolArgs['agentName']));
        if (target) await contextOf(root, inv.invocationId, target);
        return undefined;
      }
      const found = contextOf(root, inv.invocationId, inv.agent);
      const ctx = isPromise(found) ? await found : found;
      const callId = toolContext.functionCallId;
      const start = beginToolCall(recorder, ctx, tools, tool.name, toolArgs, callId);
      const started = isPromise(start) ? await start : start;
      if (!started.allowed) {
        return { error: refusalText(started.error), provenant: started.error.code };
      }
      markRuns(tool);
      this.open.set(callId ?? toolContext, started.call);
      return undefined;
    }

    override async afterToolCallback({
      toolContext,
      result,
    }: {
      toolContext: Context;
      result: Record<string, unknown>;
    }): Promise<Record<string, unknown> | undefined> {
      const call = this.take(toolContext);
      if (call === undefined) return undefined;
      if (ran.has(toolContext)) call.finish(result);
      else {
        // A later plugin or the agent's callback answered instead: the tool never ran.
        call.failWith(
          {
            code: 'approval_refused',
            message: 'a later before-tool callback answered for the call: the tool did not run',
          },
          result,
        );
      }
      return undefined;
    }

    override async onToolErrorCallback({
      toolContext,
      error,
    }: {
      toolContext: Context;
      error: Error;
    }): Promise<Record<string, unknown> | undefined> {
      this.take(toolContext)?.fail(error);
      return undefined;
    }

    private take(toolContext: Context): OpenCall | undefined {
      const id = toolContext.functionCallId ?? toolContext;
      const call = this.open.get(id);
      this.open.delete(id);
      return call;
    }
  }

  return {
    plugin: () => new ProvenantPlugin(),
    inTrace<T>(fn: () => T): T {
      const ctx = requireContext(NAME);
      const parent = trace.setSpanContext(otelContext.active(), {
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        traceFlags: ctx.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: true,
      });
      return otelContext.with(parent, fn);
    },
  };
}
