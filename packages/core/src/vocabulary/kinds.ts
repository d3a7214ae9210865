/** The closed lists of the record's vocabulary (the zod schema in schema/event.ts uses them). */

export const EVENT_SCHEMA = 'provenant.event/v1';

/** From strongest to weakest; see docs/ARCHITECTURE.md and the README's attribution levels. */
export const ATTRIBUTION_LEVELS = ['verified', 'pooled', 'asserted', 'unattributed'] as const;
export type AttributionLevel = (typeof ATTRIBUTION_LEVELS)[number];

/** The statuses an action's `outcome` may have. */
export const OUTCOME_STATUSES = ['success', 'error', 'denied', 'pending'] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export const PRINCIPAL_KINDS = [
  'human',
  'agent',
  'agent_instance',
  'service',
  'workflow',
  'service_account',
] as const;

export const CAUSE_KINDS = [
  'human_prompt',
  'agent_decision',
  'delegation',
  'workflow_trigger',
] as const;
