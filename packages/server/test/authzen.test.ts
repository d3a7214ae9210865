import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventRecord } from '@provenant/core';
import { CedarEngine, readPolicyFolder } from '@provenant/policy';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildApp, DEFAULT_LIMITS } from '../src/index.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import { PolicyService, DEFAULT_AUDIT_RULES } from '../src/policy/service.js';
import {
  ADMIN,
  ISSUER,
  aliceScenario,
  devLogin,
  makeIdentityApp,
  register,
} from './identity-helpers.js';
import { asAdmin } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/authzen/', import.meta.url));
/** The specification's own examples, by their anchors (fixtures/authzen/spec-examples.json). */
const SPEC = JSON.parse(readFileSync(`${FIXTURES}spec-examples.json`, 'utf8')) as Record<
  string,
  { body?: unknown; headers?: string[] } & Record<string, unknown>
>;
const REQUEST_ID = 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716';

async function makeApp() {
  const made = await makeIdentityApp();
  const policy = await PolicyService.open(new CedarEngine(), new MemoryPolicyStore(), {
    auditRules: DEFAULT_AUDIT_RULES,
    hmacKey: new Uint8Array(32).fill(7),
  });
  await policy.load(readPolicyFolder(`${FIXTURES}policies`));
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
  await register(app, { id: 'user:alice@example.com', kind: 'human' });
  const alice = await devLogin(app, 'alice@example.com', 'repo:read');
  expect(alice.status).toBe(200);
  return { app, aliceToken: alice.body.access_token!, policy };
}

async function post(
  app: FastifyInstance,
  path: string,
  token: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const res = await app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = res.json();
  // An error answer is a message string with its code in Provenant-Error-Code (checked as sent
  // by the "Error Responses" test); the assertions here read it as { error: { code, message } }.
  const answer =
    res.statusCode === 200
      ? json
      : { error: { code: res.headers['provenant-error-code'], message: json } };
  return { status: res.statusCode, headers: res.headers, body: answer };
}

const decisionsOf = (body: unknown) =>
  ((body as { evaluations?: { decision: boolean }[] }).evaluations ?? []).map((e) => e.decision);

async function decisionRecords(app: FastifyInstance) {
  const res = await app.inject({
    headers: asAdmin,
    url: '/v1/events?type=policy.decision&limit=100',
  });
  return res.json().events as EventRecord[];
}

