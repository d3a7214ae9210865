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
  /** Why the decision point answered deny: `policy` (the policies), `no_policy_set`, … */
  readonly reason: string | undefined;
  /** The decision point's own messages (why the engine could not answer, a skipped policy). */
  readonly errors: readonly string[];
  constructor(
    action: string,
    resource: string,
    decisionId: string | undefined,
    determining: readonly string[],
    reason?: string,
    errors: readonly string[] = [],
  ) {
    super(
      'policy_denied',
      `Policy denied ${action} on ${resource}: ${whyDenied(determining, reason, errors)}.`,
      {
        action,
        resource,
        decisionId,
        determining,
        ...(reason ? { reason } : {}),
        ...(errors.length > 0 ? { errors } : {}),
      },
    );
    this.action = action;
    this.resource = resource;
    this.decisionId = decisionId;
    this.determining = determining;
    this.reason = reason;
    this.errors = errors;
  }
}

/**
 * Why a decision is deny, in words: the determining policies, or the decision point's reason
 * when no policy decided (no set loaded, the engine failed, a resource outside the catalog).
 */
export function whyDenied(
  determining: readonly string[],
  reason: string | undefined,
  errors: readonly string[] = [],
): string {
  const first = errors[0] !== undefined ? `: ${errors[0].slice(0, 300)}` : '';
  switch (reason) {
    case 'no_policy_set':
      return 'no policy set is loaded at the decision point (no_policy_set)';
    case 'engine_error':
      return `the policy engine could not evaluate it (engine_error${first})`;
    case 'resource_outside_catalog':
      return `the resource is outside the action catalog's pattern (resource_outside_catalog${first})`;
    default:
      return determining.length > 0
        ? `denied by ${determining.join(', ')}`
        : 'no policy permits it (default deny)';
  }
}

/** Why no decision could be had: the collector did not answer, refused the request, or failed. */
export type DecisionUnavailableReason =
  'collector_unreachable' | 'decision_refused' | 'decision_failed';

/** No decision could be obtained (decision point unreachable or failing): the tool did not run. */
export class DecisionUnavailableError extends SdkError {
  readonly reason: DecisionUnavailableReason;
  /** What went wrong, in words: `the collector at http://… is unreachable (ECONNREFUSED)`. */
  readonly why: string;
  constructor(action: string, cause: unknown) {
    const reason = reasonOf(cause);
    const why = messageOf(cause);
    super('decision_unavailable', `No policy decision could be obtained for ${action}: ${why}`, {
      reason,
    });
    this.reason = reason;
    this.why = why;
  }
}

/** An error of the collector's decision point client, naming why it got no decision. */
export class DecisionPointFailure extends Error {
  constructor(
    readonly reason: DecisionUnavailableReason,
    message: string,
  ) {
    super(message);
  }
}

function reasonOf(cause: unknown): DecisionUnavailableReason {
  return cause instanceof DecisionPointFailure ? cause.reason : 'decision_failed';
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
  /** The issuer (the collector) did not answer at all. */
  readonly unreachable: boolean;
  constructor(
    message: string,
    fields: {
      oauthError?: string;
      provenantCode?: string;
      status?: number;
      unreachable?: boolean;
    } = {},
  ) {
    super('token_exchange_failed', message, fields);
    this.oauthError = fields.oauthError;
    this.provenantCode = fields.provenantCode;
    this.status = fields.status;
    this.unreachable = fields.unreachable === true;
  }
}

export class InvalidIdentityError extends SdkError {
  constructor(message: string) {
    super('invalid_identity', message);
  }
}

/** What a failed fetch says about why: `ECONNREFUSED`, `ENOTFOUND`, … or its message. */
export function networkCause(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return messageOf(e);
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
