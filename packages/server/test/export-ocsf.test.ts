import { describe, expect, it } from 'vitest';
import { parseEventRecord } from '@provenant/core';
import { toOcsfApiActivity } from '../src/export/ocsf.js';
import type { ServedRecord } from '../src/export/ocsf.js';
import { record } from './helpers.js';

/**
 * The OCSF 1.3.0 API Activity class (6003), from the OCSF schema: its required attributes with
 * their types, and every attribute the class (with its base event and the security_control
 * profile) defines. Objects: the attributes each object used here defines.
 */
type OcsfType = 'integer' | 'long' | 'timestamp' | 'string' | 'object' | 'array' | 'boolean';
const REQUIRED_6003: Record<string, OcsfType> = {
  activity_id: 'integer',
  actor: 'object',
  api: 'object',
  category_uid: 'integer',
  class_uid: 'integer',
  metadata: 'object',
  severity_id: 'integer',
  src_endpoint: 'object',
  time: 'timestamp',
  type_uid: 'long',
};
const CLASS_6003_ATTRIBUTES = new Set([
  'action',
  'action_id',
  'activity_id',
  'activity_name',
  'actor',
  'api',
  'attacks',
  'authorizations',
  'category_name',
  'category_uid',
  'class_name',
  'class_uid',
  'cloud',
  'count',
  'disposition',
  'disposition_id',
  'dst_endpoint',
  'duration',
  'end_time',
  'enrichments',
  'firewall_rule',
  'http_request',
  'http_response',
  'malware',
  'message',
  'metadata',
  'observables',
  'raw_data',
  'resources',
  'severity',
  'severity_id',
  'src_endpoint',
  'start_time',
  'status',
  'status_code',
  'status_detail',
  'status_id',
  'time',
  'timezone_offset',
  'type_name',
  'type_uid',
  'unmapped',
]);
const OBJECT_ATTRIBUTES: Record<string, ReadonlySet<string>> = {
  metadata: new Set([
    'correlation_uid',
    'event_code',
    'labels',
    'log_level',
    'log_name',
    'log_provider',
    'log_version',
    'logged_time',
    'modified_time',
    'original_time',
    'processed_time',
    'product',
    'profiles',
    'sequence',
    'tenant_uid',
    'uid',
    'version',
  ]),
  product: new Set(['name', 'vendor_name', 'version', 'uid', 'lang', 'url_string', 'path']),
  actor: new Set([
    'app_name',
    'app_uid',
    'authorizations',
    'idp',
    'invoked_by',
    'process',
    'session',
    'user',
  ]),
  user: new Set([
    'account',
    'credential_uid',
    'domain',
    'email_addr',
    'full_name',
    'groups',
    'name',
    'org',
    'type',
    'type_id',
    'uid',
    'uid_alt',
  ]),
  session: new Set([
    'count',
    'created_time',
    'credential_uid',
    'expiration_reason',
    'expiration_time',
    'is_mfa',
    'is_remote',
    'is_vpn',
    'issuer',
    'terminal',
    'uid',
    'uid_alt',
    'uuid',
  ]),
  authorization: new Set(['decision', 'policy']),
  policy: new Set(['data', 'desc', 'group', 'is_applied', 'name', 'uid', 'version']),
  api: new Set(['group', 'operation', 'request', 'response', 'service', 'version']),
  service: new Set(['labels', 'name', 'uid', 'version']),
  request: new Set(['containers', 'data', 'flags', 'uid']),
  response: new Set(['code', 'containers', 'data', 'error', 'error_message', 'flags', 'message']),
  endpoint: new Set([
    'domain',
    'hostname',
    'instance_uid',
    'interface_name',
    'interface_uid',
    'ip',
    'mac',
    'name',
    'port',
    'svc_name',
    'uid',
  ]),
  resource: new Set([
    'cloud_partition',
    'criticality',
    'data',
    'group',
    'labels',
    'name',
    'namespace',
    'owner',
    'region',
    'type',
    'uid',
    'version',
  ]),
};