describe('AuthZEN Access Evaluation API (§6)', () => {
  it("answers the specification's HTTPS example with the request id echoed and recorded", async () => {
    const { app, aliceToken } = await makeApp();
    const example = SPEC['example-access-evaluation-request']!;
    const res = await post(app, '/access/v1/evaluation', aliceToken, example.body, {
      'x-request-id': REQUEST_ID,
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe(REQUEST_ID);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    // The specification's answer is { "decision": true }; the context is implementation-defined.
    expect(res.body.decision).toBe(
      (SPEC['example-access-evaluation-response']!.body as { decision: boolean }).decision,
    );
    expect(res.body.context.determining).toEqual(['permit-alice-reads']);
    const [rec] = await decisionRecords(app);
    expect(rec).toMatchObject({
      type: 'policy.decision',
      initiator: { id: 'user:alice@example.com', kind: 'human' },
      action: { name: 'can_read', resource: 'todo:1' },
      policy: {
        decision_id: res.body.context.decision_id,
        decision: 'allow',
        authzen: { request_id: REQUEST_ID, subject: 'credential' },
      },
      attribution: { level: 'verified' },
    });
  });

  it('decides the §6.1 request example (properties and context are the PEP’s, not policy input)', async () => {
    const { app, aliceToken } = await makeApp();
    const res = await post(app, '/access/v1/evaluation', aliceToken, SPEC['request-example']);
    expect(res.status).toBe(200);
    expect(res.body.decision).toBe(true);
  });

  it('denies what no policy permits with 200 and decision false', async () => {
    const { app, aliceToken } = await makeApp();
    const res = await post(app, '/access/v1/evaluation', aliceToken, {
      subject: { type: 'user', id: 'alice@example.com' },
      action: { name: 'can_edit' },
      resource: { type: 'document', id: '1' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ decision: false, context: { determining: [] } });
  });

  it('refuses a subject the credential does not name, recording nothing', async () => {
    const { app, aliceToken } = await makeApp();
    const res = await post(
      app,
      '/access/v1/evaluation',
      aliceToken,
      {
        subject: { type: 'user', id: 'bob@example.com' },
        action: { name: 'can_read' },
        resource: { type: 'document', id: '1' },
      },
      { 'x-request-id': 'r-1' },
    );
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('subject_mismatch');
    // The request id is echoed on a refusal too (§10.1.3).
    expect(res.headers['x-request-id']).toBe('r-1');
    expect(await decisionRecords(app)).toEqual([]);
  });

  it("decides for an agent's credential when the PEP names its actor or its initiator", async () => {
    const { app } = await makeApp();
    const s = await aliceScenario(app);
    const ask = (subject: unknown) =>
      post(app, '/access/v1/evaluation', s.researcherToken, {
        subject,
        action: { name: 'github.get_file' },
        resource: { type: 'repo', id: 'acme/payments' },
      });
    const asActor = await ask({ type: 'Provenant::AgentInstance', id: s.researcher.id });
    const asInitiator = await ask({ type: 'identity', id: 'user:alice' });
    expect([asActor.status, asInitiator.status]).toEqual([200, 200]);
    expect([asActor.body.decision, asInitiator.body.decision]).toEqual([true, true]);
    const planner = await ask({ type: 'identity', id: s.planner.id });
    expect(planner.status).toBe(403);
    expect(planner.body.error.code).toBe('subject_mismatch');
    const [rec] = (await decisionRecords(app)).filter((r) => r.action.name === 'github.get_file');
    expect(rec!.delegation).toEqual([
      { from: 'user:alice', to: s.planner.id },
      { from: s.planner.id, to: s.researcher.id },
    ]);
  });

  it('refuses bad input with stable codes, and a missing credential', async () => {
    const { app, aliceToken } = await makeApp();
    const good = SPEC['request-example'] as Record<string, unknown>;
    const cases: [unknown, string, Record<string, string>?][] = [
      ['{"subject":', 'malformed_json'],
      [[1, 2], 'invalid_evaluation_request'],
      [{ ...good, subject: undefined }, 'invalid_evaluation_request'],
      [{ ...good, resource: { type: 'account' } }, 'invalid_evaluation_request'],
      [{ ...good, action: { name: 7 } }, 'invalid_evaluation_request'],
      [{ ...good, action: { name: 'no spaces' } }, 'invalid_evaluation_request'],
      [{ ...good, context: 'now' }, 'invalid_evaluation_request'],
      [good, 'invalid_request_id', { 'x-request-id': 'two words' }],
      [good, 'unsupported_media_type', { 'content-type': 'text/plain' }],
    ];
    for (const [body, code, headers] of cases) {
      const res = await post(app, '/access/v1/evaluation', aliceToken, body, headers);
      expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([
        code === 'unsupported_media_type' ? 415 : 400,
        code,
      ]);
    }
    const anonymous = await post(app, '/access/v1/evaluation', undefined, good);
    expect(anonymous.status).toBe(401);
    expect(await decisionRecords(app)).toEqual([]);
  });

  it('takes a trusted PEP (the admin token) at its word, and records that it did', async () => {
    const { app } = await makeApp();
    const res = await post(app, '/access/v1/evaluation', ADMIN, {
      subject: { type: 'Provenant::AgentInstance', id: 'spiffe://acme.test/agent/x/instance/1' },
      action: { name: 'github.get_file', properties: { privileged: false, risk: 'low' } },
      resource: { type: 'Provenant::Resource', id: 'repo:acme/payments' },
      context: {
        initiator: 'user:alice@example.com',
        chain: ['user:alice@example.com', 'spiffe://acme.test/agent/x/instance/1'],
        scopes: ['repo:read'],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.decision).toBe(true);
    const [rec] = await decisionRecords(app);
    expect(rec).toMatchObject({
      initiator: { id: 'user:alice@example.com' },
      action: { resource: 'repo:acme/payments', risk: 'low' },
      policy: { authzen: { subject: 'pep' } },
    });
    expect(rec!.credential).toBeUndefined();
    const bad = await post(app, '/access/v1/evaluation', ADMIN, {
      subject: { type: 'identity', id: 'agent:a' },
      action: { name: 'github.get_file' },
      resource: { type: 'repo', id: 'x' },
      context: { initiator: 'user:b', chain: ['user:b', 'agent:other'] },
    });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_evaluation_request']);
  });
});

describe('AuthZEN Access Evaluations API (§7)', () => {
  for (const semantic of ['execute-all', 'deny-on-first-deny', 'permit-on-first-permit']) {
    it(`answers the §7.1.2 ${semantic} example as the specification does`, async () => {
      const { app, aliceToken } = await makeApp();
      const res = await post(
        app,
        '/access/v1/evaluations',
        aliceToken,
        SPEC[`semantic-${semantic}-request`],
        { 'x-request-id': REQUEST_ID },
      );
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toBe(REQUEST_ID);
      expect(decisionsOf(res.body)).toEqual(decisionsOf(SPEC[`semantic-${semantic}-response`]));
      // One record per evaluation decided, each with the request id.
      const records = await decisionRecords(app);
      expect(records).toHaveLength(res.body.evaluations.length);
      expect(records.every((r) => r.policy.authzen.request_id === REQUEST_ID)).toBe(true);
    });
  }

  it("applies the top-level defaults of the specification's examples", async () => {
    const { app, aliceToken } = await makeApp();
    for (const [name, want] of [
      ['evaluations-no-defaults', [true, false, true]],
      ['evaluations-default-subject-context', [true, false, true]],
      ['evaluations-default-action-overridden', [true, false, false]],
      // §10.1.4: the specification answers true, false (not found), false.
      ['example-access-evaluations-request', [true, false, false]],
    ] as const) {
      const example = SPEC[name]!;
      const res = await post(app, '/access/v1/evaluations', aliceToken, example.body ?? example);
      expect([name, res.status, decisionsOf(res.body)]).toEqual([name, 200, want]);
    }
  });

  it('answers a request without entries as the single evaluation (backwards compatible)', async () => {
    const { app, aliceToken } = await makeApp();
    const res = await post(app, '/access/v1/evaluations', aliceToken, SPEC['request-example']);
    expect(res.status).toBe(200);
    expect(res.body.decision).toBe(true);
    expect(res.body.evaluations).toBeUndefined();
  });

  it('denies a malformed entry on its own, and refuses a bad semantic or a foreign subject', async () => {
    const { app, aliceToken } = await makeApp();
    const res = await post(app, '/access/v1/evaluations', aliceToken, {
      subject: { type: 'user', id: 'alice@example.com' },
      action: { name: 'can_read' },
      evaluations: [
        { resource: { type: 'document', id: '1' } },
        { resource: { type: 'document', id: '1' }, action: { name: 'bad name' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.evaluations[0]).toMatchObject({ decision: true });
    expect(res.body.evaluations[1]).toMatchObject({
      decision: false,
      context: { error: { status: 400 } },
    });
    const semantic = await post(app, '/access/v1/evaluations', aliceToken, {
      ...(SPEC['semantic-execute-all-request'] as object),
      options: { evaluations_semantic: 'first_wins' },
    });
    expect([semantic.status, semantic.body.error.code]).toEqual([
      400,
      'invalid_evaluation_request',
    ]);
    // The §7.1.1 options example names a subject of type "doc" — not alice: refused whole.
    const foreign = await post(
      app,
      '/access/v1/evaluations',
      aliceToken,
      SPEC['evaluations-options'],
    );
    expect(foreign.status).toBe(400); // it names no action either
    const mixed = await post(app, '/access/v1/evaluations', aliceToken, {
      action: { name: 'can_read' },
      resource: { type: 'document', id: '1' },
      evaluations: [
        { subject: { type: 'user', id: 'alice@example.com' } },
        { subject: { type: 'user', id: 'mallory@example.com' } },
      ],
    });
    expect([mixed.status, mixed.body.error.code]).toEqual([403, 'subject_mismatch']);
  });
});

describe('AuthZEN error responses (1.0 "Error Responses")', () => {
  it('answers 400, 401 and 403 with an error message string, the request id and the code in a header', async () => {
    const { app } = await makeApp();
    const s = await aliceScenario(app);
    const raw = (token: string | undefined, payload: string) =>
      app.inject({
        method: 'POST',
        url: '/access/v1/evaluation',
        headers: {
          'content-type': 'application/json',
          'x-request-id': 'err-1',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        payload,
      });
    const ask = (subject: unknown) =>
      JSON.stringify({
        subject,
        action: { name: 'github.get_file' },
        resource: { type: 'repo', id: 'acme/payments' },
      });
    const cases: [Awaited<ReturnType<typeof raw>>, number, string][] = [
      [await raw(s.researcherToken, '{'), 400, 'malformed_json'],
      [await raw(s.researcherToken, '{}'), 400, 'invalid_evaluation_request'],
      [
        await raw(undefined, ask({ type: 'identity', id: 'user:alice' })),
        401,
        'invalid_credential',
      ],
      [
        await raw('not.a.credential', ask({ type: 'identity', id: 'user:alice' })),
        401,
        'malformed_token',
      ],
      [
        await raw(s.researcherToken, ask({ type: 'identity', id: s.planner.id })),
        403,
        'subject_mismatch',
      ],
    ];
    for (const [res, status, code] of cases) {
      expect([res.statusCode, res.headers['provenant-error-code']], res.body).toEqual([
        status,
        code,
      ]);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['x-request-id']).toBe('err-1');
      // The body is a JSON string: the error message, nothing else.
      const body = res.json() as unknown;
      expect(typeof body, res.body).toBe('string');
      expect((body as string).length).toBeGreaterThan(0);
    }
  });
});

describe('AuthZEN metadata (§9)', () => {
  it('serves /.well-known/authzen-configuration naming this PDP and its endpoints', async () => {
    const { app } = await makeApp();
    const res = await app.inject({ url: '/.well-known/authzen-configuration' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      policy_decision_point: ISSUER,
      access_evaluation_endpoint: `${ISSUER}/access/v1/evaluation`,
      access_evaluations_endpoint: `${ISSUER}/access/v1/evaluations`,
    });
  });
});
