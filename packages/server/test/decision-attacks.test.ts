/**
 * The policy laundering and decision replay attacks of issue 14, each reproduced against the
 * collector with the example policy folder (and its action catalog), on both ingest routes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uuidv7 } from '@provenant/core';
import { CedarEngine, DEFAULT_AUDIT_RULES, readPolicyFolder } from '@provenant/policy';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, buildApp } from '../src/index.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { otlpRecordId } from '../src/otlp/map.js';
import { PolicyService } from '../src/policy/service.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import { ADMIN, TD, aliceScenario, exchange, makeIdentityApp } from './identity-helpers.js';
import { devLogin, grantRole, register, testCollector } from '../../../test/support/collector.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary record JSON
type Json = any;

const EXAMPLES = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));
const plannerId = `spiffe://${TD}/agent/planner/instance/19c2`;
const NONE = { privileged: false, irreversible: false, external: false };
const ALL = { privileged: true, irreversible: true, external: true };

async function setup() {
  const made = await makeIdentityApp();
  // The collector's clock, moved forward by a test to be "later" than a decision's window.
  let later = 0;
  const policy = await PolicyService.open(
    new CedarEngine(),
    new MemoryPolicyStore(),
    { auditRules: DEFAULT_AUDIT_RULES, hmacKey: new Uint8Array(32).fill(7) },
    () => Date.now() + later,
  );
  await policy.load(readPolicyFolder(EXAMPLES));
  const app = buildApp({
    log: made.log,
    storage: made.storage,
    limits: DEFAULT_LIMITS,
    identity: made.identity,
    policy,
    alerts: new AlertLimiter(),
    adminToken: ADMIN,
  });
  const s = await aliceScenario(app);
  return { app, s, advance: (ms: number) => void (later += ms) };
}

async function decide(app: FastifyInstance, bearer: string, action: Record<string, unknown>) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/decisions',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify({ action }),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Json>();
}

const deleteRepo = (cls: Record<string, boolean> = NONE) => ({
  name: 'github.delete_repo',
  resource: 'repo:acme/payments',
  class: cls,
  risk: 'low',
});
const getFile = { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' };

/** The planner's record of a call it made under `decisionId`. */
function plannerRecord(decisionId: string, action: Record<string, unknown>, over: Json = {}) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: plannerId, kind: 'agent_instance' },
    action,
    policy: { decision_id: decisionId, engine: 'cedar', decision: 'allow' },
    outcome: { status: 'success' },
    ...over,
  };
}

async function post(app: FastifyInstance, bearer: string, ...records: unknown[]) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(records.length === 1 ? records[0] : records),
  });
  return res.json<Json>();
}

const read = async (app: FastifyInstance, url: string) =>
  (await app.inject({ url, headers: { authorization: `Bearer ${ADMIN}` } })).json<Json>();
const alertNames = async (app: FastifyInstance) =>
  ((await read(app, '/v1/events?type=security.alert&limit=1000')).events as Json[]).map(
    (a) => a.action.name,
  );

