/**
 * Span vocabularies other than the OpenTelemetry GenAI conventions, each translated into GenAI
 * attributes before the mapping (`map.ts`) reads a span. Pure: a span in, a span out, the
 * input never changed; an attribute the span already carries under its GenAI name wins.
 *
 * Vercel AI SDK (`ai`, its `experimental_telemetry`; read from `ai` 6.0's own telemetry code):
 *
 * | AI SDK attribute                                | GenAI attribute                            |
 * | ----------------------------------------------- | ------------------------------------------ |
 * | `ai.operationId` `ai.toolCall`                  | `gen_ai.operation.name` `execute_tool`     |
 * | `ai.toolCall.name`, `ai.toolCall.id`            | `gen_ai.tool.name`, `gen_ai.tool.call.id`  |
 * | `ai.toolCall.args`, `ai.toolCall.result`        | `gen_ai.tool.call.arguments`, `.result`    |
 * | `ai.telemetry.metadata.<key>` (any span)        | the key below, when it is one of them      |
 *
 * The metadata keys read (`experimental_telemetry: { metadata }`), each under its GenAI or
 * OpenTelemetry name or the camel-case alias beside it: `enduser.id` / `userId`,
 * `gen_ai.agent.id` / `agentId`, `gen_ai.agent.name` / `agentName`, `gen_ai.conversation.id` /
 * `conversationId`, `session.id` / `sessionId`, `provenant.decision.id` / `decisionId`. The AI
 * SDK's other spans (`ai.generateText`, `ai.streamText`, their `doGenerate` / `doStream`) are
 * model calls, not agent or tool operations: they are ignored, but a tool span inherits their
 * metadata as it inherits any ancestor's.
 *
 * Google ADK for TypeScript (`@google/adk`, tracer `gcp.vertex.agent`) already names its
 * operations in GenAI terms (`invoke_agent`, `execute_tool`); its content attributes are its own:
 *
 * | ADK attribute                        | GenAI attribute                                          |
 * | ------------------------------------ | -------------------------------------------------------- |
 * | `gcp.vertex.agent.tool_call_args`    | `gen_ai.tool.call.arguments` (not its `{}` / `N/A` placeholders) |
 * | `gcp.vertex.agent.tool_response`     | `gen_ai.tool.call.result` (likewise)                     |
 * | `gcp.vertex.agent.session_id`        | `session.id`                                             |
 *
 * and its placeholder tool call id `<not specified>` is dropped. The OpenAI Agents SDK and
 * LangChain.js document no OpenTelemetry span vocabulary of their own (their traces go to their
 * vendors' tracing services), so nothing of theirs is translated here.
 */
import type { OtlpAttributes, OtlpSpan, OtlpValue } from './model.js';

const AI_SDK_METADATA = 'ai.telemetry.metadata.';

/** Metadata key → the GenAI / OpenTelemetry attribute it stands for. */
const METADATA_KEYS: Readonly<Record<string, string>> = {
  'enduser.id': 'enduser.id',
  userId: 'enduser.id',
  'user.id': 'user.id',
  'gen_ai.agent.id': 'gen_ai.agent.id',
  agentId: 'gen_ai.agent.id',
  'gen_ai.agent.name': 'gen_ai.agent.name',
  agentName: 'gen_ai.agent.name',
  'gen_ai.conversation.id': 'gen_ai.conversation.id',
  conversationId: 'gen_ai.conversation.id',
  'session.id': 'session.id',
  sessionId: 'session.id',
  'provenant.decision.id': 'provenant.decision.id',
  decisionId: 'provenant.decision.id',
};

/** What ADK writes in its content attributes when content recording is off. */
const ADK_PLACEHOLDERS: ReadonlySet<string> = new Set(['{}', 'N/A', '<not specified>']);

/** The span with every attribute of a known vocabulary also under its GenAI name. */
export function asGenAi(span: OtlpSpan): OtlpSpan {
  const a = span.attributes;
  const added: OtlpAttributes = {};
  const put = (key: string, value: OtlpValue | undefined) => {
    if (value === undefined || value === null || Object.hasOwn(a, key)) return;
    if (Object.hasOwn(added, key)) return;
    added[key] = value;
  };
  for (const key of Object.keys(a)) {
    const name = key.startsWith(AI_SDK_METADATA) ? key.slice(AI_SDK_METADATA.length) : '';
    if (Object.hasOwn(METADATA_KEYS, name)) put(METADATA_KEYS[name]!, a[key]);
  }
  if (a['ai.operationId'] === 'ai.toolCall') {
    put('gen_ai.operation.name', 'execute_tool');
    put('gen_ai.tool.name', a['ai.toolCall.name']);
    put('gen_ai.tool.call.id', a['ai.toolCall.id']);
    put('gen_ai.tool.call.arguments', a['ai.toolCall.args']);
    put('gen_ai.tool.call.result', a['ai.toolCall.result']);
  }
  if (a['gen_ai.operation.name'] === 'execute_tool') {
    put('gen_ai.tool.call.arguments', content(a['gcp.vertex.agent.tool_call_args']));
    put('gen_ai.tool.call.result', content(a['gcp.vertex.agent.tool_response']));
  }
  put('session.id', a['gcp.vertex.agent.session_id']);
  const placeholderCallId = a['gen_ai.tool.call.id'] === '<not specified>';
  if (Object.keys(added).length === 0 && !placeholderCallId) return span;
  const attributes: OtlpAttributes = { ...a, ...added };
  if (placeholderCallId) delete attributes['gen_ai.tool.call.id'];
  return { ...span, attributes };
}

function content(v: OtlpValue | undefined): OtlpValue | undefined {
  return typeof v === 'string' && ADK_PLACEHOLDERS.has(v) ? undefined : v;
}
