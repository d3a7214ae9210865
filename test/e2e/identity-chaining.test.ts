// Identity across trust domains with two real collector processes: domain A
// (`serve --chain-audience B`) issues a JWT authorization grant for domain B by token exchange
// (draft-ietf-oauth-identity-chaining-17 §2.3); domain B (`serve --chain-trust A=<A's JWKS URL>`)
// accepts it through the JWT bearer grant (§2.4), and also an enterprise IdP's ID-JAG
// (`--id-jag-issuer`, draft-ietf-oauth-identity-assertion-authz-grant-04). Both ledgers keep
// their hop; every grant is accepted once, also after B restarts.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeJwt, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventRecord, type EventRecord } from '@provenant/core';
import { freePort } from '../../packages/server/test/signin-fixture.js';
import { makeIdentity } from '../support/collector.js';
import { startCollectorProcess, stopChildren, type CollectorProcess } from './process.js';

const IDP = 'https://idp.acme.example';
const PLANNER = 'spiffe://acme.test/agent/planner/instance/19c2';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

let tmp: string;
let a: CollectorProcess;
let b: CollectorProcess;
let bArgs: string[];
let A: string;
let B: string;
let planner: { principal: string; jwk: JWK };
const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' });

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'provenant-chaining-'));
  const [portA, portB] = [await freePort(), await freePort()];
  A = `http://127.0.0.1:${portA}`;
  B = `http://127.0.0.1:${portB}`;
  const jwks = join(tmp, 'idp-jwks.json');
  const pub = idp.publicKey.export({ format: 'jwk' });
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...pub, kid: 'idp-1', alg: 'ES256' }] }));
  bArgs = [
    '--port',
    String(portB),
    '--chain-trust',
    `${A}=${A}/.well-known/jwks.json`,
    '--id-jag-issuer',
    `${IDP}=${jwks}`,
  ];
  [a, b] = await Promise.all([
    startCollectorProcess(join(tmp, 'a'), [
      '--port',
      String(portA),
      '--dev-login',
      '--chain-audience',
      B,
    ]),
    startCollectorProcess(join(tmp, 'b'), bArgs),
  ]);
  expect(b.stdout()).toContain(`chain trust (domain B for): ${A}`);
  expect(a.stdout()).toContain(`chain grants (domain A) for: ${B}`);
  const made = await makeIdentity(PLANNER);
  planner = made.identity;
  const agent = {
    kind: 'agent_instance',
    id: PLANNER,
    agent: 'planner',
    publicJwks: [made.publicJwk],
  };
  // The planner is a registered client in both domains (its own key in each registry).
  await register(a, agent);
  await register(b, agent);
  await register(a, { kind: 'human', id: 'user:alice', scopes: ['repo:read', 'repo:write'] });
  // B has an alice of its own (the IdP's alice): A's alice must never become her.
  await register(b, { kind: 'human', id: 'user:alice', scopes: ['repo:read'] });
  // What A's alice may do in B is B's decision: her scope ceiling here.
  await register(b, { kind: 'human', id: `${A}#user:alice`, scopes: ['repo:read'] });
}, 120_000);