describe('policy laundering', () => {
  it('denies a deletion asked as reversible exactly as when asked as irreversible', async () => {
    const { app, s } = await setup();
    // alice → planner → researcher with the write scope: only the deep-irreversible rule stops it.
    const writer = await exchange(app, s.plannerToken, s.researcher, 'repo:read repo:write');
    const token = writer.body.access_token!;
    const honest = await decide(app, token, deleteRepo(ALL));
    expect(honest).toMatchObject({ decision: 'deny', determining: ['forbid-deep-irreversible'] });
    const laundered = await decide(app, token, deleteRepo(NONE));
    expect(laundered).toMatchObject({
      decision: 'deny',
      determining: ['forbid-deep-irreversible'],
      catalog: 'known',
      action: { class: ALL, risk: 'critical' },
    });
    // The decision point's own record says what was decided, not what was asked.
    const witness = await read(app, '/v1/events?type=policy.decision&limit=10');
    expect(witness.events.at(-1)).toMatchObject({
      action: { class: ALL, risk: 'critical' },
      policy: { decision_id: laundered.decision_id, catalog: 'known' },
    });
  });

  it('refuses a record that lowers the class of the allow it cites, and alerts', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(NONE));
    expect(d).toMatchObject({ decision: 'allow', single_use: true, action: { class: ALL } });
    const lowered = plannerRecord(d.decision_id, {
      ...deleteRepo({ ...ALL, irreversible: false }),
      risk: 'critical',
    });
    const answer = await post(app, s.plannerToken, lowered);
    expect(answer.rejected).toMatchObject([{ id: lowered.id, code: 'decision_mismatch' }]);
    expect(answer.rejected[0].message).toContain('class');
    expect(
      (
        await app.inject({
          url: `/v1/events/${lowered.id}`,
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).statusCode,
    ).toBe(404);
    expect(await alertNames(app)).toContain('ingest.decision_mismatch');
    // The same call recorded as decided is kept, verified, with the decision.
    const honest = plannerRecord(d.decision_id, { ...deleteRepo(ALL), risk: 'critical' });
    expect((await post(app, s.plannerToken, honest)).accepted).toHaveLength(1);
    expect(await read(app, `/v1/events/${honest.id}`)).toMatchObject({
      attribution: { level: 'verified', reasons: [] },
      policy: { decision_id: d.decision_id, catalog: 'known' },
    });
  });

  it('stores the decided class and risk on a record that names none', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(NONE));
    const { class: _c, risk: _r, ...bare } = deleteRepo();
    const r = plannerRecord(d.decision_id, bare);
    expect((await post(app, s.plannerToken, r)).accepted).toHaveLength(1);
    expect((await read(app, `/v1/events/${r.id}`)).action).toMatchObject({
      class: ALL,
      risk: 'critical',
    });
  });
});

describe('an action the catalog does not list', () => {
  it("is decided on the caller's claim, and the decision and its records say catalog unknown", async () => {
    const { app, s } = await setup();
    const refund = { name: 'payments.refund', resource: 'invoice:7', class: ALL, risk: 'high' };
    const d = await decide(app, s.plannerToken, refund);
    expect(d).toMatchObject({
      decision: 'deny',
      catalog: 'unknown',
      single_use: true,
      action: { class: ALL, risk: 'high' },
    });
    const r = plannerRecord(d.decision_id, refund, { outcome: { status: 'denied' } });
    expect((await post(app, s.plannerToken, r)).accepted).toHaveLength(1);
    expect((await read(app, `/v1/events/${r.id}`)).policy).toMatchObject({
      decision_id: d.decision_id,
      decision: 'deny',
      catalog: 'unknown',
    });
  });
});

