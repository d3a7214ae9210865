/** The work context that flows through `async` calls: whose credential, which task and trace. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Actor, Principal } from '@provenant/core';
import type { AgentIdentity } from './lib/auth.js';
import type { CredentialInfo } from './lib/principal.js';

export interface WorkContext {
  readonly credential: CredentialInfo;
  /** The agent instance acting here (its key signs the next delegation's assertion). */
  readonly identity: AgentIdentity;
  readonly initiator: Principal;
  readonly actor: Actor;
  readonly taskId: string | undefined;
  readonly sessionId: string;
  readonly conversationId: string | undefined;
  readonly traceId: string;
  /** The span records of this context hang under (the invocation's own span id). */
  readonly spanId: string;
  readonly sampled: boolean;
  /** The record that started this context (`agent.invoked`): the cause of its tool calls. */
  readonly invocationId: string;
  /**
   * The Transaction Token this work runs in (draft-ietf-oauth-transaction-tokens-10), sent as
   * the `Txn-Token` header with its records and decisions: the collector verifies it and keeps
   * its `txn`. Never recorded by the SDK itself.
   */
  readonly txnToken?: string | undefined;
}

export const storage = new AsyncLocalStorage<WorkContext>();

/** The context of the calling code, if it runs inside a session or delegation. */
export function currentContext(): WorkContext | undefined {
  return storage.getStore();
}

/** The contexts this process's recorders made (a framework may hand one back to us). */
const made = new WeakSet<object>();

/** Marks `ctx` as made here by a recorder; returns it. */
export function madeContext(ctx: WorkContext): WorkContext {
  made.add(ctx);
  return ctx;
}

/**
 * Whether `value` is a context a recorder of this process made: a framework's run context can
 * carry one, but an object that only looks like one (e.g. parsed from a request) is not.
 */
export function isMadeContext(value: unknown): value is WorkContext {
  return typeof value === 'object' && value !== null && made.has(value);
}
