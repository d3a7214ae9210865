/**
 * Maps a `provenant.event/v1` record to an OCSF **API Activity** event (class_uid 6003,
 * category_uid 6 "Application Activity"), schema 1.9.0-dev: ocsf/ocsf-schema `main` at
 * a5cfc68 (the `ai_agent` object) with pull request #1665 at eaff97e (the `delegation` object of
 * the `ai_operation` profile). Pure: no I/O, no clock; the same record always gives the same
 * event. `packages/server/test/export-ocsf.test.ts` checks every field against that schema's own
 * JSON (test/fixtures/ocsf).
 *
 * Where each record field goes:
 *
 * | record field                          | OCSF attribute                                          |
 * | ------------------------------------- | ------------------------------------------------------- |
 * | `id`                                  | `metadata.uid`                                          |
 * | `integrity.leaf_index`                | `metadata.sequence`                                     |
 * | `type`                                | `metadata.event_code`                                   |
 * | `time`                                | `time` (ms since the epoch), `metadata.original_time`   |
 * | `source.producer`                     | `metadata.log_provider`                                 |
 * | `trace.trace_id`                      | `metadata.correlation_uid`, `trace.uid`                 |
 * | `initiator`                           | `actor.user` (uid, name, type_id: human → User)         |
 * | `actor.id`, `actor.agent`             | `actor.app_uid`, `actor.app_name`; `src_endpoint.uid`   |
 * | `actor` of kind agent / agent_instance| `ai_agent` (uid = the agent, instance_uid, name,        |
 * |                                       | version)                                                |
 * | `delegation[-1].from`                 | `actor.invoked_by`                                      |
 * | `delegation` (verified: the collector | `delegation` (the last hop: uid = its credential's jti, |
 * | stamped the credential)               | parent_uid = the credential it was exchanged from, or   |
 * |                                       | the ID token (`credential.id_token`) of the first hop,  |
 * |                                       | created_time, issuer_uid); every hop, root first, in    |
 * |                                       | `unmapped.provenant.delegation_chain`                   |
 * | `session_id`, `credential`            | `actor.session` (uid, credential_uid = jti, issuer,     |
 * |                                       | created_time = iat, expiration_time = exp)              |
 * | `policy`                              | `actor.authorizations[0]` (decision; policy.uid = the   |
 * |                                       | policy set digest, policy.name = determining policies)  |
 * | `policy.decision`                     | `action_id` / `action` (Allowed / Denied),              |
 * |                                       | `disposition_id` / `disposition` (Allowed / Blocked)    |
 * | `policy.posture`                      | `risk_level_id` / `risk_level` (normal Info, elevated   |
 * |                                       | Medium, high High), `risk_details`                      |
 * | `action.name` (else `type`)           | `api.operation`; `activity_id` from its verb            |
 * | `action.tool.server`                  | `api.service.name`, `dst_endpoint.svc_name`             |
 * | `action.tool.call_id`                 | `api.request.uid`                                       |
 * | `action.resource`                     | `resources[0]` (uid; type = the part before ":")        |
 * | `action.risk`                         | `severity_id` / `severity`                              |
 * | `outcome.status`                      | `status_id` / `status`                                  |
 * | `outcome.error`                       | `status_code`, `status_detail`, `api.response.error`    |
 * | `source.host`                         | `src_endpoint.hostname` (else `.name` = the producer)   |
 * | `attribution`, `delegation`, `cause`, | `unmapped.provenant` (OCSF has no place for them)       |
 * | `credential.scope`, `action.class`,   |                                                         |
 * | digests, `task_id`, `conversation_id`,|                                                         |
 * | `trace`, `outcome.duration_ms`,       |                                                         |
 * | `integrity.leaf_hash`                 |                                                         |
 *
 * `outcome.duration_ms` is not `duration`: since 1.9 OCSF keeps `duration` for the window of an
 * aggregate event (`count` > 1).
 *
 * A `delegation` object is written only for a chain the collector verified (attribution
 * `verified` or `pooled`, with the credential it stamped): OCSF asks that delegation ids come
 * from a trusted component, never from the delegate. Each hop's uid is the jti of the
 * credential that hop produced; `parent_uid` is what it was exchanged from: the previous hop's
 * credential, or for the first hop the root credential (`credential.ancestors[0]`) or, in a
 * chain rooted in an identity provider's ID token, that token's id (`credential.id_token.jti`:
 * its `jti`, else `id_token:<SHA-256 hex>`). Both come from the credential the collector
 * verified (its `ancestors` and `id_token` claims, which the issuer sets and the attribute
 * stage stamps, replacing any `credential` the producer sent), so every hop has a parent.
 */