afterAll(async () => {
  await stopChildren([a?.child, b?.child].filter((c) => c !== undefined));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function register(c: CollectorProcess, principal: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${c.url}/v1/principals`, {
    method: 'POST',
    headers: { ...c.admin, 'content-type': 'application/json' },
    body: JSON.stringify({ shared: false, disabled: false, ...principal }),
  });
  expect(res.status, await res.text()).toBe(201);
}

/** The planner's RFC 7523 client assertion for the token endpoint of `as`. */
async function clientAssertion(as: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: PLANNER,
    sub: PLANNER,
    aud: `${as}/v1/token`,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: planner.jwk.kid! })
    .sign(await importJWK(planner.jwk, 'EdDSA'));
}

async function token(as: string, form: Record<string, string>) {
  const res = await fetch(`${as}/v1/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** At B: the JWT bearer grant with the planner's own client authentication. */
async function presentAtB(grant: string) {
  return token(B, {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: grant,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await clientAssertion(B),
  });
}

/** At A: alice signs in, delegates to the planner, and the planner asks for a grant to B. */
async function grantFromA(extra: Record<string, string> = {}) {
  const alice = await token(A, {
    grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
    username: 'alice',
    scope: 'repo:read repo:write',
  });
  const delegated = await token(A, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: String(alice.body['access_token']),
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    actor_token: await clientAssertion(A),
    actor_token_type: JWT_TYPE,
  });
  expect(delegated.status, JSON.stringify(delegated.body)).toBe(200);
  return token(A, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    requested_token_type: JWT_TYPE,
    audience: B,
    scope: 'repo:read',
    subject_token: String(delegated.body['access_token']),
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    actor_token: await clientAssertion(A),
    actor_token_type: JWT_TYPE,
    ...extra,
  });
}

async function records(c: CollectorProcess, type: string): Promise<EventRecord[]> {
  const res = await fetch(`${c.url}/v1/events?${new URLSearchParams({ type, limit: '1000' })}`, {
    headers: c.admin,
  });
  const body = (await res.json()) as { events: unknown[] };
  return body.events.map((e) => {
    const parsed = parseEventRecord(e);
    if (!parsed.ok) throw new Error(`stored record does not parse: ${parsed.message}`);
    return parsed.record;
  });
}

function idJag(over: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: IDP,
    sub: 'alice',
    aud: B,
    client_id: PLANNER,
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    scope: 'repo:read',
    ...over,
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'oauth-id-jag+jwt' })
    .sign(idp.privateKey);
}