function typeOk(value: unknown, type: OcsfType): boolean {
  switch (type) {
    case 'integer':
    case 'long':
    case 'timestamp':
      return Number.isSafeInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

function keysWithin(value: unknown, allowed: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(value as object)) {
    expect(allowed.has(key), `${where}.${key} is not an OCSF attribute`).toBe(true);
  }
}

/** Checks an event against the 6003 definition; returns it for value assertions. */
function checkApiActivity(event: Record<string, unknown>): void {
  for (const [name, type] of Object.entries(REQUIRED_6003)) {
    expect(event[name], `required ${name}`).toBeDefined();
    expect(typeOk(event[name], type), `${name} is ${type}`).toBe(true);
  }
  keysWithin(event, CLASS_6003_ATTRIBUTES, 'event');
  const e = event as unknown as ReturnType<typeof toOcsfApiActivity>;
  expect(e.class_uid).toBe(6003);
  expect(e.category_uid).toBe(6);
  expect(e.type_uid).toBe(600300 + e.activity_id);
  expect([0, 1, 2, 3, 4, 99]).toContain(e.activity_id);
  expect([0, 1, 2, 3, 4, 5, 6, 99]).toContain(e.severity_id);
  expect([0, 1, 2, 99]).toContain(e.status_id);
  // metadata: product and version are required; product needs vendor_name.
  keysWithin(e.metadata, OBJECT_ATTRIBUTES['metadata']!, 'metadata');
  keysWithin(e.metadata.product, OBJECT_ATTRIBUTES['product']!, 'metadata.product');
  expect(typeof e.metadata.version).toBe('string');
  expect(typeof e.metadata.product.vendor_name).toBe('string');
  // api.operation is required.
  keysWithin(e.api, OBJECT_ATTRIBUTES['api']!, 'api');
  expect(typeof e.api.operation).toBe('string');
  if (e.api.service) keysWithin(e.api.service, OBJECT_ATTRIBUTES['service']!, 'api.service');
  if (e.api.request) {
    keysWithin(e.api.request, OBJECT_ATTRIBUTES['request']!, 'api.request');
    expect(typeof e.api.request.uid).toBe('string'); // required in Request
  }
  if (e.api.response) keysWithin(e.api.response, OBJECT_ATTRIBUTES['response']!, 'api.response');
  // actor: at least one of its identifying attributes.
  keysWithin(e.actor, OBJECT_ATTRIBUTES['actor']!, 'actor');
  if (e.actor.user) {
    keysWithin(e.actor.user, OBJECT_ATTRIBUTES['user']!, 'actor.user');
    expect(Number.isSafeInteger(e.actor.user.type_id)).toBe(true);
  }
  if (e.actor.session) {
    keysWithin(e.actor.session, OBJECT_ATTRIBUTES['session']!, 'actor.session');
    for (const t of ['created_time', 'expiration_time'] as const) {
      if (e.actor.session[t] !== undefined)
        expect(Number.isSafeInteger(e.actor.session[t])).toBe(true);
    }
  }
  for (const a of e.actor.authorizations ?? []) {
    keysWithin(a, OBJECT_ATTRIBUTES['authorization']!, 'actor.authorizations[]');
    keysWithin(a.policy, OBJECT_ATTRIBUTES['policy']!, 'actor.authorizations[].policy');
    expect(typeof a.decision).toBe('string');
    expect(a.policy.name ?? a.policy.uid).toBeTypeOf('string');
  }
  // Network endpoints need at least one identifying attribute.
  keysWithin(e.src_endpoint, OBJECT_ATTRIBUTES['endpoint']!, 'src_endpoint');
  expect(Object.keys(e.src_endpoint).length).toBeGreaterThan(0);
  if (e.dst_endpoint) keysWithin(e.dst_endpoint, OBJECT_ATTRIBUTES['endpoint']!, 'dst_endpoint');
  for (const r of e.resources ?? []) keysWithin(r, OBJECT_ATTRIBUTES['resource']!, 'resources[]');
  expect(typeOk(e.unmapped, 'object')).toBe(true);
}

function served(overrides: Record<string, unknown> = {}, leafIndex = 7): ServedRecord {
  const parsed = parseEventRecord(record(overrides));
  if (!parsed.ok) throw new Error(parsed.message);
  return {
    ...parsed.record,
    attribution: { level: 'verified', reasons: [] },
    integrity: { leaf_index: leafIndex, leaf_hash: `${'A'.repeat(43)}=` },
  };
}

const POLICY = {
  decision_id: 'dec-1',
  engine: 'cedar',
  engine_version: '4.2.0',
  policy_set: `sha256:${'ab'.repeat(32)}`,
  decision: 'allow',
  determining: ['policy3', 'policy7'],
  context_digest: `sha256:${'cd'.repeat(32)}`,
};
const DELEGATION = [
  { from: 'user:alice', to: 'spiffe://acme.test/agent/planner/instance/19c2', jti: 'j1' },
  {
    from: 'spiffe://acme.test/agent/planner/instance/19c2',
    to: 'spiffe://acme.test/agent/researcher/instance/7f3a',
    jti: 'j2',
    scope: ['repo:read'],
  },
];

describe('OCSF API Activity (6003) export', () => {
  it('maps a delegated, policy-checked tool call with every required attribute, typed', () => {
    const r = served({
      time: '2026-11-27T13:05:01.123456Z',
      policy: POLICY,
      delegation: DELEGATION,
      session_id: 'sess-1',
      conversation_id: 'conv-1',
      credential: { jti: 'j2', iss: 'https://issuer.acme.test', iat: 1795000000, exp: 1795000300 },
      source: { producer: '@provenant/sdk@0.1.0', host: 'worker-3' },
      outcome: { status: 'success', duration_ms: 412.4 },
    });
    const e = toOcsfApiActivity(r, { productVersion: '9.9.9' });
    checkApiActivity(e as unknown as Record<string, unknown>);

    expect(e.time).toBe(Date.UTC(2026, 10, 27, 13, 5, 1, 123));
    expect(e.activity_id).toBe(4); // github.delete_repo
    expect(e.activity_name).toBe('Delete');
    expect(e.type_uid).toBe(600304);
    expect(e.type_name).toBe('API Activity: Delete');
    expect(e.severity_id).toBe(5); // risk critical
    expect([e.status_id, e.status]).toEqual([1, 'Success']);
    expect(e.duration).toBe(412);
    expect(e.metadata).toMatchObject({
      version: '1.3.0',
      product: { name: 'Provenant', vendor_name: 'Provenant', version: '9.9.9' },
      uid: r.id,
      sequence: 7,
      event_code: 'tool.called',
      original_time: '2026-11-27T13:05:01.123456Z',
      log_provider: '@provenant/sdk@0.1.0',
      correlation_uid: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    expect(e.actor.user).toEqual({ uid: 'user:alice', name: 'alice', type_id: 1, type: 'User' });
    expect(e.actor.app_uid).toBe('spiffe://acme.test/agent/researcher/instance/7f3a');
    expect(e.actor.app_name).toBe('researcher');
    expect(e.actor.invoked_by).toBe('spiffe://acme.test/agent/planner/instance/19c2');
    expect(e.actor.session).toEqual({
      uid: 'sess-1',
      credential_uid: 'j2',
      issuer: 'https://issuer.acme.test',
      created_time: 1795000000000,
      expiration_time: 1795000300000,
    });
    expect(e.actor.authorizations).toEqual([
      {
        decision: 'allow',
        policy: {
          uid: POLICY.policy_set,
          name: 'policy3, policy7',
          version: '4.2.0',
          desc: 'cedar decision dec-1',
          is_applied: true,
          data: {
            decision_id: 'dec-1',
            engine: 'cedar',
            determining: ['policy3', 'policy7'],
            context_digest: POLICY.context_digest,
          },
        },
      },
    ]);
    expect([e.action_id, e.action, e.disposition_id]).toEqual([1, 'Allowed', 1]);
    expect(e.api).toEqual({
      operation: 'github.delete_repo',
      service: { name: 'github-mcp' },
      request: { uid: 'call_42' },
    });
    expect(e.resources).toEqual([
      { uid: 'repo:acme/payments', type: 'repo', name: 'acme/payments' },
    ]);
    expect(e.src_endpoint).toEqual({
      uid: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      name: 'researcher',
      hostname: 'worker-3',
    });
    expect(e.unmapped.provenant).toMatchObject({
      attribution: { level: 'verified', reasons: [] },
      delegation: DELEGATION,
      task_id: 'task-981',
      conversation_id: 'conv-1',
      leaf_hash: `${'A'.repeat(43)}=`,
    });
    expect(JSON.parse(JSON.stringify(e))).toEqual(e); // plain JSON, nothing lost
  });

  it('maps failures, denials and records without an action', () => {
    const failed = toOcsfApiActivity(
      served({
        outcome: { status: 'error', error: { code: 'http_500', message: 'upstream down' } },
      }),
    );
    checkApiActivity(failed as unknown as Record<string, unknown>);
    expect([failed.status_id, failed.status, failed.status_code, failed.status_detail]).toEqual([
      2,
      'Failure',
      'http_500',
      'upstream down',
    ]);
    expect(failed.api.response).toEqual({ error: 'http_500', error_message: 'upstream down' });

    const denied = toOcsfApiActivity(
      served({ policy: { ...POLICY, decision: 'deny' }, outcome: { status: 'denied' } }),
    );
    checkApiActivity(denied as unknown as Record<string, unknown>);
    expect([denied.status_id, denied.action_id, denied.action]).toEqual([2, 2, 'Denied']);
    expect([denied.disposition_id, denied.disposition]).toEqual([2, 'Blocked']);
    expect(denied.actor.authorizations?.[0]?.decision).toBe('deny');

    const prompt = served({ type: 'prompt.received', time: '2026-11-27T14:05:01+01:00' });
    delete (prompt as { action?: unknown }).action;
    delete (prompt as { outcome?: unknown }).outcome;
    delete (prompt as { actor?: unknown }).actor;
    delete (prompt as { trace?: unknown }).trace;
    delete (prompt as { integrity?: unknown }).integrity;
    const p = toOcsfApiActivity(prompt);
    checkApiActivity(p as unknown as Record<string, unknown>);
    expect(p.api.operation).toBe('prompt.received');
    expect([p.activity_id, p.status_id, p.severity_id]).toEqual([99, 0, 1]);
    expect(p.time).toBe(Date.UTC(2026, 10, 27, 13, 5, 1));
    expect(p.src_endpoint).toEqual({ name: 'unknown' });
    expect(p.metadata.sequence).toBeUndefined();
  });

  it('reads the activity from the verb of the operation', () => {
    const activity = (name: string) =>
      toOcsfApiActivity(served({ action: { name } })).activity_name;
    expect(activity('github.create_issue')).toBe('Create');
    expect(activity('fs.read_file')).toBe('Read');
    expect(activity('crm.update_contact')).toBe('Update');
    expect(activity('s3.delete_object')).toBe('Delete');
    expect(activity('shell.exec')).toBe('Other');
  });
});