import type { EventRecord, Integrity } from '@provenant/core';
import { timeToMicros } from '../ingest/time.js';

/** The OCSF schema version the events follow (`metadata.version`). */
export const OCSF_VERSION = '1.9.0-dev';
export const OCSF_API_ACTIVITY_CLASS_UID = 6003;
export const OCSF_APPLICATION_CATEGORY_UID = 6;

/** A stored record as served: the record plus the ledger's `integrity`. */
export type ServedRecord = EventRecord & { readonly integrity?: Integrity };

export interface OcsfUser {
  uid: string;
  name: string;
  type_id: 0 | 1 | 3 | 99;
  type: string;
}

export interface OcsfSession {
  uid?: string;
  credential_uid?: string;
  issuer?: string;
  created_time?: number;
  expiration_time?: number;
}

export interface OcsfPolicy {
  uid?: string;
  name: string;
  version?: string;
  desc?: string;
  is_applied: boolean;
  data: Record<string, unknown>;
}

export interface OcsfAuthorization {
  decision: string;
  policy: OcsfPolicy;
}

export interface OcsfActor {
  user?: OcsfUser;
  app_name?: string;
  app_uid?: string;
  invoked_by?: string;
  session?: OcsfSession;
  authorizations?: OcsfAuthorization[];
}

/** OCSF `ai_agent` (1.9.0-dev): the agent that acted. */
export interface OcsfAiAgent {
  /** The agent, stable across instances: its registered id, or its SPIFFE id without the instance. */
  uid: string;
  instance_uid?: string;
  name?: string;
  version?: string;
  type_id: 0;
  type: 'Unknown';
}

/** OCSF `delegation` (PR #1665): one hop of authority, named by the credential it produced. */
export interface OcsfDelegation {
  uid: string;
  parent_uid?: string;
  created_time?: number;
  issuer_uid?: string;
}

export interface OcsfApiActivity {
  class_uid: 6003;
  class_name: 'API Activity';
  category_uid: 6;
  category_name: 'Application Activity';
  activity_id: 0 | 1 | 2 | 3 | 4 | 99;
  activity_name: string;
  type_uid: number;
  type_name: string;
  time: number;
  severity_id: 1 | 2 | 3 | 4 | 5;
  severity: string;
  status_id: 0 | 1 | 2 | 99;
  status: string;
  status_code?: string;
  status_detail?: string;
  action_id?: 1 | 2;
  action?: 'Allowed' | 'Denied';
  disposition_id?: 1 | 2;
  disposition?: 'Allowed' | 'Blocked';
  risk_level_id?: 0 | 2 | 3;
  risk_level?: 'Info' | 'Medium' | 'High';
  risk_details?: string;
  message: string;
  metadata: {
    version: string;
    product: { name: 'Provenant'; vendor_name: 'Provenant'; version: string };
    uid: string;
    event_code: string;
    original_time: string;
    sequence?: number;
    log_provider?: string;
    correlation_uid?: string;
    profiles: string[];
  };
  actor: OcsfActor;
  api: {
    operation: string;
    service?: { name: string };
    request?: { uid: string };
    response?: { error: string; error_message?: string };
  };
  src_endpoint: { uid?: string; name?: string; hostname?: string };
  dst_endpoint?: { name: string; svc_name: string };
  resources?: { uid: string; type?: string; name?: string }[];
  ai_agent?: OcsfAiAgent;
  delegation?: OcsfDelegation;
  trace?: { uid: string };
  unmapped: { provenant: Record<string, unknown> };
}