describe('decision replay', () => {
  it('refuses a privileged action under another credential than its decision was made for', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(ALL));
    // The same planner, for the same alice, with a new credential (another jti, same chain).
    const again = await exchange(app, s.aliceToken, s.planner, 'repo:read repo:write');
    const r = plannerRecord(d.decision_id, { ...deleteRepo(ALL), risk: 'critical' });
    const answer = await post(app, again.body.access_token!, r);
    expect(answer.rejected).toMatchObject([{ id: r.id, code: 'decision_mismatch' }]);
    expect(answer.rejected[0].message).toContain('credential');
  });

  it('flags, and keeps, a low-risk action under another credential', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, getFile);
    const again = await exchange(app, s.aliceToken, s.planner, 'repo:read repo:write');
    const r = plannerRecord(d.decision_id, getFile);
    expect((await post(app, again.body.access_token!, r)).accepted).toHaveLength(1);
    const got = await read(app, `/v1/events/${r.id}`);
    expect(got.attribution.reasons).toContain('decision_mismatch');
    expect(got.policy).toBeUndefined();
    expect(await alertNames(app)).toContain('ingest.decision_mismatch');
  });

  it('refuses a privileged action recorded after its decision expired, and flags a low-risk one', async () => {
    const { app, s, advance } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(ALL));
    const low = await decide(app, s.plannerToken, getFile);
    expect(d.valid_until - d.time).toBe(5 * 60_000);
    advance(5 * 60_000 + 1_000);
    const r = plannerRecord(d.decision_id, { ...deleteRepo(ALL), risk: 'critical' });
    const answer = await post(app, s.plannerToken, r);
    expect(answer.rejected).toMatchObject([{ id: r.id, code: 'decision_expired' }]);
    const l = plannerRecord(low.decision_id, getFile);
    expect((await post(app, s.plannerToken, l)).accepted).toHaveLength(1);
    expect((await read(app, `/v1/events/${l.id}`)).attribution.reasons).toContain(
      'decision_expired',
    );
  });

  it('lets a privileged decision back one action: a second action citing it is refused', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(ALL));
    const action = { ...deleteRepo(ALL), risk: 'critical' };
    const first = plannerRecord(d.decision_id, action);
    const second = plannerRecord(d.decision_id, action);
    const answer = await post(app, s.plannerToken, first, second);
    expect(answer.accepted.map((a: Json) => a.id)).toEqual([first.id]);
    expect(answer.rejected).toMatchObject([{ id: second.id, code: 'decision_reused' }]);
    expect(await alertNames(app)).toContain('ingest.decision_reused');
    // Re-sending the first record (a retry) is not a second use.
    expect((await post(app, s.plannerToken, first)).rejected ?? []).toEqual([]);
    const later = plannerRecord(d.decision_id, action);
    expect((await post(app, s.plannerToken, later)).rejected).toMatchObject([
      { code: 'decision_reused' },
    ]);
  });

  it('lets a pending intent and its one outcome cite the decision, and no other outcome', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(ALL));
    const action = { ...deleteRepo(ALL), risk: 'critical' };
    const intent = plannerRecord(d.decision_id, action, { outcome: { status: 'pending' } });
    const outcome = plannerRecord(d.decision_id, action, {
      cause: { kind: 'agent_decision', record_id: intent.id },
    });
    const another = plannerRecord(d.decision_id, action, {
      cause: { kind: 'agent_decision', record_id: intent.id },
    });
    const answer = await post(app, s.plannerToken, intent, outcome, another);
    expect(answer.accepted.map((a: Json) => a.id)).toEqual([intent.id, outcome.id]);
    expect(answer.rejected).toMatchObject([{ id: another.id, code: 'decision_reused' }]);
  });
});

