/**
 * The AIMS audit vocabulary (draft-ietf-wimse-aims-00 §11, "Agent Monitoring, Observability and
 * Remediation"): why access changed (a remediation's cause and what it applies to) and the risk
 * state a decision was made under. Runtime-neutral: no Node built-ins, no zod.
 */

/** Why access changed: the causes a remediation record names (`remediation.cause`). */
export const REMEDIATION_CAUSES = [
  'principal_disabled',
  'credential_revoked',
  'key_retired',
  'policy_changed',
] as const;
export type RemediationCause = (typeof REMEDIATION_CAUSES)[number];

/** What a remediation applies to (`remediation.remediates[].kind`). */
export const REMEDIATION_TARGET_KINDS = [
  'principal',
  'credential',
  'issuer_key',
  'policy_set',
] as const;
export type RemediationTargetKind = (typeof REMEDIATION_TARGET_KINDS)[number];

/** The decision point's record of a policy set replacing the active one. */
export const POLICY_CHANGED_RECORD_TYPE = 'policy.changed';

/** The risk state of the principals a decision was for (`policy.posture.level`). */
export const POSTURE_LEVELS = ['normal', 'elevated', 'high'] as const;
export type PostureLevel = (typeof POSTURE_LEVELS)[number];

/** Where a posture signal came from: only what the collector itself verified or wrote. */
export const POSTURE_SIGNAL_SOURCES = ['collector_alert'] as const;