export interface OcsfOptions {
  /** Provenant's version, for `metadata.product.version`. */
  readonly productVersion?: string;
}

const ACTIVITY_VERBS: readonly [OcsfApiActivity['activity_id'], string, RegExp][] = [
  [4, 'Delete', /(^|[._-])(delete|remove|destroy|drop|purge|revoke)/],
  [1, 'Create', /(^|[._-])(create|add|insert|new|post|upload|issue|grant)/],
  [3, 'Update', /(^|[._-])(update|edit|set|patch|put|modify|rename|write|merge)/],
  [2, 'Read', /(^|[._-])(get|read|list|search|fetch|query|describe|view|download)/],
];

const POSTURE_RISK = {
  normal: [0, 'Info'],
  elevated: [2, 'Medium'],
  high: [3, 'High'],
} as const;

const SEVERITY = {
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
} as const;

/** Maps one record to OCSF API Activity. */
export function toOcsfApiActivity(
  record: ServedRecord,
  options: OcsfOptions = {},
): OcsfApiActivity {
  const operation = record.action?.name ?? record.type;
  const [activityId, activityName] = activityOf(operation);
  const [severityId, severity] = record.action?.risk
    ? SEVERITY[record.action.risk]
    : ([1, 'Informational'] as const);
  const [statusId, status] = statusOf(record);
  const productVersion = options.productVersion ?? '0.1.0';

  const event: OcsfApiActivity = {
    class_uid: 6003,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: OCSF_API_ACTIVITY_CLASS_UID * 100 + activityId,
    type_name: `API Activity: ${activityName}`,
    time: Math.floor(timeToMicros(record.time) / 1000),
    severity_id: severityId,
    severity,
    status_id: statusId,
    status,
    message: messageOf(record, operation),
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Provenant', vendor_name: 'Provenant', version: productVersion },
      uid: record.id,
      event_code: record.type,
      original_time: record.time,
      profiles: [],
    },
    actor: actorOf(record),
    api: { operation },
    src_endpoint: {},
    unmapped: { provenant: unmappedOf(record) },
  };

  if (record.integrity) event.metadata.sequence = record.integrity.leaf_index;
  if (record.source) event.metadata.log_provider = record.source.producer;
  if (record.trace) {
    event.metadata.correlation_uid = record.trace.trace_id;
    event.trace = { uid: record.trace.trace_id };
  }
  const agent = aiAgentOf(record);
  if (agent) event.ai_agent = agent;
  const chain = delegationChainOf(record);
  const last = chain?.at(-1);
  if (chain && last) {
    event.delegation = last;
    event.unmapped.provenant['delegation_chain'] = chain;
  }

  const error = record.outcome?.error;
  if (error) {
    event.status_code = error.code;
    if (error.message !== undefined) event.status_detail = error.message;
    event.api.response = { error: error.code };
    if (error.message !== undefined) event.api.response.error_message = error.message;
  } else if (record.outcome?.status === 'denied') {
    event.status_detail = 'denied by policy';
  }
  if (record.policy) {
    event.action_id = record.policy.decision === 'allow' ? 1 : 2;
    event.action = record.policy.decision === 'allow' ? 'Allowed' : 'Denied';
    event.disposition_id = record.policy.decision === 'allow' ? 1 : 2;
    event.disposition = record.policy.decision === 'allow' ? 'Allowed' : 'Blocked';
    // The posture a decision was made under (AIMS), on the decision point's records.
    const posture = record.policy.posture;
    if (posture) {
      const [id, level] = POSTURE_RISK[posture.level];
      event.risk_level_id = id;
      event.risk_level = level;
      const codes = [...new Set(posture.signals.map((x) => x.code))];
      event.risk_details = `posture ${posture.level}: ${codes.length > 0 ? codes.join(', ') : 'no signal'} in the last ${posture.window_sec} s`;
    }
  }

  const tool = record.action?.tool;
  if (tool?.server !== undefined) {
    event.api.service = { name: tool.server };
    event.dst_endpoint = { name: tool.server, svc_name: tool.server };
  }
  if (tool?.call_id !== undefined) event.api.request = { uid: tool.call_id };

  if (record.actor) {
    event.src_endpoint.uid = record.actor.id;
    event.src_endpoint.name = record.actor.agent ?? record.actor.id;
  }
  if (record.source?.host !== undefined) event.src_endpoint.hostname = record.source.host;
  // OCSF asks for at least one identifying attribute of an endpoint.
  if (Object.keys(event.src_endpoint).length === 0) {
    event.src_endpoint.name = record.source?.producer ?? 'unknown';
  }

  const resource = record.action?.resource;
  if (resource !== undefined) {
    const colon = resource.indexOf(':');
    event.resources = [
      colon > 0
        ? { uid: resource, type: resource.slice(0, colon), name: resource.slice(colon + 1) }
        : { uid: resource, name: resource },
    ];
  }
  // A profile is named when the event carries one of its attributes.
  const profiles = event.metadata.profiles;
  if (record.policy) profiles.push('security_control');
  if (event.ai_agent || event.delegation) profiles.push('ai_operation');
  if (event.trace) profiles.push('trace');
  return event;
}

