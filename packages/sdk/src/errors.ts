/**
 * The SDK's errors. Each has a stable `code` callers switch on; the message is for humans.
 * Caller mistakes (a tool called outside a session, bad options) throw `TypeError`.
 */
import { ProvenantError } from '@provenant/core';

export type SdkErrorCode =
  | 'policy_denied'
  | 'decision_unavailable'
  | 'intent_not_durable'
  | 'recorder_overflow'
  | 'recorder_closed'
  | 'token_exchange_failed'
  | 'invalid_identity'
  | 'credential_expired';

/** The base of every error the SDK throws on purpose. */
export class SdkError extends ProvenantError {
  declare readonly code: SdkErrorCode;
  constructor(code: SdkErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** The decision point denied the action: the tool did not run (outcome `denied` is recorded). */
export class PolicyDeniedError extends SdkError {
  readonly action: string;
  readonly resource: string;
  readonly decisionId: string | undefined;
  readonly determining: readonly string[];
  constructor(
    action: string,
    resource: string,
    decisionId: string | undefined,
    determining: readonly string[],
    reason?: string,
  ) {
    super(
      'policy_denied',
      `Policy denied ${action} on ${resource}${determining.length > 0 ? ` (${determining.join(', ')})` : ''}.`,
      { action, resource, decisionId, determining, ...(reason ? { reason } : {}) },
    );
    this.action = action;
    this.resource = resource;
    this.decisionId = decisionId;
    this.determining = determining;
  }
}

/** No decision could be obtained (decision point unreachable or failing): the tool did not run. */
export class DecisionUnavailableError extends SdkError {
  constructor(action: string, cause: unknown) {
    super(
      'decision_unavailable',
      `No policy decision could be obtained for ${action}: ${messageOf(cause)}`,
    );
  }
}

/**
 * Fail closed: the intent record of a privileged, irreversible or external action was accepted
 * neither by the collector nor by the durable spool, so the tool did not run.
 */
export class IntentNotDurableError extends SdkError {
  constructor(action: string, cause: unknown) {
    super(
      'intent_not_durable',
      `${action} did not run: its intent record could not be made durable (${messageOf(cause)}).`,
    );
  }
}

/** The recorder's memory and spool are full and the overflow policy is `fail`: nothing ran. */
export class RecorderOverflowError extends SdkError {
  constructor(message: string) {
    super('recorder_overflow', message);
  }
}

export class RecorderClosedError extends SdkError {
  constructor() {
    super('recorder_closed', 'The recorder is closed.');
  }
}

/** The issuer refused a token exchange; `oauthError` / `provenantCode` are its answer. */
export class TokenExchangeError extends SdkError {
  readonly oauthError: string | undefined;
  readonly provenantCode: string | undefined;
  readonly status: number | undefined;
  constructor(
    message: string,
    fields: { oauthError?: string; provenantCode?: string; status?: number } = {},
  ) {
    super('token_exchange_failed', message, fields);
    this.oauthError = fields.oauthError;
    this.provenantCode = fields.provenantCode;
    this.status = fields.status;
  }
}

export class InvalidIdentityError extends SdkError {
  constructor(message: string) {
    super('invalid_identity', message);
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
