/**
 * Every failure this package reports: a `PolicyError` with a stable string `code` to switch on
 * and, where there is more than one thing wrong, every message in `messages`. Mistakes by the
 * calling program (an argument of the wrong type) throw `TypeError` instead.
 */
import { ProvenantError } from '@provenant/core';

export type PolicyErrorCode =
  /** A policy set that does not parse or does not validate against its schema. */
  | 'invalid_policy_set'
  /** The engine could not evaluate a request (a request that does not fit the schema, a bug). */
  | 'engine_error'
  /** The policy folder (or a file in it) cannot be read. */
  | 'policy_folder_unreadable'
  /** An audit rules config that is not what `parseAuditRules` accepts. */
  | 'invalid_audit_rules'
  /** A policy folder's `actions.json` that is not what `parseActionCatalog` accepts. */
  | 'invalid_action_catalog';

export class PolicyError extends ProvenantError {
  declare readonly code: PolicyErrorCode;
  /** Every message behind the error (all the parser's and validator's, for a policy set). */
  readonly messages: readonly string[];

  constructor(
    code: PolicyErrorCode,
    message: string,
    details: Record<string, unknown> & { messages?: string[] } = {},
    options?: { cause?: unknown },
  ) {
    const messages = details.messages ?? [message];
    super(code, message, { ...details, messages });
    this.messages = messages;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** A one-sentence summary of several messages: the first, and how many more there are. */
export function summarize(lead: string, messages: readonly string[]): string {
  const first = messages[0];
  if (first === undefined) return `${lead}.`;
  const more = messages.length - 1;
  return `${lead}: ${first}${more > 0 ? ` (and ${more} more)` : ''}`;
}
