/**
 * What the agent-framework integrations share: how a framework's tool call becomes a decided,
 * recorded call of the recorder, and how a framework's sub-agent gets its own identity and a
 * credential exchanged from its delegator's. No framework is imported here.
 */
import type { WorkContext } from '../../context.js';
import { storage } from '../../context.js';
import type { SdkError } from '../../errors.js';
import type { AgentIdentity } from '../../lib/auth.js';
import { RecorderImpl } from '../../recorder.js';
import type { CallStart, Recorder, ToolOptions } from '../../recorder.js';
import { toolSpec, type ToolSpec } from '../../tool/spec.js';

/** How one framework tool is recorded: its action, resource, class and risk. */
export interface FrameworkToolOptions<I = never> {
  /** The action name (default: the tool's name). */
  readonly action?: string;
  /** The resource, or how to read it from the tool's input (default `tool:<name>`). */
  readonly resource?: string | ((input: I) => string);
  readonly class?: ToolOptions['class'];
  readonly risk?: ToolOptions['risk'];
  /** Dotted paths of the input never to record (not even hashed). */
  readonly redact?: readonly string[];
  /** Send the (redacted) input itself, not only its digest. */
  readonly recordArgs?: boolean;
  /** `action.tool.server`: the toolkit or MCP server the tool belongs to. */
  readonly server?: string;
}

/** The tools of an integration by the name the framework calls them. */
export type FrameworkTools = Readonly<Record<string, FrameworkToolOptions | undefined>>;

/** A sub-agent's identity and what its delegator hands on to it. */
export interface SubAgentOptions {
  /** The sub-agent instance's identity, or the path of its identity file. */
  readonly identity: AgentIdentity | string;
  /** Narrow the delegated credential to these scopes (default: the delegator's). */
  readonly scope?: readonly string[];
  readonly lifetimeSec?: number;
  /** Agent definition name and version recorded in `actor`. */
  readonly agent?: { readonly name?: string; readonly version?: string };
}

/** The sub-agents of an integration by the name the framework gives them. */
export type SubAgents = Readonly<Record<string, SubAgentOptions | undefined>>;

/** The context the calling code runs in; a TypeError naming the integration outside one. */
export function requireContext(integration: string): WorkContext {
  const ctx = storage.getStore();
  if (!ctx) {
    throw new TypeError(
      `${integration}: the agent run must be inside recorder.session() (no Provenant context).`,
    );
  }
  return ctx;
}

/**
 * Decides one tool call of a framework in `ctx`: recorded with the model's call id, the input
 * digested (after `redact`), the resource read from the input. A refusal is recorded and
 * handed back (`allowed: false`). Synchronous when the decision is cached and no intent must
 * be made durable first (the recorder's own path; another `Recorder` is asked in `ctx`).
 */
export function beginToolCall(
  recorder: Recorder,
  ctx: WorkContext,
  tools: FrameworkTools,
  toolName: string,
  input: unknown,
  callId: string | undefined,
): CallStart | Promise<CallStart> {
  const made = optionsOf(tools, toolName);
  const args: CallArgs = [input, callId];
  if (recorder instanceof RecorderImpl) return recorder.startIn(ctx, made.spec, args);
  return storage.run(ctx, () => recorder.beginCall(made.action, made.options, args));
}

type CallArgs = [input: unknown, callId: string | undefined];
interface Made {
  readonly action: string;
  readonly options: ToolOptions<CallArgs>;
  /** The options checked once: what each call of the tool is recorded with. */
  readonly spec: ToolSpec;
}
const made = new WeakMap<FrameworkTools, Map<string, Made>>();

/** The recorder's options for one framework tool, made once per tools table and name. */
function optionsOf(tools: FrameworkTools, toolName: string): Made {
  let byName = made.get(tools);
  if (!byName) {
    byName = new Map();
    made.set(tools, byName);
  }
  let got = byName.get(toolName);
  if (!got) {
    const o = (tools[toolName] ?? {}) as FrameworkToolOptions<unknown>;
    const resource = o.resource ?? `tool:${toolName}`;
    const options: ToolOptions<CallArgs> = {
      resource: typeof resource === 'string' ? resource : (i: unknown) => resource(i),
      toolName,
      args: (i) => i,
      callId: (_i, id) => id,
      ...(o.class !== undefined ? { class: o.class } : {}),
      ...(o.risk !== undefined ? { risk: o.risk } : {}),
      ...(o.redact !== undefined ? { redact: o.redact } : {}),
      ...(o.recordArgs !== undefined ? { recordArgs: o.recordArgs } : {}),
      ...(o.server !== undefined ? { server: o.server } : {}),
    };
    const action = o.action ?? toolName;
    got = { action, options, spec: toolSpec(action, options) };
    byName.set(toolName, got);
  }
  return got;
}

/**
 * The context of a sub-agent that `parent` delegates to: its own agent instance identity and a
 * credential exchanged from the parent's (RFC 8693, scopes narrowed as configured); records
 * its `agent.invoked` with cause `delegation`. A TypeError when the sub-agent has no identity.
 */
export async function delegateTo(
  recorder: Recorder,
  parent: WorkContext,
  integration: string,
  subAgents: SubAgents,
  name: string,
  prompt?: string,
  via?: { readonly tool: string; readonly callId?: string },
): Promise<WorkContext> {
  const sub = subAgents[name];
  if (!sub) {
    throw new TypeError(
      `${integration}: sub-agent "${name}" has no identity (add it to the integration's agents).`,
    );
  }
  const session = await storage.run(parent, () =>
    recorder.delegate(sub.identity, {
      ...(sub.scope !== undefined ? { scope: sub.scope } : {}),
      ...(sub.lifetimeSec !== undefined ? { lifetimeSec: sub.lifetimeSec } : {}),
      ...(sub.agent !== undefined ? { agent: sub.agent } : {}),
      ...(prompt !== undefined ? { prompt } : {}),
      ...(via !== undefined ? { via } : {}),
    }),
  );
  return session.context;
}

/** What the model is told of a refused call: the code and why, never a stack. */
export function refusalText(error: SdkError): string {
  return `Provenant refused this tool call (${error.code}): ${error.message}`;
}
