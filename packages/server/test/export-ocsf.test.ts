import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { parseEventRecord } from '@provenant/core';
import { toOcsfApiActivity } from '../src/export/ocsf.js';
import type { OcsfApiActivity, ServedRecord } from '../src/export/ocsf.js';
import { asAdmin, record } from './helpers.js';
import {
  TD,
  aliceScenario,
  assertion,
  exchange,
  makeAgent,
  makeIdentityApp,
  register,
  token,
} from './identity-helpers.js';
import { investigationScenario, makeInvestigateApp } from './investigate-scenario.js';
import { OCSF_FIXTURE_VERSION, apiActivityProblems, objectProblems } from './ocsf-schema.js';

/** Checks an event against the OCSF schema's own definition of API Activity (6003). */
function checkApiActivity(event: unknown): void {
  expect(apiActivityProblems(event)).toEqual([]);
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
    checkApiActivity(e);

    expect(e.time).toBe(Date.UTC(2026, 10, 27, 13, 5, 1, 123));
    expect(e.activity_id).toBe(4); // github.delete_repo
    expect(e.activity_name).toBe('Delete');
    expect(e.type_uid).toBe(600304);
    expect(e.type_name).toBe('API Activity: Delete');
    expect(e.severity_id).toBe(5); // risk critical
    expect([e.status_id, e.status]).toEqual([1, 'Success']);
    expect(e).not.toHaveProperty('duration'); // OCSF's duration is an aggregate's window
    expect(e.metadata).toMatchObject({
      version: OCSF_FIXTURE_VERSION,
      profiles: ['security_control', 'ai_operation', 'trace'],
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
    expect(e.ai_agent).toEqual({
      uid: 'spiffe://acme.test/agent/researcher',
      instance_uid: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      name: 'researcher',
      version: '2.1.0',
      type_id: 0,
      type: 'Unknown',
    });
    // The last hop is the authority the actor acted under; the chain is every hop, root first.
    expect(e.delegation).toEqual({
      uid: 'j2',
      parent_uid: 'j1',
      created_time: 1795000000000,
      issuer_uid: 'https://issuer.acme.test',
    });
    expect(e.trace).toEqual({ uid: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(e.unmapped.provenant).toMatchObject({
      attribution: { level: 'verified', reasons: [] },
      delegation: DELEGATION,
      delegation_chain: [{ uid: 'j1', issuer_uid: 'https://issuer.acme.test' }, e.delegation],
      duration_ms: 412.4,
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
    checkApiActivity(failed);
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
    checkApiActivity(denied);
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
    checkApiActivity(p);
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

describe('OCSF delegation and ai_agent', () => {
  it('names each hop by its credential and its parent by the credential it was exchanged from', () => {
    // The collector stamps the verified credential's ancestors (root first): alice's root
    // credential j0, then the planner's j1; the researcher's is j2.
    const e = toOcsfApiActivity(
      served({
        delegation: DELEGATION,
        credential: {
          jti: 'j2',
          iss: 'https://issuer.acme.test',
          iat: 1795000000,
          exp: 1795000300,
          ancestors: ['j0', 'j1'],
        },
      }),
    );
    checkApiActivity(e);
    const chain = e.unmapped.provenant['delegation_chain'] as unknown[];
    expect(chain).toEqual([
      { uid: 'j1', parent_uid: 'j0', issuer_uid: 'https://issuer.acme.test' },
      {
        uid: 'j2',
        parent_uid: 'j1',
        created_time: 1795000000000,
        issuer_uid: 'https://issuer.acme.test',
      },
    ]);
    for (const hop of chain) expect(objectProblems(hop, 'delegation')).toEqual([]);
    expect(e.delegation).toEqual(chain[1]);
  });

  it('writes no delegation for a chain the collector did not verify (ids from input are the delegate’s own)', () => {
    for (const level of ['asserted', 'unattributed'] as const) {
      const r = served({
        delegation: DELEGATION,
        credential: { jti: 'j2', iss: 'https://issuer.acme.test', iat: 1, exp: 2 },
      });
      const e = toOcsfApiActivity({ ...r, attribution: { level, reasons: ['no_credential'] } });
      checkApiActivity(e);
      expect(e.delegation).toBeUndefined();
      expect(e.unmapped.provenant['delegation_chain']).toBeUndefined();
      // The claimed hops stay where they were, unmapped, beside the level that qualifies them.
      expect(e.unmapped.provenant['delegation']).toEqual(DELEGATION);
    }
  });

  it('maps the issuer’s delegation.granted witness to the delegation it created', () => {
    const granted = served({
      type: 'delegation.granted',
      actor: { id: 'service:provenant-issuer', kind: 'service' },
      delegation: [DELEGATION[1]],
      credential: {
        jti: 'j2',
        iss: 'https://issuer.acme.test',
        iat: 1795000000,
        exp: 1795000300,
        parent_jti: 'j1',
        ancestors: ['j0', 'j1'],
        grant: 'token_exchange',
      },
    });
    delete (granted as { action?: unknown }).action;
    const e = toOcsfApiActivity(granted);
    checkApiActivity(e);
    expect(e.delegation).toEqual({
      uid: 'j2',
      parent_uid: 'j1',
      created_time: 1795000000000,
      issuer_uid: 'https://issuer.acme.test',
    });
    expect(e.ai_agent).toBeUndefined(); // the issuer is a service, not an agent
  });

  it('maps an agent (not an instance) and leaves ai_agent out for other actors', () => {
    const agent = toOcsfApiActivity(
      served({ actor: { id: 'spiffe://acme.test/agent/planner', kind: 'agent', version: '2.1' } }),
    );
    checkApiActivity(agent);
    expect(agent.ai_agent).toEqual({
      uid: 'spiffe://acme.test/agent/planner',
      name: 'planner',
      version: '2.1',
      type_id: 0,
      type: 'Unknown',
    });
    const human = toOcsfApiActivity(served({ actor: { id: 'user:bob', kind: 'human' } }));
    checkApiActivity(human);
    expect(human.ai_agent).toBeUndefined();
  });
});

describe('OCSF posture and remediation', () => {
  it('maps the posture a decision was made under to the risk level, and keeps a remediation', () => {
    const decision = served({
      type: 'policy.decision',
      actor: { id: 'service:provenant-pdp', kind: 'service' },
      policy: {
        ...POLICY,
        posture: {
          level: 'high',
          window_sec: 900,
          signals: [
            {
              source: 'collector_alert',
              code: 'attribution_mismatch',
              subject: 'spiffe://acme.test/agent/researcher/instance/7f3a',
              record_id: '01a23f63-537a-74bc-b494-abdca72de81f',
            },
          ],
        },
      },
    });
    const e = toOcsfApiActivity(decision);
    checkApiActivity(e);
    expect([e.risk_level_id, e.risk_level]).toEqual([3, 'High']);
    expect(e.risk_details).toBe('posture high: attribution_mismatch in the last 900 s');
    const disabled = served({
      type: 'principal.disabled',
      actor: { id: 'service:provenant-collector', kind: 'service' },
      action: { name: 'principals.disable', resource: 'user:bob' },
      remediation: {
        cause: 'principal_disabled',
        remediates: [{ kind: 'principal', id: 'user:bob' }],
      },
    });
    const d = toOcsfApiActivity(disabled);
    checkApiActivity(d);
    expect(d.unmapped.provenant['remediation']).toEqual(disabled.remediation);
  });
});

describe('the OCSF schema check itself', () => {
  const good = () =>
    toOcsfApiActivity(
      served({
        policy: POLICY,
        delegation: DELEGATION,
        credential: {
          jti: 'j2',
          iss: 'https://issuer.acme.test',
          iat: 1795000000,
          exp: 1795000300,
        },
      }),
    );

  it('passes a mapped event and fails each kind of deviation', () => {
    checkApiActivity(good());
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- edits reach anywhere in the event
    const problems = (change: (e: Record<string, any>) => void) => {
      const e = structuredClone(good()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a free edit of the event
      change(e);
      return apiActivityProblems(e);
    };
    expect(problems((e) => (e['provenant_extra'] = 1))).toEqual([
      'provenant_extra is not an attribute of api_activity',
    ]);
    expect(problems((e) => (e['actor']['app_uid'] = 7))).toEqual([
      'actor.app_uid must be a string',
    ]);
    expect(problems((e) => (e['delegation']['depth'] = 2))).toEqual([
      'delegation.depth is not an attribute of delegation',
    ]);
    expect(problems((e) => delete e['delegation']['uid'])).toEqual([
      'delegation.uid is required in delegation',
    ]);
    expect(problems((e) => (e['delegation']['created_time'] = '2026-01-01'))).toEqual([
      'delegation.created_time must be an integer (timestamp_t)',
    ]);
    expect(problems((e) => (e['ai_agent']['type_id'] = 5))).toEqual([
      'ai_agent.type_id is 5, not one of 0, 1, 2, 3, 4, 99',
    ]);
    expect(problems((e) => (e['status'] = 'Failure'))).toEqual([
      'status must be "Success" for status_id 1',
    ]);
    expect(problems((e) => delete e['api'])).toEqual(['api is required in api_activity']);
    expect(problems((e) => (e['metadata']['profiles'] = ['security_control', 'trace']))).toEqual(
      expect.arrayContaining([
        'ai_agent belongs to the ai_operation profile, not in metadata.profiles',
        'delegation belongs to the ai_operation profile, not in metadata.profiles',
      ]),
    );
    expect(problems((e) => (e['type_uid'] = 600301))).toEqual([
      'type_name must be "API Activity: Create" for type_uid 600301',
      'type_uid must be 600304 (class_uid × 100 + activity_id)',
    ]);
    expect(problems((e) => (e['time'] = 1.5))).toEqual(['time must be an integer (timestamp_t)']);
  });
});

describe('OCSF export of a real collector’s ledger', () => {
  it('exports every record of a delegated, decided action valid against the schema, the chain linked by credentials', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const res = await app.inject({ headers: asAdmin, url: '/v1/export?format=ocsf' });
    expect(res.statusCode).toBe(200);
    const events = res.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as OcsfApiActivity);
    expect(events.length).toBeGreaterThan(8);
    for (const e of events) {
      expect(apiActivityProblems(e), `${e.metadata.event_code} ${e.metadata.uid}`).toEqual([]);
    }
    // The issuer's grants, root first: alice's sign-in, then planner, then researcher.
    const issued = events.filter((e) => e.metadata.event_code === 'credential.issued');
    const granted = events.filter((e) => e.metadata.event_code === 'delegation.granted');
    expect(granted).toHaveLength(2);
    const root = issued.at(-1)!.actor.session!.credential_uid!;
    const [toPlanner, toResearcher] = granted.map((e) => e.delegation!);
    expect(toPlanner!.parent_uid).toBe(root);
    expect(toResearcher!.parent_uid).toBe(toPlanner!.uid);

    const action = events.find((e) => e.metadata.uid === s.actionId)!;
    expect(action.ai_agent).toMatchObject({
      uid: 'spiffe://acme.test/agent/researcher',
      instance_uid: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      name: 'researcher',
    });
    // The action's chain is the grants' own: the same uids, parents and times.
    expect(action.unmapped.provenant['delegation_chain']).toEqual([
      { uid: toPlanner!.uid, parent_uid: root, issuer_uid: toPlanner!.issuer_uid },
      toResearcher,
    ]);
    expect(action.delegation).toEqual(toResearcher);
    expect(action.metadata.profiles).toEqual(['security_control', 'ai_operation', 'trace']);
  });
});

describe('OCSF export of a chain rooted in an ID token', () => {
  const plannerId = `spiffe://${TD}/agent/planner/instance/19c2`;
  const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;

  /** A collector trusting one OIDC provider; alice, planner and researcher registered. */
  async function setUp() {
    const { generateKeyPair, exportJWK, createLocalJWKSet, SignJWT } = await import('jose');
    const idp = await generateKeyPair('ES256');
    const pub = { ...(await exportJWK(idp.publicKey)), kid: 'idp-1', alg: 'ES256' };
    const { app } = await makeIdentityApp({
      trustedIdTokenIssuers: [
        {
          iss: 'https://idp.test',
          jwks: createLocalJWKSet({ keys: [pub] }),
          algorithms: ['ES256'],
          audience: 'provenant-client',
        },
      ],
    });
    const planner = await makeAgent(plannerId);
    const researcher = await makeAgent(researcherId);
    await register(app, { id: 'user:alice', kind: 'human' });
    await register(app, {
      id: plannerId,
      kind: 'agent_instance',
      agent: 'planner',
      publicJwks: [planner.jwk],
    });
    await register(app, {
      id: researcherId,
      kind: 'agent_instance',
      agent: 'researcher',
      publicJwks: [researcher.jwk],
    });
    const now = Math.floor(Date.now() / 1000);
    const idToken = (jti?: string) => {
      const jwt = new SignJWT({ email: 'alice@acme.test' })
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
        .setIssuer('https://idp.test')
        .setSubject('alice')
        .setAudience('provenant-client')
        .setIssuedAt(now)
        .setExpirationTime(now + 300);
      return (jti === undefined ? jwt : jwt.setJti(jti)).sign(idp.privateKey);
    };
    /** The ID token exchanged for planner, then planner's credential for researcher. */
    const chain = async (signed: string) => {
      const toPlanner = await token(app, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: signed,
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        actor_token: await assertion(planner),
        actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        scope: 'repo:read',
      });
      expect(toPlanner.status).toBe(200);
      const toResearcher = await exchange(app, toPlanner.body.access_token!, researcher);
      expect(toResearcher.status).toBe(200);
      return toResearcher.body.access_token!;
    };
    return { app, idToken, chain };
  }

  const claimsOf = (jwt: string) =>
    JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as {
      jti: string;
      iss: string;
      iat: number;
      exp: number;
    };

  async function ingest(app: FastifyInstance, body: Record<string, unknown>, bearer?: string) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: {
        'content-type': 'application/json',
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode, res.body).toBe(200);
  }

  async function exported(app: FastifyInstance): Promise<OcsfApiActivity[]> {
    const res = await app.inject({ headers: asAdmin, url: '/v1/export?format=ocsf' });
    expect(res.statusCode).toBe(200);
    const events = res.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as OcsfApiActivity);
    for (const e of events) {
      expect(apiActivityProblems(e), `${e.metadata.event_code} ${e.metadata.uid}`).toEqual([]);
    }
    return events;
  }

  it('gives every hop a parent, the first the ID token, from the verified credential, never the producer', async () => {
    const { app, idToken, chain } = await setUp();
    const researcherToken = await chain(await idToken('idt-7f3a'));
    const c = claimsOf(researcherToken);
    // The producer claims another root; the collector keeps the credential's own.
    const r = record({
      time: new Date().toISOString(),
      credential: {
        jti: c.jti,
        iss: c.iss,
        iat: c.iat,
        exp: c.exp,
        id_token: { iss: 'https://evil.test', jti: 'forged' },
      },
    });
    await ingest(app, r, researcherToken);
    const stored = (await app.inject({ headers: asAdmin, url: `/v1/events/${r['id']}` })).json();
    expect(stored.credential.id_token).toEqual({ iss: 'https://idp.test', jti: 'idt-7f3a' });

    const events = await exported(app);
    const granted = events.filter((e) => e.metadata.event_code === 'delegation.granted');
    expect(granted).toHaveLength(2);
    const [toPlanner, toResearcher] = granted.map((e) => e.delegation!);
    expect(toPlanner!.parent_uid).toBe('idt-7f3a');
    expect(toResearcher!.parent_uid).toBe(toPlanner!.uid);
    const action = events.find((e) => e.metadata.uid === r['id'])!;
    const hops = action.unmapped.provenant['delegation_chain'] as { parent_uid?: string }[];
    expect(hops).toEqual([
      { uid: toPlanner!.uid, parent_uid: 'idt-7f3a', issuer_uid: toPlanner!.issuer_uid },
      toResearcher,
    ]);
    expect(action.delegation).toEqual(toResearcher);
    expect(JSON.stringify(events)).not.toContain('forged');
  });

  it('names an ID token without a jti by its digest', async () => {
    const { app, idToken, chain } = await setUp();
    const signed = await idToken();
    const researcherToken = await chain(signed);
    const r = record({ time: new Date().toISOString() });
    await ingest(app, r, researcherToken);
    const digest = createHash('sha256').update(signed, 'utf8').digest('hex');
    const action = (await exported(app)).find((e) => e.metadata.uid === r['id'])!;
    const hops = action.unmapped.provenant['delegation_chain'] as { parent_uid?: string }[];
    expect(hops).toHaveLength(2);
    expect(hops[0]!.parent_uid).toBe(`id_token:${digest}`);
    expect(hops[1]!.parent_uid).toBe(hops[0]!.uid);
  });

  it("drops a producer's id_token on a chain rooted in a Provenant credential, and ignores it unverified", async () => {
    const { app } = await makeIdentityApp();
    const { researcherToken } = await aliceScenario(app);
    const c = claimsOf(researcherToken);
    const forged = { iss: 'https://evil.test', jti: 'forged' };
    const r = record({
      time: new Date().toISOString(),
      credential: { jti: c.jti, iss: c.iss, iat: c.iat, exp: c.exp, id_token: forged },
    });
    await ingest(app, r, researcherToken);
    const stored = (await app.inject({ headers: asAdmin, url: `/v1/events/${r['id']}` })).json();
    expect(stored.credential).not.toHaveProperty('id_token');
    // With no credential at all the record is only asserted: no delegation object is made of it.
    const asserted = record({
      time: new Date().toISOString(),
      delegation: DELEGATION,
      credential: { jti: 'j2', iss: c.iss, iat: c.iat, exp: c.exp, id_token: forged },
      action: { name: 'github.get_repo', resource: 'repo:acme/payments', risk: 'low' },
    });
    await ingest(app, asserted);
    const events = await exported(app);
    const action = events.find((e) => e.metadata.uid === r['id'])!;
    const hops = action.unmapped.provenant['delegation_chain'] as { parent_uid?: string }[];
    expect(hops).toHaveLength(2);
    expect(hops[0]!.parent_uid).toBe(
      events.find((e) => e.metadata.event_code === 'credential.issued')!.actor.session!
        .credential_uid,
    );
    const unverified = events.find((e) => e.metadata.uid === asserted['id'])!;
    expect(unverified.delegation).toBeUndefined();
    expect(unverified.unmapped.provenant).not.toHaveProperty('delegation_chain');
  });
});
