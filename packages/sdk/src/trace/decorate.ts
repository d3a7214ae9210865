/**
 * What the SDK puts on the active span: GenAI semantic-convention attributes and the ids that
 * tie the span to its record. Never an attribution level: only the collector decides that.
 */
import type { Action, Outcome } from '@provenant/core';
import type { Span } from '@opentelemetry/api';
import type { WorkContext } from '../context.js';
import { setAttributes } from './otel.js';

function who(ctx: WorkContext, attrs: Record<string, string>): Record<string, string> {
  attrs['gen_ai.agent.id'] = ctx.actor.id;
  attrs['provenant.initiator'] = ctx.initiator.id;
  if (ctx.actor.agent !== undefined) attrs['gen_ai.agent.name'] = ctx.actor.agent;
  if (ctx.conversationId !== undefined) attrs['gen_ai.conversation.id'] = ctx.conversationId;
  return attrs;
}

/** The span of an agent invocation (a session or delegation). */
export function decorateAgentSpan(span: Span, ctx: WorkContext): void {
  setAttributes(
    span,
    who(ctx, {
      'gen_ai.operation.name': 'invoke_agent',
      'provenant.record.id': ctx.invocationId,
    }),
  );
}

/** What a tool call's span says of one of its records. */
export interface ToolSpanFacts {
  /** The record's id. */
  readonly id: string;
  readonly action: Action;
  readonly status: Outcome['status'];
  /** The decision the record cites, when the span may cite it too. */
  readonly decisionId?: string | undefined;
}

/**
 * The span of a tool call, after each of its records (the last one's id stays). Without
 * `decisionId` the span does not name the record's decision: one the collector takes as
 * single-use backs the call's records, and a span exported to it as well would be a second use.
 */
export function decorateToolSpan(span: Span, ctx: WorkContext, facts: ToolSpanFacts): void {
  const action = facts.action;
  const attrs = who(ctx, {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': action.tool?.name ?? action.name,
    'provenant.record.id': facts.id,
    'provenant.action': action.name,
    'provenant.outcome': facts.status,
  });
  if (action.resource !== undefined) attrs['provenant.action.resource'] = action.resource;
  if (action.tool?.call_id !== undefined) attrs['gen_ai.tool.call.id'] = action.tool.call_id;
  if (facts.decisionId !== undefined) attrs['provenant.decision.id'] = facts.decisionId;
  setAttributes(span, attrs);
}