function activityOf(operation: string): [OcsfApiActivity['activity_id'], string] {
  const lower = operation.toLowerCase();
  // The verb is usually after the last dot ("github.delete_repo"); look there first.
  const verb = lower.slice(lower.lastIndexOf('.') + 1);
  for (const text of [verb, lower]) {
    for (const [id, name, pattern] of ACTIVITY_VERBS) {
      if (pattern.test(text)) return [id, name];
    }
  }
  return [99, 'Other'];
}

function statusOf(record: EventRecord): [OcsfApiActivity['status_id'], string] {
  switch (record.outcome?.status) {
    case 'success':
      return [1, 'Success'];
    case 'error':
    case 'denied':
      return [2, 'Failure'];
    case 'pending':
      return [99, 'Pending'];
    default:
      return [0, 'Unknown'];
  }
}

function actorOf(record: EventRecord): OcsfActor {
  const actor: OcsfActor = {};
  if (record.initiator) {
    const { id, kind } = record.initiator;
    const typeId = kind === 'human' ? 1 : kind === 'service' || kind === 'workflow' ? 3 : 99;
    actor.user = {
      uid: id,
      name: id.startsWith('user:') ? id.slice(5) : id,
      type_id: typeId,
      type: typeId === 1 ? 'User' : typeId === 3 ? 'System' : kind,
    };
  }
  if (record.actor) {
    actor.app_uid = record.actor.id;
    actor.app_name = record.actor.agent ?? record.actor.id;
  }
  const lastHop = record.delegation?.at(-1);
  if (lastHop) actor.invoked_by = lastHop.from;

  const session: OcsfSession = {};
  if (record.session_id !== undefined) session.uid = record.session_id;
  if (record.credential) {
    session.credential_uid = record.credential.jti;
    session.issuer = record.credential.iss;
    session.created_time = record.credential.iat * 1000;
    session.expiration_time = record.credential.exp * 1000;
  }
  if (Object.keys(session).length > 0) actor.session = session;

  const policy = record.policy;
  if (policy) {
    const determining = policy.determining ?? [];
    const ocsfPolicy: OcsfPolicy = {
      name: determining.length > 0 ? determining.join(', ') : policy.engine,
      desc: `${policy.engine} decision ${policy.decision_id}`,
      is_applied: true,
      data: {
        decision_id: policy.decision_id,
        engine: policy.engine,
        determining,
        ...(policy.context_digest !== undefined && { context_digest: policy.context_digest }),
        ...(policy.reason !== undefined && { reason: policy.reason }),
        ...(policy.errors !== undefined && { errors: policy.errors }),
      },
    };
    if (policy.policy_set !== undefined) ocsfPolicy.uid = policy.policy_set;
    if (policy.engine_version !== undefined) ocsfPolicy.version = policy.engine_version;
    actor.authorizations = [{ decision: policy.decision, policy: ocsfPolicy }];
  }
  return actor;
}

const SPIFFE_INSTANCE_SUFFIX = /\/instance\/[^/]+$/;