describe('a single-use decision across a restart (SQLite)', () => {
  it('stays used: the restarted collector refuses a second action citing it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'provenant-single-use-'));
    let c = await testCollector(dataDir);
    try {
      await register(c.url, { id: 'user:alice', kind: 'human' });
      // alice decides for herself: she needs the producer role.
      await grantRole(c.url, 'user:alice', 'producer');
      const token = await devLogin(c.url, 'alice', 'repo:write');
      const action = { ...deleteRepo(ALL), risk: 'critical' };
      const res = await fetch(`${c.url}/v1/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ action }),
      });
      const d = (await res.json()) as Json;
      expect(d).toMatchObject({ decision: 'allow', single_use: true });
      const citing = () =>
        plannerRecord(d.decision_id, action, { actor: { id: 'user:alice', kind: 'human' } });
      const send = async (body: unknown) =>
        (await fetch(`${c.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        }).then((r) => r.json())) as Json;
      expect((await send(citing())).accepted).toHaveLength(1);
      const port = Number(new URL(c.url).port);
      await c.close();
      c = await testCollector(dataDir, port); // same data folder and address: same issuer
      expect((await send(citing())).rejected).toMatchObject([{ code: 'decision_reused' }]);
    } finally {
      await c.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('decision replay over OTLP (POST /v1/traces)', () => {
  let n = 0;
  /** A tool span citing `decisionId`; its resource attribute as given (none with null). */
  function span(
    decisionId: string,
    resource: string | null = 'repo:acme/payments',
    tool = 'github.delete_repo',
  ) {
    n++;
    const traceId = `${'d'.repeat(16)}${n.toString(16).padStart(16, '0')}`;
    const spanId = (0x7000 + n).toString(16).padStart(16, '0');
    const startNs = BigInt(Date.now()) * 1_000_000n;
    const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const body = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              scope: { name: 'genai-instrumentation', version: '1' },
              spans: [
                {
                  traceId,
                  spanId,
                  name: `execute_tool ${tool}`,
                  startTimeUnixNano: String(startNs),
                  endTimeUnixNano: String(startNs + 1_000_000n),
                  attributes: [
                    attr('gen_ai.operation.name', 'execute_tool'),
                    attr('gen_ai.tool.name', tool),
                    attr('gen_ai.agent.id', plannerId),
                    attr('enduser.id', 'alice'),
                    attr('provenant.decision.id', decisionId),
                    ...(resource === null ? [] : [attr('provenant.action.resource', resource)]),
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    return { body, id: otlpRecordId(traceId, spanId) };
  }
  async function postSpan(app: FastifyInstance, bearer: string, body: unknown) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Json>();
  }

  it('refuses a span citing a privileged decision under a new credential, or a second time', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(ALL));
    const again = await exchange(app, s.aliceToken, s.planner, 'repo:read repo:write');
    const replayed = span(d.decision_id);
    const refused = await postSpan(app, again.body.access_token!, replayed.body);
    expect(refused.partialSuccess).toMatchObject({ rejectedSpans: '1' });
    expect(refused.partialSuccess.errorMessage).toContain('decision_mismatch');

    const first = span(d.decision_id);
    expect((await postSpan(app, s.plannerToken, first.body)).partialSuccess).toBeUndefined();
    expect(await read(app, `/v1/events/${first.id}`)).toMatchObject({
      action: {
        name: 'github.delete_repo',
        resource: 'repo:acme/payments',
        class: ALL,
        risk: 'critical',
      },
      policy: { decision_id: d.decision_id, decision: 'allow', engine: 'cedar' },
      attribution: { level: 'verified', reasons: [] },
    });
    const second = await postSpan(app, s.plannerToken, span(d.decision_id).body);
    expect(second.partialSuccess).toMatchObject({ rejectedSpans: '1' });
    expect(second.partialSuccess.errorMessage).toContain('decision_reused');
  });

  it('refuses a span citing a privileged decision made for another resource, or naming none', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(ALL));
    for (const resource of ['repo:acme/website', null]) {
      const laundered = span(d.decision_id, resource);
      const answer = await postSpan(app, s.plannerToken, laundered.body);
      expect(answer.partialSuccess).toMatchObject({ rejectedSpans: '1' });
      expect(answer.partialSuccess.errorMessage).toContain('decision_mismatch');
      expect(answer.partialSuccess.errorMessage).toContain('resource');
      const stored = await app.inject({
        headers: { authorization: `Bearer ${ADMIN}` },
        url: `/v1/events/${laundered.id}`,
      });
      expect(stored.statusCode).toBe(404);
    }
    // Refused, not used up: the span of the action decided on still passes.
    const right = span(d.decision_id);
    expect((await postSpan(app, s.plannerToken, right.body)).partialSuccess).toBeUndefined();
  });

  it('flags a span citing a low-stakes decision without its resource, and alerts', async () => {
    const { app, s } = await setup();
    const d = await decide(app, s.plannerToken, getFile);
    const bare = span(d.decision_id, null, getFile.name);
    expect((await postSpan(app, s.plannerToken, bare.body)).partialSuccess).toBeUndefined();
    const stored = (await read(app, `/v1/events/${bare.id}`)) as Json;
    expect(stored['policy']).toBeUndefined();
    expect(stored).toMatchObject({ attribution: { reasons: ['decision_mismatch'] } });
    expect(await alertNames(app)).toContain('ingest.decision_mismatch');
  });

  it('refuses a span citing a privileged decision after its window', async () => {
    const { app, s, advance } = await setup();
    const d = await decide(app, s.plannerToken, deleteRepo(ALL));
    advance(5 * 60_000 + 1_000);
    const late = await postSpan(app, s.plannerToken, span(d.decision_id).body);
    expect(late.partialSuccess.errorMessage).toContain('decision_expired');
  });
});
