import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uuidv7 } from '@provenant/core';
import { CedarEngine, hmacValue, parseAuditRules, readPolicyFolder } from '@provenant/policy';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, buildApp, startCollector } from '../src/index.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import { PolicyService, DEFAULT_AUDIT_RULES } from '../src/policy/service.js';
import {
  ADMIN,
  TD,
  aliceScenario,
  devLogin,
  makeIdentityApp,
  register,
  grantRole,
} from './identity-helpers.js';
import type { IngestAnswer } from './helpers.js';
import { asAdmin } from './helpers.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));
const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;
const root = mkdtempSync(join(tmpdir(), 'provenant-policy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function makePolicyApp(loadExamples = true) {
  const made = await makeIdentityApp();
  const policy = await PolicyService.open(new CedarEngine(), new MemoryPolicyStore(), {
    auditRules: DEFAULT_AUDIT_RULES,
    hmacKey: new Uint8Array(32).fill(7),
  });
  if (loadExamples) await policy.load(readPolicyFolder(EXAMPLES));
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
  return { ...made, app, policy };
}

async function decide(app: FastifyInstance, bearer: string | undefined, body: unknown) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/decisions',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json() };
}

const read = {
  action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
  task_id: 'task-981',
};
const destroy = {
  action: {
    name: 'github.delete_repo',
    resource: 'repo:acme/payments',
    class: { privileged: true, irreversible: true, external: true },
    risk: 'critical',
  },
};

function action(decisionId: string | undefined, overrides: Record<string, unknown> = {}) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: researcherId, kind: 'agent_instance' },
    action: {
      name: 'github.get_file',
      resource: 'repo:acme/payments',
      args: { path: 'README.md' },
    },
    ...(decisionId
      ? { policy: { decision_id: decisionId, engine: 'forged-engine', decision: 'allow' } }
      : {}),
    outcome: { status: 'success' },
    ...overrides,
  };
}

async function ingest(app: FastifyInstance, bearer: string, body: unknown) {
  return app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(body),
  });
}

const stored = async (app: FastifyInstance, id: string) =>
  (await app.inject({ headers: asAdmin, url: `/v1/events/${id}` })).json();
const ofType = async (app: FastifyInstance, type: string) =>
  (await app.inject({ headers: asAdmin, url: `/v1/events?type=${type}&limit=1000` })).json()
    .events as Record<string, unknown>[];

describe('POST /v1/decisions', () => {
  it('allows by the determining Cedar policy and records the decision in the ledger', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, read);
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({
      decision: 'allow',
      engine: 'cedar',
      determining: expect.arrayContaining(['permit-researcher-github-reads']),
    });
    expect(d.body.policy_set).toMatch(/^sha256:[0-9a-f]{64}$/);
    const records = await ofType(app, 'policy.decision');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      policy: { decision_id: d.body.decision_id, decision: 'allow' },
      task_id: 'task-981',
    });
  });

  it('denies an irreversible action two hops from alice, and records the denial too', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, destroy);
    expect(d.body).toMatchObject({ decision: 'deny', determining: ['forbid-deep-irreversible'] });
    expect((await ofType(app, 'policy.decision'))[0]).toMatchObject({
      policy: { decision: 'deny' },
    });
  });

  it('denies by default when no policy matches', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, {
      action: { name: 'payments.refund', resource: 'invoice:1' },
    });
    expect(d.body).toMatchObject({ decision: 'deny', determining: [] });
  });

  it('fails closed with no policy set loaded', async () => {
    const { app } = await makePolicyApp(false);
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, read);
    expect(d.body).toMatchObject({ decision: 'deny', reason: 'no_policy_set' });
  });

  it('needs a valid credential and a well-formed action', async () => {
    const { app, log } = await makePolicyApp();
    const s = await aliceScenario(app);
    const before = log.size;
    expect((await decide(app, undefined, read)).body.error.code).toBe('credential_required');
    expect((await decide(app, 'x.y.z', read)).body.error.code).toBe('malformed_token');
    expect(
      (await decide(app, s.researcherToken, { action: { name: 'bad name!', resource: 'r' } })).body
        .error.code,
    ).toBe('invalid_parameter');
    expect(
      (await decide(app, s.researcherToken, { action: { name: 'a.b' } })).body.error.code,
    ).toBe('invalid_parameter');
    expect(
      (
        await decide(app, s.researcherToken, {
          action: { name: 'a.b', resource: 'r', risk: 'extreme' },
        })
      ).status,
    ).toBe(400);
    expect(log.size).toBe(before);
  });
});