describe('identity chaining between two collector processes', () => {
  let grant: string;
  let idJagGrant: string;

  it('domain A issues a JWT authorization grant for B, witnessed in its ledger', async () => {
    const issued = await grantFromA();
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body).toMatchObject({ issued_token_type: JWT_TYPE, token_type: 'N_A' });
    grant = String(issued.body['access_token']);
    const claims = decodeJwt(grant);
    expect(claims).toMatchObject({ iss: A, sub: 'user:alice', aud: B, act: { sub: PLANNER } });
    const witnessed = (await records(a, 'credential.issued')).find(
      (r) => r.credential?.jti === claims.jti,
    );
    expect(witnessed?.credential).toMatchObject({
      iss: A,
      grant: 'chain_grant',
      aud: [B],
      sub: 'user:alice',
      scope: ['repo:read'],
    });
    const metadata = (await (
      await fetch(`${A}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata['identity_chaining_requested_token_types_supported']).toEqual([JWT_TYPE]);
  });

  it("domain B accepts it once, keeping A's iss, the grant's jti, its own aud and A's subject", async () => {
    const accepted = await presentAtB(grant);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    const credential = decodeJwt(String(accepted.body['access_token']));
    expect(credential).toMatchObject({
      iss: B,
      sub: `${A}#user:alice`,
      act: { sub: PLANNER },
      scope: 'repo:read',
    });
    const witness = (await records(b, 'delegation.granted')).find(
      (r) => r.credential?.jti === credential.jti,
    );
    expect(witness?.initiator.id).toBe(`${A}#user:alice`);
    expect(witness?.credential).toMatchObject({
      grant: 'jwt_bearer',
      jwt_grant: {
        profile: 'identity_chaining',
        iss: A,
        jti: decodeJwt(grant).jti,
        aud: B,
        sub: 'user:alice',
        act: [PLANNER],
        scope: ['repo:read'],
      },
    });
    // The credential works in B: a record under it is verified, with A's human as initiator.
    const res = await fetch(`${B}/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${String(accepted.body['access_token'])}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        schema: 'provenant.event/v1',
        id: randomUUID(),
        time: new Date().toISOString(),
        type: 'tool.called',
        initiator: { id: `${A}#user:alice`, kind: 'human' },
        actor: { id: PLANNER, kind: 'agent_instance' },
        action: { name: 'github.get_file', resource: 'repo:acme/payments' },
      }),
    });
    const ingested = (await res.json()) as {
      accepted: { id: string; attribution: { level: string } }[];
    };
    expect(res.status, JSON.stringify(ingested)).toBe(200);
    expect(ingested.accepted[0]?.attribution.level).toBe('verified');
    // Its provenance in B starts at A's grant: both hops, and A's subject as A named it.
    const provenance = (await (
      await fetch(`${B}/v1/events/${ingested.accepted[0]!.id}/provenance`, { headers: b.admin })
    ).json()) as { narrative: string[]; checks: { id: string; ok: boolean; detail: string }[] };
    expect(provenance.narrative).toContain(
      `on the grant ${String(decodeJwt(grant).jti)} of ${A} for ${B}, whose subject there is user:alice (acting: planner/19c2)`,
    );
    const first = provenance.checks.find((c) => c.id === 'initiator_credential');
    expect(first?.ok, first?.detail).toBe(true);

    const again = await presentAtB(grant);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'invalid_grant', provenant_code: 'grant_replayed' });
  });

  it("domain B accepts an enterprise IdP's ID-JAG as the human's first credential, once", async () => {
    idJagGrant = await idJag();
    const accepted = await presentAtB(idJagGrant);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    const credential = decodeJwt(String(accepted.body['access_token']));
    expect(credential).toMatchObject({ sub: 'user:alice', act: { sub: PLANNER } });
    const witness = (await records(b, 'delegation.granted')).find(
      (r) => r.credential?.jti === credential.jti,
    );
    expect(witness?.credential?.jwt_grant).toMatchObject({
      profile: 'id_jag',
      iss: IDP,
      aud: B,
      sub: 'alice',
      client_id: PLANNER,
    });
    expect((await presentAtB(idJagGrant)).body).toMatchObject({
      error: 'invalid_grant',
      provenant_code: 'grant_replayed',
    });
  });

  it('refuses each attack on the wire with its RFC 6749 error', async () => {
    const refused = async (g: Promise<string> | string) => (await presentAtB(await g)).body;
    expect(await refused(idJag({ aud: A }))).toMatchObject({
      error: 'invalid_grant',
      provenant_code: 'wrong_audience',
    });
    expect(
      await refused(idJag({ client_id: 'spiffe://acme.test/agent/other/instance/1' })),
    ).toMatchObject({
      error: 'invalid_grant',
      provenant_code: 'client_mismatch',
    });
    expect(await refused(idJag({ aud_sub: 'mallory' }))).toMatchObject({
      error: 'invalid_grant',
      provenant_code: 'subject_transcribed',
    });
    const now = Math.floor(Date.now() / 1000);
    expect(await refused(idJag({ iat: now - 900, exp: now - 600 }))).toMatchObject({
      error: 'invalid_grant',
      provenant_code: 'expired',
    });
    // A's grant for B presented without the client authenticating.
    const fresh = String((await grantFromA()).body['access_token']);
    const unauthenticated = await token(B, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: fresh,
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body['error']).toBe('invalid_client');
    // Domain A issues nothing for a domain it does not know.
    expect((await grantFromA({ audience: 'https://unknown.example' })).body).toMatchObject({
      error: 'invalid_target',
      provenant_code: 'chain_audience_unknown',
    });
  });

  it('still refuses both grants after domain B restarts (the jti store is durable)', async () => {
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    b = await startCollectorProcess(join(tmp, 'b'), bArgs);
    for (const g of [grant, idJagGrant]) {
      expect((await presentAtB(g)).body).toMatchObject({
        error: 'invalid_grant',
        provenant_code: 'grant_replayed',
      });
    }
    // A new grant still passes: the store refuses replays, not the trust.
    const fresh = String((await grantFromA()).body['access_token']);
    expect((await presentAtB(fresh)).status).toBe(200);
  });
});