/** The acting agent as OCSF `ai_agent`, for an actor of kind `agent` or `agent_instance`. */
function aiAgentOf(record: EventRecord): OcsfAiAgent | undefined {
  const actor = record.actor;
  if (!actor || (actor.kind !== 'agent' && actor.kind !== 'agent_instance')) return undefined;
  const isInstance = actor.kind === 'agent_instance' || SPIFFE_INSTANCE_SUFFIX.test(actor.id);
  const agent: OcsfAiAgent = {
    uid: isInstance ? actor.id.replace(SPIFFE_INSTANCE_SUFFIX, '') : actor.id,
    type_id: 0,
    type: 'Unknown',
  };
  // The instance's own id is the SPIFFE id that names it; `actor.instance` is unique only
  // within its agent.
  if (isInstance) agent.instance_uid = actor.id;
  else if (actor.instance !== undefined) agent.instance_uid = actor.instance;
  const name = actor.agent ?? /\/agent\/([^/]+)/.exec(actor.id)?.[1];
  if (name !== undefined) agent.name = name;
  if (actor.version !== undefined) agent.version = actor.version;
  return agent;
}

/**
 * The record's delegation hops, root first, as OCSF `delegation` objects: only for a chain the
 * collector verified (it stamped the credential: attribution `verified` or `pooled`), and only
 * hops that name their credential. The parent of a hop is the credential its own was exchanged
 * from: the one before it in the credential's lineage (the ID token of `id_token`, then
 * `ancestors`, root first, then `jti`).
 */
function delegationChainOf(record: ServedRecord): OcsfDelegation[] | undefined {
  const { credential, delegation, attribution } = record;
  if (!credential || !delegation || delegation.length === 0) return undefined;
  if (attribution?.level !== 'verified' && attribution?.level !== 'pooled') return undefined;
  const lineage = [
    ...(credential.id_token === undefined ? [] : [credential.id_token.jti]),
    ...(credential.ancestors ?? []),
    credential.jti,
  ];
  const chain: OcsfDelegation[] = [];
  let previous: string | undefined;
  for (const hop of delegation) {
    if (hop.jti === undefined) {
      previous = undefined;
      continue;
    }
    const at = lineage.lastIndexOf(hop.jti);
    const parent = at > 0 ? lineage[at - 1] : previous;
    const object: OcsfDelegation = { uid: hop.jti };
    if (parent !== undefined) object.parent_uid = parent;
    if (hop.jti === credential.jti) object.created_time = credential.iat * 1000;
    object.issuer_uid = credential.iss;
    chain.push(object);
    previous = hop.jti;
  }
  return chain.length > 0 ? chain : undefined;
}

function messageOf(record: EventRecord, operation: string): string {
  const who = record.actor?.agent ?? record.actor?.id ?? 'an unknown actor';
  const forWhom = record.initiator ? ` for ${record.initiator.id}` : '';
  const on = record.action?.resource ? ` on ${record.action.resource}` : '';
  const outcome = record.outcome ? `: ${record.outcome.status}` : '';
  return `${who}${forWhom} ${record.type} ${operation}${on}${outcome}`;
}

function unmappedOf(record: ServedRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { schema: record.schema, type: record.type };
  const put = (key: string, value: unknown) => {
    if (value !== undefined) out[key] = value;
  };
  put('attribution', record.attribution);
  put('delegation', record.delegation);
  put('cause', record.cause);
  put('remediation', record.remediation);
  put('posture', record.policy?.posture);
  put('initiator_kind', record.initiator?.kind);
  put('actor_kind', record.actor?.kind);
  put('actor_version', record.actor?.version);
  put('actor_instance', record.actor?.instance);
  put('credential_scope', record.credential?.scope);
  put('credential_grant', record.credential?.grant);
  put('action_class', record.action?.class);
  put('args_digest', record.action?.args_digest);
  put('result_digest', record.outcome?.result_digest);
  put('duration_ms', record.outcome?.duration_ms);
  put('outcome_status', record.outcome?.status);
  put('task_id', record.task_id);
  put('conversation_id', record.conversation_id);
  put('trace', record.trace);
  put('leaf_hash', record.integrity?.leaf_hash);
  return out;
}
