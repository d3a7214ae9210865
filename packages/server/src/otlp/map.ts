/**
 * OpenTelemetry GenAI spans → `provenant.event/v1` records: a pure mapping, no I/O. The record
 * is then validated, attributed and stored exactly like a natively ingested one. Spans of other
 * vocabularies (the Vercel AI SDK's `ai.toolCall`, Google ADK's content attributes) are first
 * translated into GenAI attributes (`vocabularies.ts`).
 *
 * | span                                        | record                                         |
 * | ------------------------------------------- | ---------------------------------------------- |
 * | `gen_ai.operation.name` `invoke_agent`      | `type` `agent.invoked`, action `agent.invoke`  |
 * | `gen_ai.operation.name` `execute_tool`      | `type` `tool.called`, action `<tool name>`     |
 * | `gen_ai.operation.name` `create_agent`      | `type` `agent.created`, action `agent.create`  |
 * | any other span                              | ignored (counted)                              |
 * | trace id + span id                          | `id`: UUIDv8 from SHA-256 (see `otlpRecordId`) |
 * | `start_time_unix_nano`                      | `time` (RFC 3339, nanoseconds kept)            |
 * | end − start                                 | `outcome.duration_ms`                          |
 * | status ERROR / OK, UNSET                     | `outcome.status` `error` / `success`           |
 * | `error.type`, status message                | `outcome.error.code`, `.message`               |
 * | `enduser.id`, else `user.id`                | `initiator` `user:<id>` (human)                |
 * | `gen_ai.agent.id`                           | `actor.id` (SPIFFE ids as is, else `agent:<id>`)|
 * | `gen_ai.agent.name`, `gen_ai.agent.version` | `actor.agent`, `actor.version`                 |
 * | `create_agent`: its own `gen_ai.agent.*`    | the created agent: `action.resource`, `args`;  |
 * |                                             | the actor is the creator (nearest ancestor's)  |
 * | `gen_ai.tool.name`, `gen_ai.tool.call.id`   | `action.tool.name`, `.call_id`                 |
 * | `provenant.action` (a tool span)            | `action.name` (else the tool name)             |
 * | `provenant.action.resource` (a tool span)   | `action.resource` (compared with the decision) |
 * | `gen_ai.tool.call.arguments` / `.result`    | `action.args_digest` / `outcome.result_digest` |
 * | `gen_ai.conversation.id`, `session.id`      | `conversation_id`, `session_id`                |
 * | trace id, span id, parent span id           | `trace.trace_id`, `.span_id`, `.parent_span_id`|
 * | links                                       | `action.args["otel.links"]`                    |
 * | instrumentation scope, `host.name`          | `source.producer`, `source.host`               |
 * | `provenant.decision.id` (a tool span)       | `policy.decision_id` (checked at ingest)       |
 */
import { digestOf, sha256, spiffeAgentParts } from '@provenant/core';
import type { OtlpAttributes, OtlpSpan, OtlpValue } from './model.js';
import { asGenAi } from './vocabularies.js';

/** `gen_ai.operation.name` values that become records, and the record type of each. */
export const GENAI_OPERATIONS = {
  invoke_agent: 'agent.invoked',
  execute_tool: 'tool.called',
  create_agent: 'agent.created',
} as const;

export type GenAiOperation = keyof typeof GENAI_OPERATIONS;

/** Scalar GenAI attributes copied into `action.args` under their own names. */
const COPIED_ATTRIBUTES = [
  'gen_ai.provider.name',
  'gen_ai.system',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.tool.type',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.data_source.id',
  'ai.telemetry.functionId',
] as const;

/** Prefix of the name hashed into a span's record id; changing it changes every id. */
export const OTLP_ID_NAMESPACE = 'provenant.otlp.span/v1';