describe('correlation at ingest', () => {
  it('rewrites the record policy from the decision point own record', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, read);
    const r = action(d.body.decision_id);
    const res = await ingest(app, s.researcherToken, r);
    expect(res.json<IngestAnswer>().accepted[0]!.attribution.level).toBe('verified');
    const got = await stored(app, r.id);
    expect(got.policy).toMatchObject({
      decision_id: d.body.decision_id,
      engine: 'cedar',
      policy_set: d.body.policy_set,
      decision: 'allow',
    });
    expect(got.attribution.reasons).toEqual([]);
  });

  it('flags and alerts a record citing a decision made for another resource', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, read);
    const r = action(d.body.decision_id, {
      action: { name: 'github.get_file', resource: 'repo:acme/other' },
    });
    expect((await ingest(app, s.researcherToken, r)).statusCode).toBe(200);
    const got = await stored(app, r.id);
    expect(got.attribution.reasons).toContain('decision_mismatch');
    expect(got.policy).toBeUndefined();
    const alerts = await ofType(app, 'security.alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      action: {
        name: 'ingest.decision_mismatch',
        // The alert names the decision the sender claimed (ingest never edits the claim in place).
        args: { claimed_decision_id: d.body.decision_id, rejected_record_id: r.id },
      },
      actor: { id: researcherId },
    });
  });

  it('flags a decision that was never made, and one made under another credential chain', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const ghost = action(uuidv7());
    await ingest(app, s.researcherToken, ghost);
    expect((await stored(app, ghost.id)).attribution.reasons).toContain('decision_not_found');
    // planner asks, researcher cites it
    const planned = await decide(app, s.plannerToken, read);
    const r = action(planned.body.decision_id);
    await ingest(app, s.researcherToken, r);
    expect((await stored(app, r.id)).attribution.reasons).toContain('decision_mismatch');
  });

  it('flags an action that ran although its decision denied it', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, destroy);
    const ran = action(d.body.decision_id, {
      action: destroy.action,
      outcome: { status: 'success' },
    });
    await ingest(app, s.researcherToken, ran);
    expect((await stored(app, ran.id)).attribution.reasons).toContain('decision_denied');
    const refused = action(d.body.decision_id, {
      action: destroy.action,
      outcome: { status: 'denied' },
    });
    await ingest(app, s.researcherToken, refused);
    expect((await stored(app, refused.id)).attribution.reasons).toEqual([]);
  });

  it('flags a privileged action with no recorded decision', async () => {
    const { app } = await makePolicyApp();
    const s = await aliceScenario(app);
    const r = action(undefined, { action: destroy.action });
    await ingest(app, s.researcherToken, r);
    expect((await stored(app, r.id)).attribution.reasons).toContain('decision_missing');
  });
});

