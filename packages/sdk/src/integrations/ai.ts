/**
 * Vercel AI SDK (`ai`): wraps the `execute` of each tool of a `generateText` / `streamText`
 * call so every call the model makes is decided, run and recorded with its tool call id.
 * Structural types only: this module does not import `ai`.
 */
import type { Recorder, ToolOptions } from '../recorder.js';

/** The part of an AI SDK tool this needs: `execute(input, { toolCallId, … })`. */
interface AiTool {
  execute?: (input: never, options: never) => unknown;
}

type AiToolOptions = Omit<
  ToolOptions<[unknown, { toolCallId?: string }]>,
  'callId' | 'resource' | 'args'
> & {
  /** The resource, or how to read it from the tool's input. */
  readonly resource: string | ((input: never) => string);
  /** The action name (default: the tool's key). */
  readonly action?: string;
};

/**
 * Returns the tools with their `execute` wrapped by `recorder.tool`. `options` names each
 * tool's action, resource and class; a tool missing from it is recorded with resource
 * `tool:<name>`.
 */
export function recordAiTools<T extends Record<string, AiTool>>(
  recorder: Recorder,
  tools: T,
  options: { readonly [K in keyof T]?: AiToolOptions } = {},
): T {
  const out: Record<string, AiTool> = {};
  for (const [key, t] of Object.entries(tools)) {
    const execute = t.execute as
      ((input: unknown, o: { toolCallId?: string }) => unknown) | undefined;
    if (!execute) {
      out[key] = t;
      continue;
    }
    const o = (options as Record<string, AiToolOptions | undefined>)[key];
    const resourceOpt = o?.resource ?? `tool:${key}`;
    const wrapped = recorder.tool<(input: unknown, opts: { toolCallId?: string }) => unknown>(
      o?.action ?? key,
      {
        ...o,
        toolName: o?.toolName ?? key,
        resource:
          typeof resourceOpt === 'string'
            ? resourceOpt
            : (input: unknown) => (resourceOpt as (i: unknown) => string)(input),
        redact: o?.redact ?? [],
        callId: (_input, opts) => opts?.toolCallId,
        // Only the input is digested: the second argument carries the conversation.
        args: (input) => input,
      },
      execute,
    );
    out[key] = { ...t, execute: wrapped as never };
  }
  return out as T;
}
