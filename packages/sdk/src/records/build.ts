/**
 * The records the SDK makes, built from plain data: no clock, no span, no I/O. Time, ids and
 * trace ids come in as options, so the same inputs give the same record.
 */
import type { Action, EventRecord, Outcome, PolicyRef } from '@provenant/core';
import { digestOf } from '@provenant/core';
import type { WorkContext } from '../context.js';

export const PRODUCER = '@provenant/sdk@0.1.0';

type Cause = NonNullable<EventRecord['cause']>;
type Trace = NonNullable<EventRecord['trace']>;

/** The second last formatted, e.g. `2026-12-04T04:25:27.` (records come many a second). */
let second = NaN;
const LAST_FOUR_DIGIT_YEAR = Date.UTC(10000, 0, 1);
let secondText = '';

/** `new Date(ms).toISOString()`, formatting each second's date and time once. */
export function isoTime(time: number): string {
  // Date's own rules beyond the four-digit years (and for anything but a time value).
  if (!(time >= 0 && time < LAST_FOUR_DIGIT_YEAR)) return new Date(time).toISOString();
  const ms = Math.trunc(time);
  const s = Math.floor(ms / 1000);
  if (s !== second) {
    second = s;
    secondText = new Date(s * 1000).toISOString().slice(0, 20);
  }
  const m = ms - s * 1000;
  return `${secondText}${m < 10 ? '00' : m < 100 ? '0' : ''}${m}Z`;
}

/** What every record of a context shares. */
interface Made {
  readonly context: WorkContext;
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly host: string;
}

function base(o: Made, type: string, action: Action, cause: Cause, outcome: Outcome, trace: Trace) {
  const ctx = o.context;
  const record: EventRecord = {
    schema: 'provenant.event/v1',
    id: o.id,
    time: isoTime(o.time),
    type,
    initiator: ctx.initiator,
    cause,
    actor: ctx.actor,
    action,
    outcome,
    trace,
    session_id: ctx.sessionId,
    source: { producer: PRODUCER, host: o.host },
  };
  if (ctx.taskId !== undefined) record.task_id = ctx.taskId;
  if (ctx.conversationId !== undefined) record.conversation_id = ctx.conversationId;
  return record;
}

export interface ToolRecordOptions extends Made {
  readonly action: Action;
  readonly outcome: Outcome;
  /** Absent when no decision was had (the decision point was unreachable). */
  readonly policy?: PolicyRef | undefined;
  /** The intent this outcome follows; default: the context's invocation. */
  readonly causeId?: string | undefined;
  readonly trace: Trace;
}

/** `tool.called`: an intent (`pending`), a refusal (`denied`) or an outcome. */
export function toolRecord(o: ToolRecordOptions): EventRecord {
  const cause: Cause = { kind: 'agent_decision', record_id: o.causeId ?? o.context.invocationId };
  const record = base(o, 'tool.called', o.action, cause, o.outcome, o.trace);
  if (o.policy) record.policy = o.policy;
  return record;
}

const agentResource = (ctx: WorkContext) => `agent:${ctx.actor.agent ?? ctx.actor.id}`;

const agentTrace = (ctx: WorkContext, parentSpanId: string): Trace => ({
  trace_id: ctx.traceId,
  span_id: ctx.spanId,
  parent_span_id: parentSpanId,
});

export interface PromptRecordOptions extends Made {
  readonly prompt: string;
  /** Keep the prompt's text, not only its digest. */
  readonly keepText: boolean;
  /** Default: the initiator's own prompt or trigger. */
  readonly cause?: Cause | undefined;
  readonly parentSpanId: string;
}

/** `prompt.received`: the prompt's digest (and text with `keepText`). */
export function promptRecord(o: PromptRecordOptions): EventRecord {
  const ctx = o.context;
  const action: Action = {
    name: 'agent.prompt',
    resource: agentResource(ctx),
    args_digest: digestOf({ prompt: o.prompt }),
  };
  if (o.keepText) action.args = { prompt: o.prompt };
  const cause = o.cause ?? {
    kind: ctx.initiator.kind === 'workflow' ? 'workflow_trigger' : 'human_prompt',
  };
  return base(
    o,
    'prompt.received',
    action,
    cause,
    { status: 'success' },
    agentTrace(ctx, o.parentSpanId),
  );
}

export interface InvokedRecordOptions extends Omit<Made, 'id'> {
  readonly cause: Cause;
  readonly parentSpanId: string;
  /** The delegator's tool call that started this agent: the action's `tool`. */
  readonly via?: { readonly tool: string; readonly callId?: string } | undefined;
}

/** `agent.invoked`: the record that starts a context (its id is the context's invocation id). */
export function invokedRecord(o: InvokedRecordOptions): EventRecord {
  const ctx = o.context;
  const action: Action = { name: 'agent.invoke', resource: agentResource(ctx) };
  if (o.via !== undefined) {
    action.tool =
      o.via.callId !== undefined
        ? { name: o.via.tool, call_id: o.via.callId }
        : { name: o.via.tool };
  }
  return base(
    { ...o, id: ctx.invocationId },
    'agent.invoked',
    action,
    o.cause,
    { status: 'success' },
    agentTrace(ctx, o.parentSpanId),
  );
}
