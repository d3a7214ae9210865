/**
 * The two ingest routes are adapters over one pipeline: the same tool call, sent as a native
 * record to `/v1/events` and as a GenAI span to `/v1/traces`, is stored with the same
 * arguments digest and the same attribution.
 */
import { digestOf, keyedDigest } from '@provenant/core';
import { CedarEngine, DEFAULT_AUDIT_RULES } from '@provenant/policy';
import type { AuditRules } from '@provenant/policy';
import type { FastifyInstance } from 'fastify';
import { asAdmin } from './helpers.js';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS, buildApp } from '../src/index.js';
import { otlpRecordId } from '../src/otlp/map.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import { PolicyService } from '../src/policy/service.js';
import { ADMIN, TD, aliceScenario, makeIdentityApp } from './identity-helpers.js';

const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;
const ARGS = { path: 'README.md', ref: 'main' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record JSON
type Json = any;

const HMAC_KEY = new Uint8Array(32).fill(7);

async function makeApp(auditRules: AuditRules = DEFAULT_AUDIT_RULES) {
  const made = await makeIdentityApp();
  const policy = new PolicyService(new CedarEngine(), new MemoryPolicyStore(), {
    auditRules,
    hmacKey: HMAC_KEY,
  });
  const app = buildApp({
    log: made.log,
    storage: made.storage,
    limits: DEFAULT_LIMITS,
    identity: made.identity,
    policy,
    alerts: new AlertLimiter(),
    adminToken: ADMIN,
    anonymousIngest: 'asserted',
  });
  return { app, storage: made.storage, tokens: await aliceScenario(app) };
}

let counter = 0;
function ids() {
  counter++;
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return { traceId: `${hex(0xabc, 16)}${hex(counter, 16)}`, spanId: hex(0x5000 + counter, 16) };
}

/** The tool call as a native record, the way the SDK writes it (digest of the arguments). */
async function viaEvents(app: FastifyInstance, bearer: string): Promise<Json> {
  const { traceId, spanId } = ids();
  const record = {
    schema: 'provenant.event/v1',
    id: otlpRecordId(traceId, spanId),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: researcherId, kind: 'agent_instance', agent: 'researcher', instance: '7f3a' },
    action: {
      name: 'get_file',
      tool: { name: 'get_file', call_id: 'call_7' },
      args: ARGS,
      args_digest: digestOf(ARGS),
    },
    outcome: { status: 'success' },
    trace: { trace_id: traceId, span_id: spanId },
  };
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(record),
  });
  expect(res.statusCode, res.body).toBe(200);
  return (await app.inject({ headers: asAdmin, url: `/v1/events/${record.id}` })).json();
}

/** The same tool call as an OpenTelemetry GenAI `execute_tool` span (OTLP/JSON). */
async function viaOtlp(app: FastifyInstance, bearer: string): Promise<Json> {
  const { traceId, spanId } = ids();
  const startNs = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const body = {
    resourceSpans: [
      {
        scopeSpans: [
          {
            scope: { name: 'genai-instrumentation', version: '1.2.3' },
            spans: [
              {
                traceId,
                spanId,
                name: 'execute_tool get_file',
                startTimeUnixNano: String(startNs),
                endTimeUnixNano: String(startNs + 1_000_000n),
                attributes: [
                  attr('gen_ai.operation.name', 'execute_tool'),
                  attr('gen_ai.tool.name', 'get_file'),
                  attr('gen_ai.tool.call.id', 'call_7'),
                  attr('gen_ai.tool.call.arguments', JSON.stringify(ARGS)),
                  attr('gen_ai.agent.id', researcherId),
                  attr('gen_ai.agent.name', 'researcher'),
                  attr('enduser.id', 'alice'),
                ],
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(body),
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['provenant-spans-recorded']).toBe('1');
  return (
    await app.inject({ headers: asAdmin, url: `/v1/events/${otlpRecordId(traceId, spanId)}` })
  ).json();
}

describe('one tool call through both ingest routes', () => {
  it('keeps the digest of the call arguments and the same attribution (audit level full)', async () => {
    const { app, tokens } = await makeApp();
    const native = await viaEvents(app, tokens.researcherToken);
    const span = await viaOtlp(app, tokens.researcherToken);
    expect(native.action.args_digest).toBe(digestOf(ARGS));
    expect(span.action.args_digest).toBe(digestOf(ARGS));
    expect(span.attribution).toEqual(native.attribution);
    expect(span.attribution.level).toBe('verified');
    expect(span.credential).toEqual(native.credential);
    expect(span.delegation).toEqual(native.delegation);
  });

  it('keeps only the keyed digest of the call arguments when the audit rule keeps only a digest', async () => {
    const { app, tokens } = await makeApp({
      rules: [{ match: { action: 'get_file' }, level: 'digest' }],
      default: { match: {}, level: 'full' },
    });
    const native = await viaEvents(app, tokens.researcherToken);
    const span = await viaOtlp(app, tokens.researcherToken);
    expect(native.action.args).toBeUndefined();
    expect(span.action.args).toBeUndefined();
    // The same keyed digest whether the collector saw the arguments or only their digest.
    expect(native.action.args_digest).toBe(keyedDigest(HMAC_KEY, ARGS));
    expect(span.action.args_digest).toBe(keyedDigest(HMAC_KEY, ARGS));
    expect(span.attribution).toEqual(native.attribution);
  });

  it('drops the digest on both routes when the audit rule keeps metadata only', async () => {
    const { app, tokens } = await makeApp({
      rules: [{ match: { action: 'get_file' }, level: 'metadata' }],
      default: { match: {}, level: 'full' },
    });
    const native = await viaEvents(app, tokens.researcherToken);
    const span = await viaOtlp(app, tokens.researcherToken);
    expect(native.action.args_digest).toBeUndefined();
    expect(span.action.args_digest).toBeUndefined();
  });
});

describe('one commit per request', () => {
  it("stores a request's records and its attribution alerts in one commit, alerts first", async () => {
    const { app, storage, tokens } = await makeApp();
    const commits = vi.spyOn(storage, 'append');
    await viaEvents(app, tokens.researcherToken);
    expect(commits).toHaveBeenCalledTimes(1);
    commits.mockClear();

    const forged = {
      schema: 'provenant.event/v1',
      id: '0198e4f4-0000-7000-8000-000000000001',
      time: new Date().toISOString(),
      type: 'tool.called',
      initiator: { id: 'user:mallory', kind: 'human' },
      actor: { id: researcherId, kind: 'agent_instance' },
      action: { name: 'get_file' },
      outcome: { status: 'success' },
    };
    const honest = {
      ...forged,
      id: '0198e4f4-0000-7000-8000-000000000002',
      initiator: { id: 'user:alice', kind: 'human' },
    };
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.researcherToken}`,
      },
      payload: JSON.stringify([forged, honest]),
    });
    expect(res.statusCode).toBe(200);
    const answer = res.json() as Json;
    expect(answer.rejected).toMatchObject([{ index: 0, code: 'attribution_mismatch' }]);
    expect(commits).toHaveBeenCalledTimes(1);
    const batch = commits.mock.calls[0]![0];
    expect(batch.entries.map((e) => e.type)).toEqual(['security.alert', 'tool.called']);
    expect(batch.entries[1]!.id).toBe(honest.id);
    expect(answer.accepted).toEqual([
      {
        id: honest.id,
        leaf_index: batch.entries[1]!.leafIndex,
        attribution: { level: 'verified' },
      },
    ]);
  });
});