const MAX_NS = 253_402_300_800n * 1_000_000_000n; // 10000-01-01T00:00:00Z
const TRACE_ID = /^(?!0{32}$)[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0{16}$)[0-9a-f]{16}$/;
const MAX_INHERIT_HOPS = 64;

export type SpanMapping =
  | { readonly kind: 'record'; readonly record: Record<string, unknown> }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'invalid'; readonly code: string; readonly message: string };

/**
 * The record id of a span: a UUIDv8 (RFC 9562 §5.8) whose 122 free bits are the first bits of
 * SHA-256(`provenant.otlp.span/v1:<trace_id hex>:<span_id hex>`). The same span always maps to
 * the same id, so an exporter's retry or a re-export is idempotent, and anyone can compute the
 * id of a span's record from its trace and span ids.
 */
export function otlpRecordId(traceId: string, spanId: string): string {
  const h = sha256(Buffer.from(`${OTLP_ID_NAMESPACE}:${traceId}:${spanId}`, 'utf8'));
  const b = h.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = Buffer.from(b).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The GenAI operation of a span, or null when it is not one the receiver records. */
export function genAiOperation(span: OtlpSpan): GenAiOperation | null {
  const op = span.attributes['gen_ai.operation.name'];
  return typeof op === 'string' && Object.hasOwn(GENAI_OPERATIONS, op)
    ? (op as GenAiOperation)
    : null;
}

/**
 * Maps the spans of one export request, in order. Identity a span does not carry itself is
 * taken from its nearest ancestor in the same request, then from the resource: the human
 * (`enduser.id` / `user.id`) and the conversation for every span, the agent for `execute_tool`
 * and `create_agent` spans (an `invoke_agent` span's parent is the invoker, not the agent
 * invoked; a `create_agent` span's own agent is the one created, never its actor).
 */
export function mapSpans(spans: readonly OtlpSpan[]): SpanMapping[] {
  const genAi = spans.map(asGenAi);
  const byId = new Map<string, OtlpSpan>();
  for (const s of genAi) byId.set(`${s.traceId}/${s.spanId}`, s);
  return genAi.map((s) => mapSpan(s, byId));
}

function mapSpan(span: OtlpSpan, byId: ReadonlyMap<string, OtlpSpan>): SpanMapping {
  const op = genAiOperation(span);
  if (op === null) return { kind: 'ignored' };
  if (!TRACE_ID.test(span.traceId) || !SPAN_ID.test(span.spanId)) {
    return {
      kind: 'invalid',
      code: 'invalid_span',
      message: `trace_id must be 16 bytes and span_id 8 bytes, not all zero.`,
    };
  }
  if (span.parentSpanId !== '' && !SPAN_ID.test(span.parentSpanId)) {
    return {
      kind: 'invalid',
      code: 'invalid_span',
      message: `parent_span_id must be 8 bytes, not all zero.`,
    };
  }
  if (span.startTimeUnixNano === 0n || span.startTimeUnixNano >= MAX_NS) {
    return {
      kind: 'invalid',
      code: 'invalid_span',
      message: `start_time_unix_nano is missing or out of range.`,
    };
  }

  const parentOf = (s: OtlpSpan): OtlpSpan | undefined =>
    s.parentSpanId === '' ? undefined : byId.get(`${s.traceId}/${s.parentSpanId}`);
  /** `key` from the span (unless `fromSelf` is false), its ancestors, then the resource. */
  const inherited = (key: string, fromAncestors: boolean, fromSelf = true): string | undefined => {
    let s = fromSelf ? span : fromAncestors ? parentOf(span) : undefined;
    for (let hops = 0; s && hops < MAX_INHERIT_HOPS; hops++) {
      const v = stringAttr(s.attributes, key);
      if (v !== undefined) return v;
      if (!fromAncestors) break;
      s = parentOf(s);
    }
    return stringAttr(span.resource, key);
  };

  const record: Record<string, unknown> = {
    schema: 'provenant.event/v1',
    id: otlpRecordId(span.traceId, span.spanId),
    time: nanosToRfc3339(span.startTimeUnixNano),
    type: GENAI_OPERATIONS[op],
  };

  const user = inherited('enduser.id', true) ?? inherited('user.id', true);
  if (user !== undefined) {
    record['initiator'] = {
      id: user.startsWith('user:') ? uriSafe(user) : `user:${uriSafe(user)}`,
      kind: 'human',
    };
  }

  // The acting agent: a tool span's own or its nearest ancestor's; an `invoke_agent` span's own
  // (the agent invoked runs it). A `create_agent` span's agent attributes describe the agent it
  // creates, so its actor is the creator: the nearest ancestor's agent, or none (then the
  // credential's holder), never the created agent.
  const creating = op === 'create_agent';
  const agentId = inherited('gen_ai.agent.id', op !== 'invoke_agent', !creating);
  const agentName = inherited('gen_ai.agent.name', op !== 'invoke_agent', !creating);
  if (agentId !== undefined) {
    const actor: Record<string, unknown> = actorOf(agentId);
    if (agentName !== undefined) actor['agent'] = agentName;
    const version = stringAttr(span.attributes, 'gen_ai.agent.version');
    if (version !== undefined && op === 'invoke_agent') actor['version'] = version;
    record['actor'] = actor;
  }

  const action: Record<string, unknown> = {};
  const args: Record<string, unknown> = { 'otel.span.name': span.name };
  if (op === 'execute_tool') {
    const toolName =
      stringAttr(span.attributes, 'gen_ai.tool.name') ??
      (span.name.startsWith('execute_tool ') ? span.name.slice(13).trim() || undefined : undefined);
    // The action and resource as the SDK names them (GenAI has no resource attribute): what a
    // cited decision is compared with at ingest, as for a record posted to /v1/events.
    action['name'] = stringAttr(span.attributes, 'provenant.action') ?? toolName ?? 'execute_tool';
    const resource = stringAttr(span.attributes, 'provenant.action.resource');
    if (resource !== undefined) action['resource'] = resource;
    if (toolName !== undefined) {
      const tool: Record<string, unknown> = { name: toolName };
      const callId = stringAttr(span.attributes, 'gen_ai.tool.call.id');
      if (callId !== undefined) tool['call_id'] = callId;
      action['tool'] = tool;
    }
    const argsDigest = digestOfValue(span.attributes['gen_ai.tool.call.arguments']);
    if (argsDigest !== undefined) action['args_digest'] = argsDigest;
  } else {
    action['name'] = op === 'invoke_agent' ? 'agent.invoke' : 'agent.create';
    const targetId = creating ? stringAttr(span.attributes, 'gen_ai.agent.id') : agentId;
    const targetName = creating ? stringAttr(span.attributes, 'gen_ai.agent.name') : agentName;
    const target = targetName ?? targetId;
    if (target !== undefined) action['resource'] = `agent:${target}`;
    if (creating && targetId !== undefined) args['gen_ai.agent.id'] = targetId;
    if (creating && targetName !== undefined) args['gen_ai.agent.name'] = targetName;
  }
  for (const key of COPIED_ATTRIBUTES) {
    const v = span.attributes[key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      if (typeof v !== 'number' || Number.isFinite(v)) args[key] = v;
    }
  }
  const service = stringAttr(span.resource, 'service.name');
  if (service !== undefined) args['service.name'] = service;
  const links = span.links
    .filter((l) => TRACE_ID.test(l.traceId) && SPAN_ID.test(l.spanId))
    .map((l) => ({
      trace_id: l.traceId,
      span_id: l.spanId,
      record_id: otlpRecordId(l.traceId, l.spanId),
    }));
  if (links.length > 0) args['otel.links'] = links;
  action['args'] = args;
  record['action'] = action;

  const outcome: Record<string, unknown> = {
    status: span.statusCode === 2 ? 'error' : 'success',
  };
  if (span.endTimeUnixNano >= span.startTimeUnixNano && span.endTimeUnixNano !== 0n) {
    // Microsecond precision: exact in a double for any realistic duration.
    outcome['duration_ms'] = Number((span.endTimeUnixNano - span.startTimeUnixNano) / 1000n) / 1000;
  }
  const resultDigest =
    op === 'execute_tool' ? digestOfValue(span.attributes['gen_ai.tool.call.result']) : undefined;
  if (resultDigest !== undefined) outcome['result_digest'] = resultDigest;
  if (span.statusCode === 2) {
    const error: Record<string, unknown> = {
      code: (stringAttr(span.attributes, 'error.type') ?? 'span_error').slice(0, 128),
    };
    if (span.statusMessage !== '') error['message'] = span.statusMessage.slice(0, 4096);
    outcome['error'] = error;
  }
  record['outcome'] = outcome;

  const trace: Record<string, unknown> = { trace_id: span.traceId, span_id: span.spanId };
  if (span.parentSpanId !== '') trace['parent_span_id'] = span.parentSpanId;
  record['trace'] = trace;

  // The decision the call says it was made under: kept only if the decision point made it for
  // this very call (ingest/stages/correlate.ts), which also rewrites the rest of `policy`.
  const decisionId =
    op === 'execute_tool' ? stringAttr(span.attributes, 'provenant.decision.id') : undefined;
  if (decisionId !== undefined) {
    const denied = stringAttr(span.attributes, 'provenant.outcome') === 'denied';
    record['policy'] = {
      decision_id: decisionId,
      engine: 'unknown',
      decision: denied ? 'deny' : 'allow',
    };
  }

  const conversation = inherited('gen_ai.conversation.id', true);
  if (conversation !== undefined) record['conversation_id'] = conversation;
  const session = inherited('session.id', true);
  if (session !== undefined) record['session_id'] = session;

  const source: Record<string, unknown> = {
    producer:
      span.scope.name === ''
        ? 'otlp'
        : `${span.scope.name}${span.scope.version === '' ? '' : `@${span.scope.version}`}`.slice(
            0,
            256,
          ),
  };
  const host = stringAttr(span.resource, 'host.name');
  if (host !== undefined) source['host'] = host.slice(0, 256);
  record['source'] = source;
  return { kind: 'record', record };
}

function stringAttr(attrs: OtlpAttributes, key: string): string | undefined {
  if (!Object.hasOwn(attrs, key)) return undefined;
  const v = attrs[key];
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Percent-encodes what a principal URI may not hold (whitespace, controls, `%` itself). */
function uriSafe(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this encodes
  return s.replace(/[\s\u0000-\u001f\u007f%]/gu, (c) => encodeURIComponent(c));
}

/** `gen_ai.agent.id` → actor: SPIFFE ids as they are (an `/instance/<id>` path names an instance). */
function actorOf(agentId: string): Record<string, unknown> {
  if (agentId.startsWith('spiffe://')) {
    const id = uriSafe(agentId);
    const instance = spiffeAgentParts(id)?.instance;
    return instance !== undefined
      ? { id, kind: 'agent_instance', instance }
      : { id, kind: 'agent' };
  }
  const id = agentId.startsWith('agent:') ? uriSafe(agentId) : `agent:${uriSafe(agentId)}`;
  return { id, kind: 'agent' };
}

/** Digest of a content attribute: of its JSON value when it is a JSON string, else of itself. */
function digestOfValue(v: OtlpValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  let value: unknown = v;
  if (typeof v === 'string') {
    try {
      value = JSON.parse(v);
    } catch {
      value = v;
    }
  }
  try {
    return digestOf(value);
  } catch {
    return undefined;
  }
}

/** Nanoseconds since the epoch → RFC 3339 UTC with all nine fractional digits kept. */
export function nanosToRfc3339(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}.${frac}Z`;
}