describe('decision replay', () => {
  it('replays the recorded answer after the policy set changed, and names the drift', async () => {
    const { app, policy } = await makePolicyApp();
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, read);
    const examples = readPolicyFolder(EXAMPLES);
    await policy.load({
      ...examples,
      files: [
        ...examples.files,
        {
          name: 'zz-lockdown.cedar',
          text: '@id("lockdown")\nforbid (principal, action, resource);\n',
        },
      ],
    });
    const e = (
      await app.inject({ headers: asAdmin, url: `/v1/decisions/${d.body.decision_id}` })
    ).json();
    expect(e.replayed).toMatchObject({ decision: 'allow', determining: d.body.determining });
    expect(e.current.decision.decision).toBe('deny');
    expect(e.current.drift).toMatch(/lockdown/);
    expect(e.current.policySet).not.toBe(d.body.policy_set);
    expect(
      (await app.inject({ headers: asAdmin, url: `/v1/decisions/${uuidv7()}` })).statusCode,
    ).toBe(404);
  });
});

describe('audit rules on the SQLite ledger', () => {
  it('never stores a redacted value, only its HMAC', async () => {
    const dataDir = join(root, 'audit');
    const auditRules = parseAuditRules({
      rules: [
        { match: { action: 'secrets.*' }, level: 'redact', redact: ['token', 'nested.password'] },
      ],
      default: { match: {}, level: 'full' },
    });
    const c = await startCollector({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      policiesDir: EXAMPLES,
      auditRules,
      identity: { devLogin: true },
      adminToken: ADMIN,
    });
    try {
      await register(c.app, { id: 'user:alice', kind: 'human' });
      // alice records her own action: she needs the producer role.
      await grantRole(c.app, 'user:alice', 'producer');
      const alice = (await devLogin(c.app, 'alice', 'vault:read')).body.access_token!;
      const r = {
        ...action(undefined, { actor: { id: 'user:alice', kind: 'human' } }),
        action: {
          name: 'secrets.read',
          resource: 'vault:kv/app',
          args: {
            token: 'SUPERSECRET-123',
            nested: { password: 'hunter2-xyz' },
            keep: 'visible-value',
          },
        },
      };
      const res = await ingest(c.app, alice, r);
      expect(res.statusCode, res.body).toBe(200);
      await c.close();
      // Every file the collector wrote (database, WAL if any, keys): none holds the secret.
      const { readdirSync } = await import('node:fs');
      const bytes = readdirSync(dataDir)
        .map((f) => readFileSync(join(dataDir, f)).toString('latin1'))
        .join('\n');
      expect(bytes).not.toContain('SUPERSECRET-123');
      expect(bytes).not.toContain('hunter2-xyz');
      expect(bytes).toContain('visible-value');
      const key = Buffer.from(
        readFileSync(join(dataDir, 'audit-hmac.key'), 'utf8').trim(),
        'base64',
      );
      expect(bytes).toContain(hmacValue(key, 'SUPERSECRET-123'));
    } finally {
      await c.close();
    }
  });

  it('refuses to start with a policy folder that fails validation', async () => {
    const bad = join(root, 'bad-policies');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(bad, { recursive: true });
    writeFileSync(
      join(bad, 'p.cedar'),
      'permit (principal, action, resource) when { context.nope ==== 1 };',
    );
    await expect(
      startCollector({ dataDir: join(root, 'bad'), host: '127.0.0.1', port: 0, policiesDir: bad }),
    ).rejects.toMatchObject({
      code: 'invalid_policy_set',
    });
  });
});

describe('replay of a fail-closed decision', () => {
  it('explains a decision made before any policy set was loaded', async () => {
    const { app } = await makePolicyApp(false);
    const s = await aliceScenario(app);
    const d = await decide(app, s.researcherToken, read);
    const e = (
      await app.inject({ headers: asAdmin, url: `/v1/decisions/${d.body.decision_id}` })
    ).json();
    expect(e.recorded.reason).toBe('no_policy_set');
    expect(e.replayed.decision).toBe('deny');
  });
});

describe('GET /v1/decisions/{id} with bad input', () => {
  it('answers a malformed id with invalid_parameter', async () => {
    const { app } = await makePolicyApp();
    const res = await app.inject({ headers: asAdmin, url: '/v1/decisions/not-a-uuid' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_parameter');
  });
});
