import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, type JWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { jwksSource } from '@provenant/identity';
import { CedarEngine, readPolicyFolder } from '@provenant/policy';
import { DEFAULT_LIMITS, buildApp } from '../src/index.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { DEFAULT_AUDIT_RULES, PolicyService } from '../src/policy/service.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import { asAdmin, record } from './helpers.js';
import { ADMIN, assertion, aliceScenario, makeIdentityApp, token } from './identity-helpers.js';

const TRUST_DOMAIN = 'acme.example';
const EXTERNAL_TTS = 'https://tts.acme.example';
const EXAMPLES = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'txn-token-'));

/** A collector that is the TTS of acme.example and trusts one other TTS (a JWKS file). */
async function txnApp() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'ext-1' };
  const file = join(dir, `tts-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ keys: [jwk] }));
  const source = jwksSource(file);
  const made = await makeIdentityApp({
    txnTokens: {
      trustDomain: TRUST_DOMAIN,
      services: [{ iss: EXTERNAL_TTS, keys: source.getKey, has: source.has }],
    },
  });
  const policy = await PolicyService.open(new CedarEngine(), new MemoryPolicyStore(), {
    auditRules: DEFAULT_AUDIT_RULES,
    hmacKey: new Uint8Array(32).fill(7),
  });
  await policy.load(readPolicyFolder(EXAMPLES));
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
  const external = (over: Record<string, unknown> = {}, typ = 'txntoken+jwt') => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: EXTERNAL_TTS,
      iat: now,
      aud: TRUST_DOMAIN,
      exp: now + 60,
      txn: 'c0ffee00-771d-49cc-a4e3-20aad399c312',
      sub: 'user:alice',
      scope: 'repo.read',
      req_wl: 'spiffe://acme.example/gateway',
      tctx: { repo: 'acme/site' },
      ...over,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'ext-1', typ })
      .sign(privateKey);
  };
  return { app, external };
}

function post(app: FastifyInstance, body: unknown, headers: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

async function stored(app: FastifyInstance, id: string) {
  return (await app.inject({ headers: asAdmin, url: `/v1/events/${id}` })).json();
}

const act = () =>
  record({
    time: new Date().toISOString(),
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: 'spiffe://acme.test/agent/researcher/instance/7f3a', kind: 'agent_instance' },
  });

/** A Txn-Token of this collector for the researcher's credential. */
async function ownTxnToken(app: FastifyInstance) {
  const s = await aliceScenario(app);
  const res = await token(app, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    requested_token_type: 'urn:ietf:params:oauth:token-type:txn_token',
    audience: TRUST_DOMAIN,
    scope: 'repo:read',
    subject_token: s.researcherToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion(s.researcher),
    request_details: JSON.stringify({ repo: 'acme/site' }),
  });
  return { ...s, res };
}

describe('the collector as a Txn-Token Service', () => {
  it('answers a Txn-Token Request with token_type N_A and records its txn and digests only', async () => {
    const { app } = await txnApp();
    const { res, researcher } = await ownTxnToken(app);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:txn_token',
      token_type: 'N_A',
    });
    expect(res.body).not.toHaveProperty('refresh_token');
    const txnToken = res.body.access_token!;
    const events = (
      await app.inject({ headers: asAdmin, url: '/v1/events?type=credential.issued&limit=100' })
    ).json().events as Record<string, never>[];
    const witness = events.find(
      (e) => (e['credential'] as { grant?: string }).grant === 'txn_token',
    ) as unknown as Record<string, Record<string, unknown>>;
    expect(witness.correlation).toMatchObject({
      txn_token: { req_wl: researcher.id, sub: 'user:alice' },
    });
    expect(JSON.stringify(events)).not.toContain(txnToken);
  });
});

describe('the Txn-Token header at ingest and decisions', () => {
  it('records the txn of its own Txn-Token beside the trace, and never the token', async () => {
    const { app } = await txnApp();
    const { res, researcherToken } = await ownTxnToken(app);
    const txnToken = res.body.access_token!;
    const r = act();
    const sent = await post(app, r, {
      authorization: `Bearer ${researcherToken}`,
      'txn-token': txnToken,
    });
    expect(sent.statusCode, sent.body).toBe(200);
    const kept = await stored(app, r['id'] as string);
    const body = JSON.parse(Buffer.from(txnToken.split('.')[1]!, 'base64url').toString());
    expect(kept.correlation.txn).toBe(body.txn);
    expect(kept.correlation.txn_token.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(kept.correlation.txn_token.tctx_digest).toMatch(/^sha256:/);
    expect(JSON.stringify(kept)).not.toContain(txnToken);
  });

  it("accepts a configured external TTS's token and drops a correlation the sender wrote", async () => {
    const { app, external } = await txnApp();
    const { researcherToken } = await aliceScenario(app);
    const auth = { authorization: `Bearer ${researcherToken}` };
    const r = { ...act(), correlation: { txn: 'forged' } };
    const sent = await post(app, r, { ...auth, 'txn-token': await external() });
    expect(sent.statusCode, sent.body).toBe(200);
    expect((await stored(app, r['id'] as string)).correlation.txn).toBe(
      'c0ffee00-771d-49cc-a4e3-20aad399c312',
    );
    const bare = { ...act(), correlation: { txn: 'forged' } };
    expect((await post(app, bare, auth)).statusCode).toBe(200);
    expect((await stored(app, bare['id'] as string)).correlation).toBeUndefined();
  });

  const attacks: [
    string,
    (e: Awaited<ReturnType<typeof txnApp>>['external']) => Promise<string>,
    string,
  ][] = [
    ['a wrong typ', (e) => e({}, 'JWT'), 'wrong_typ'],
    ['another trust domain', (e) => e({ aud: 'other.example' }), 'wrong_audience'],
    ['an expired token', (e) => e({ exp: Math.floor(Date.now() / 1000) - 120 }), 'expired'],
    ['an unconfigured TTS', (e) => e({ iss: 'https://evil.example' }), 'wrong_issuer'],
  ];
  for (const [name, make, code] of attacks) {
    it(`refuses the whole request for ${name} (${code}), storing nothing`, async () => {
      const { app, external } = await txnApp();
      const r = act();
      const sent = await post(app, r, { 'txn-token': await make(external) });
      expect([sent.statusCode, sent.json().error.code]).toEqual([401, code]);
      expect(
        (await app.inject({ headers: asAdmin, url: `/v1/events/${r['id']}` })).statusCode,
      ).toBe(404);
    });
  }

  it('refuses a Txn-Token presented in Authorization (txn_token_misplaced)', async () => {
    const { app, external } = await txnApp();
    const sent = await post(app, act(), { authorization: `Bearer ${await external()}` });
    expect([sent.statusCode, sent.json().error.code]).toEqual([401, 'txn_token_misplaced']);
    const own = (await ownTxnToken(app)).res.body.access_token!;
    const again = await post(app, act(), { authorization: `Bearer ${own}` });
    expect(again.json().error.code).toBe('txn_token_misplaced');
  });

  it('refuses two Txn-Tokens in one header', async () => {
    const { app, external } = await txnApp();
    const t = await external();
    const sent = await post(app, act(), { 'txn-token': `${t}, ${t}` });
    expect([sent.statusCode, sent.json().error.code]).toEqual([401, 'malformed_token']);
  });

  it('keeps the txn in the policy.decision record of an AuthZEN evaluation asked with it', async () => {
    const { app, external } = await txnApp();
    const { researcherToken } = await aliceScenario(app);
    const evaluate = async (txnToken: string) =>
      app.inject({
        method: 'POST',
        url: '/access/v1/evaluation',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${researcherToken}`,
          'txn-token': txnToken,
        },
        payload: JSON.stringify({
          subject: { type: 'identity', id: 'user:alice' },
          action: { name: 'github.get_file' },
          resource: { type: 'repo', id: 'acme/site' },
        }),
      });
    const res = await evaluate(await external());
    expect(res.statusCode, res.body).toBe(200);
    const decisions = (
      await app.inject({ headers: asAdmin, url: '/v1/events?type=policy.decision&limit=10' })
    ).json().events as { correlation?: { txn: string } }[];
    expect(decisions.at(-1)!.correlation?.txn).toBe('c0ffee00-771d-49cc-a4e3-20aad399c312');
    // A bad one refuses the evaluation before any decision.
    const bad = await evaluate(await external({}, 'JWT'));
    expect([bad.statusCode, bad.headers['provenant-error-code']]).toEqual([401, 'wrong_typ']);
    const after = (
      await app.inject({ headers: asAdmin, url: '/v1/events?type=policy.decision&limit=10' })
    ).json().events as unknown[];
    expect(after).toHaveLength(decisions.length);
  });

  it('keeps the txn in the policy.decision record of a decision asked with it', async () => {
    const { app, external } = await txnApp();
    const { researcherToken } = await aliceScenario(app);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${researcherToken}`,
        'txn-token': await external(),
      },
      payload: JSON.stringify({ action: { name: 'github.read_file', resource: 'repo:acme/site' } }),
    });
    expect(res.statusCode, res.body).toBe(200);
    const decisions = (
      await app.inject({ headers: asAdmin, url: '/v1/events?type=policy.decision&limit=10' })
    ).json().events as { correlation?: { txn: string } }[];
    expect(decisions.at(-1)!.correlation?.txn).toBe('c0ffee00-771d-49cc-a4e3-20aad399c312');
  });
});
