/**
 * JWT authorization grants from other trust domains, with real signatures: an enterprise IdP's
 * ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant-04) and identity chaining
 * (draft-ietf-oauth-identity-chaining-17 §2.3, §2.4) between two issuers, domain A and B.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { OAuthError, type TrustedIssuer } from '../src/index.js';
import {
  ALICE,
  ISS,
  PLANNER,
  RESEARCHER,
  assertion,
  registerWorkload,
  rejection,
  world,
  type World,
} from './helpers.js';

const IDP = 'https://idp.acme.example';
const B = 'https://provenant.b.example';
const B_TOKEN = `${B}/v1/token`;
const C = 'https://provenant.c.example';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

async function oauth(promise: Promise<unknown>) {
  const e = await rejection(promise);
  expect(e).toBeInstanceOf(OAuthError);
  return { error: e.code, code: e.details?.['code'] };
}

/** An enterprise IdP with its own ES256 key, trusted by B for ID-JAGs. */
function enterpriseIdp(iss = IDP) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'idp-1', alg: 'ES256' };
  const trusted: TrustedIssuer = {
    iss,
    jwks: createLocalJWKSet({ keys: [jwk] }),
    algorithms: ['ES256'],
  };
  return { trusted, privateKey };
}

let jtis = 0;

/** Signs an ID-JAG; `over` changes claims (undefined removes one), `header` the header. */
function idJag(
  key: KeyObject,
  now: number,
  over: Record<string, unknown> = {},
  header: Record<string, unknown> = { typ: 'oauth-id-jag+jwt' },
): Promise<string> {
  const claims: Record<string, unknown> = {
    iss: IDP,
    sub: 'alice',
    aud: B,
    client_id: PLANNER,
    jti: `jag-${++jtis}`,
    iat: now,
    exp: now + 300,
    scope: 'repo:read repo:write',
    ...over,
  };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', ...header })
    .sign(key);
}

/** Trust in domain A's issuer keys, as `--chain-trust A=<A's JWKS>` gives it. */
function trustOf(a: World): TrustedIssuer {
  return {
    iss: ISS,
    jwks: createLocalJWKSet(a.keys.jwks(a.clock.ms, 3600)),
    algorithms: ['EdDSA', 'ES256'],
  };
}

/** Domain B: another issuer (its own keys), trusting the IdP's ID-JAGs and `chain` domains. */
function domainB(opts: { idp?: TrustedIssuer; chain?: TrustedIssuer[]; iss?: string } = {}) {
  const iss = opts.iss ?? B;
  return world({
    issuer: {
      issuer: iss,
      tokenEndpoint: `${iss}/v1/token`,
      ...(opts.idp === undefined ? {} : { idJagIssuers: [opts.idp] }),
      ...(opts.chain === undefined ? {} : { chainIssuers: opts.chain }),
      defaultScopeCeiling: ['repo:read', 'repo:write'],
    },
  });
}

/** The client's assertion at B's token endpoint. */
const clientAt = (b: World, id = PLANNER, iss = B) =>
  assertion(b.clients[id]!, b.clock, { aud: `${iss}/v1/token` });

describe('an ID-JAG through the JWT bearer grant', () => {
  it("signs the human in as the client's first credential, keeping the grant in the witness", async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    const grant = await idJag(idp.privateKey, b.clock.sec, { act: { sub: 'agent-at-idp' } });
    const issued = await b.issuer.jwtBearer({
      assertion: grant,
      clientAssertion: await clientAt(b),
      scope: ['repo:read'],
    });
    // alice is a registered human here: the IdP's subject maps as its ID tokens' do.
    expect(issued.claims).toMatchObject({
      iss: B,
      sub: ALICE,
      act: { sub: PLANNER },
      scope: 'repo:read',
    });
    expect(issued.claims.ancestors).toBeUndefined();
    expect(issued.witness).toMatchObject({
      type: 'delegation.granted',
      grant: 'id_jag',
      from: ALICE,
      to: PLANNER,
      jwtGrant: {
        profile: 'id_jag',
        iss: IDP,
        jti: decodeJwt(grant).jti,
        aud: B,
        sub: 'alice',
        clientId: PLANNER,
        act: ['agent-at-idp'],
        scope: ['repo:read', 'repo:write'],
      },
    });
    expect(JSON.stringify(issued.witness)).not.toContain(grant);
    // The result is a credential of B like any other: it verifies and can be exchanged on.
    expect((await b.verifier.verify(issued.token)).chain).toEqual([ALICE, PLANNER]);
    const onward = await b.issuer.exchange({
      subjectToken: issued.token,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      actorToken: await clientAt(b, RESEARCHER),
      actorTokenType: JWT_TYPE,
    });
    expect(onward.claims).toMatchObject({
      sub: ALICE,
      act: { sub: RESEARCHER, act: { sub: PLANNER } },
    });
  });

  it('refuses an ID-JAG without its typ, or with another', async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    for (const header of [{}, { typ: 'JWT' }, { typ: 'at+jwt' }, { typ: 'id-jag+jwt' }]) {
      const grant = await idJag(idp.privateKey, b.clock.sec, {}, header);
      expect(
        await oauth(b.issuer.jwtBearer({ assertion: grant, clientAssertion: await clientAt(b) })),
      ).toEqual({ error: 'invalid_grant', code: 'wrong_typ' });
    }
    // RFC 7515: the media type may be written with its "application/" prefix, in any case.
    const prefixed = await idJag(
      idp.privateKey,
      b.clock.sec,
      {},
      { typ: 'application/OAuth-ID-JAG+JWT' },
    );
    await b.issuer.jwtBearer({ assertion: prefixed, clientAssertion: await clientAt(b) });
  });

  it('refuses an ID-JAG for another authorization server, or for more than this one', async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    for (const aud of ['https://other.example', [B, 'https://other.example'], B_TOKEN, `${B}/`]) {
      const grant = await idJag(idp.privateKey, b.clock.sec, { aud });
      expect(
        await oauth(b.issuer.jwtBearer({ assertion: grant, clientAssertion: await clientAt(b) })),
      ).toEqual({ error: 'invalid_grant', code: 'wrong_audience' });
    }
    const single = await idJag(idp.privateKey, b.clock.sec, { aud: [B] });
    await b.issuer.jwtBearer({ assertion: single, clientAssertion: await clientAt(b) });
  });

  it('refuses an ID-JAG of an unknown issuer, or one signed with a key its issuer does not publish', async () => {
    const idp = enterpriseIdp();
    const stranger = enterpriseIdp('https://evil.example');
    const b = domainB({ idp: idp.trusted });
    const foreign = await idJag(stranger.privateKey, b.clock.sec, { iss: 'https://evil.example' });
    expect(
      await oauth(b.issuer.jwtBearer({ assertion: foreign, clientAssertion: await clientAt(b) })),
    ).toEqual({ error: 'invalid_grant', code: 'wrong_issuer' });
    const forged = await idJag(stranger.privateKey, b.clock.sec); // iss: the trusted IdP
    expect(
      await oauth(b.issuer.jwtBearer({ assertion: forged, clientAssertion: await clientAt(b) })),
    ).toEqual({ error: 'invalid_grant', code: 'bad_signature' });
  });

  it('accepts each ID-JAG once, whoever presents it again', async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    const grant = await idJag(idp.privateKey, b.clock.sec);
    await b.issuer.jwtBearer({ assertion: grant, clientAssertion: await clientAt(b) });
    expect(
      await oauth(b.issuer.jwtBearer({ assertion: grant, clientAssertion: await clientAt(b) })),
    ).toEqual({ error: 'invalid_grant', code: 'grant_replayed' });
    b.clock.advance(120); // still alive: still spent
    expect(
      await oauth(b.issuer.jwtBearer({ assertion: grant, clientAssertion: await clientAt(b) })),
    ).toEqual({ error: 'invalid_grant', code: 'grant_replayed' });
  });

  it('refuses an expired ID-JAG, or one issued in the future', async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    const now = b.clock.sec;
    const expired = await idJag(idp.privateKey, now, { iat: now - 600, exp: now - 60 });
    expect(
      await oauth(b.issuer.jwtBearer({ assertion: expired, clientAssertion: await clientAt(b) })),
    ).toEqual({ error: 'invalid_grant', code: 'expired' });
    const future = await idJag(idp.privateKey, now, { iat: now + 600, exp: now + 900 });
    expect(
      await oauth(b.issuer.jwtBearer({ assertion: future, clientAssertion: await clientAt(b) })),
    ).toEqual({ error: 'invalid_grant', code: 'not_yet_valid' });
  });

  it('refuses an ID-JAG without client_id, or presented by another client than it names', async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    for (const claim of ['client_id', 'jti', 'sub', 'iat', 'exp']) {
      const grant = await idJag(idp.privateKey, b.clock.sec, { [claim]: undefined });
      expect(
        await oauth(b.issuer.jwtBearer({ assertion: grant, clientAssertion: await clientAt(b) })),
      ).toEqual({ error: 'invalid_grant', code: 'missing_claim' });
    }
    const forPlanner = await idJag(idp.privateKey, b.clock.sec);
    expect(
      await oauth(
        b.issuer.jwtBearer({
          assertion: forPlanner,
          clientAssertion: await clientAt(b, RESEARCHER),
        }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'client_mismatch' });
    // The client itself must authenticate: a bad assertion is the client's failure, not the grant's.
    const fresh = await idJag(idp.privateKey, b.clock.sec);
    const wrongAud = await assertion(b.clients[PLANNER]!, b.clock); // for domain A's endpoint
    expect(
      (await oauth(b.issuer.jwtBearer({ assertion: fresh, clientAssertion: wrongAud }))).error,
    ).toBe('invalid_client');
  });

  it('refuses a transcription of the subject into another principal (aud_sub)', async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    b.directory.put({ id: 'user:mallory', kind: 'human', shared: false, disabled: false });
    const grant = await idJag(idp.privateKey, b.clock.sec, { aud_sub: 'mallory' });
    expect(
      await oauth(b.issuer.jwtBearer({ assertion: grant, clientAssertion: await clientAt(b) })),
    ).toEqual({ error: 'invalid_grant', code: 'subject_transcribed' });
    // aud_sub naming the same principal is no transcription at all.
    const same = await idJag(idp.privateKey, b.clock.sec, { aud_sub: 'alice' });
    const issued = await b.issuer.jwtBearer({
      assertion: same,
      clientAssertion: await clientAt(b),
    });
    expect(issued.claims.sub).toBe(ALICE);
  });

  it('keeps scopes within the grant and the ceiling, and names an unregistered human iss#sub', async () => {
    const idp = enterpriseIdp();
    const b = domainB({ idp: idp.trusted });
    const grant = await idJag(idp.privateKey, b.clock.sec, {
      sub: 'U019488227',
      scope: 'repo:read admin:all',
    });
    const issued = await b.issuer.jwtBearer({
      assertion: grant,
      clientAssertion: await clientAt(b),
    });
    expect(issued.claims).toMatchObject({ sub: `${IDP}#U019488227`, scope: 'repo:read' });
    const wider = await idJag(idp.privateKey, b.clock.sec, { scope: 'repo:read' });
    expect(
      await oauth(
        b.issuer.jwtBearer({
          assertion: wider,
          clientAssertion: await clientAt(b),
          scope: ['repo:write'],
        }),
      ),
    ).toEqual({ error: 'invalid_scope', code: 'invalid_scope' });
  });
});

describe('identity chaining across domains', () => {
  /** Domain A (the default world) issuing grants for B and C; B trusts A; C trusts nobody. */
  function domains() {
    const a = world({ issuer: { chainAudiences: [B, C] } });
    const b = domainB({ chain: [trustOf(a)] });
    // The planner is registered in B too (its own registration there, the same key for short).
    const planner = a.clients[PLANNER]!;
    b.clients[PLANNER] = planner;
    registerWorkload(b.directory, planner, { kind: 'agent_instance' });
    return { a, b };
  }

  /** A: alice → planner, then the planner asks A for a grant to B. */
  async function chained(a: World, audience: string, over: { scope?: string[] } = {}) {
    const alice = await a.alice(['repo:read', 'repo:write']);
    const planner = await a.delegate(alice, PLANNER);
    const issued = await a.issuer.chainGrant({
      subjectToken: planner.token,
      actorToken: await assertion(a.clients[PLANNER]!, a.clock),
      audience,
      ...over,
    });
    return { planner, issued };
  }

  it('domain A issues a grant for B alone; domain B accepts it, keeping both hops and the original subject', async () => {
    const { a, b } = domains();
    const { planner, issued } = await chained(a, B, { scope: ['repo:read'] });
    expect(decodeProtectedHeader(issued.grant).typ).toBe('JWT');
    const claims = decodeJwt(issued.grant);
    expect(claims).toMatchObject({
      iss: ISS,
      sub: ALICE,
      aud: B,
      scope: 'repo:read',
      act: { sub: PLANNER },
    });
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(issued.witness).toMatchObject({
      type: 'credential.issued',
      grant: 'chain_grant',
      jti: claims.jti,
      parentJti: planner.claims.jti,
      sub: ALICE,
      actor: PLANNER,
      audience: [B],
      scope: ['repo:read'],
    });
    // Nobody in A takes the grant for a credential: its typ is not at+jwt.
    expect((await rejection(a.verifier.verify(issued.grant))).code).toBe('wrong_typ');

    const inB = await b.issuer.jwtBearer({
      assertion: issued.grant,
      clientAssertion: await clientAt(b),
    });
    expect(inB.claims).toMatchObject({
      iss: B,
      sub: `${ISS}#${ALICE}`,
      act: { sub: PLANNER },
      scope: 'repo:read',
    });
    expect(inB.witness).toMatchObject({
      type: 'delegation.granted',
      grant: 'jwt_bearer',
      from: `${ISS}#${ALICE}`,
      to: PLANNER,
      jwtGrant: {
        profile: 'identity_chaining',
        iss: ISS,
        jti: claims.jti,
        aud: B,
        sub: ALICE,
        act: [PLANNER],
        scope: ['repo:read'],
      },
    });
  });

  it("never transcribes domain A's subject into B's principal of the same name", async () => {
    const { a, b } = domains();
    // B has its own alice: A's alice must not become her.
    expect(b.directory.get(ALICE)?.kind).toBe('human');
    const { issued } = await chained(a, B);
    const inB = await b.issuer.jwtBearer({
      assertion: issued.grant,
      clientAssertion: await clientAt(b),
    });
    expect(inB.claims.sub).toBe(`${ISS}#${ALICE}`);
    expect(inB.claims.sub).not.toBe(ALICE);
    // A grant whose claims would carry the subject over to B's alice is refused.
    const now = a.clock.sec;
    const key = a.keys.current();
    const transcribed = await new SignJWT({
      iss: ISS,
      sub: ALICE,
      aud: B,
      jti: 'transcribed-1',
      iat: now,
      exp: now + 60,
      aud_sub: 'alice',
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
    expect(
      await oauth(
        b.issuer.jwtBearer({ assertion: transcribed, clientAssertion: await clientAt(b) }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'subject_transcribed' });
  });

  it('refuses a grant from A at a domain that does not trust A', async () => {
    const { a } = domains();
    const c = domainB({ iss: C });
    const planner = a.clients[PLANNER]!;
    c.clients[PLANNER] = planner;
    registerWorkload(c.directory, planner, { kind: 'agent_instance' });
    const { issued } = await chained(a, C);
    expect(decodeJwt(issued.grant).aud).toBe(C);
    expect(
      await oauth(
        c.issuer.jwtBearer({
          assertion: issued.grant,
          clientAssertion: await clientAt(c, PLANNER, C),
        }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'wrong_issuer' });
  });

  it("refuses a grant for another domain, a replayed one, and A's access token as a grant", async () => {
    const { a, b } = domains();
    const { planner, issued: forC } = await chained(a, C);
    expect(
      await oauth(
        b.issuer.jwtBearer({ assertion: forC.grant, clientAssertion: await clientAt(b) }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'wrong_audience' });
    const { issued } = await chained(a, B);
    await b.issuer.jwtBearer({ assertion: issued.grant, clientAssertion: await clientAt(b) });
    expect(
      await oauth(
        b.issuer.jwtBearer({ assertion: issued.grant, clientAssertion: await clientAt(b) }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'grant_replayed' });
    // A credential of A (typ at+jwt) is never a grant, whatever its audience.
    expect(
      await oauth(
        b.issuer.jwtBearer({ assertion: planner.token, clientAssertion: await clientAt(b) }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'wrong_typ' });
  });

  it('refuses an expired grant from A', async () => {
    const { a, b } = domains();
    const { issued } = await chained(a, B);
    b.clock.advance(120); // the grant lives 60 s, plus 30 s of skew
    expect(
      await oauth(
        b.issuer.jwtBearer({ assertion: issued.grant, clientAssertion: await clientAt(b) }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'expired' });
  });

  it('domain A refuses an unknown domain, another than the holder, wider scopes and too long a life', async () => {
    const { a } = domains();
    const alice = await a.alice(['repo:read']);
    const planner = await a.delegate(alice, PLANNER);
    const ask = async (over: Record<string, unknown>, actor = PLANNER) =>
      oauth(
        a.issuer.chainGrant({
          subjectToken: planner.token,
          actorToken: await assertion(a.clients[actor]!, a.clock),
          audience: B,
          ...over,
        }),
      );
    expect(await ask({ audience: 'https://unknown.example' })).toEqual({
      error: 'invalid_target',
      code: 'chain_audience_unknown',
    });
    expect(await ask({ audience: undefined })).toEqual({
      error: 'invalid_target',
      code: 'audience_required',
    });
    expect(await ask({ resource: C })).toEqual({
      error: 'invalid_target',
      code: 'chain_audience_unknown',
    });
    expect(await ask({}, RESEARCHER)).toEqual({
      error: 'invalid_request',
      code: 'audience_not_holder',
    });
    expect(await ask({ scope: ['repo:write'] })).toEqual({
      error: 'invalid_scope',
      code: 'invalid_scope',
    });
    expect(await ask({ requestedLifetimeSec: 3600 })).toEqual({
      error: 'invalid_request',
      code: 'invalid_lifetime',
    });
    // The resource form names the same server as audience does.
    const byResource = await a.issuer.chainGrant({
      subjectToken: planner.token,
      actorToken: await assertion(a.clients[PLANNER]!, a.clock),
      resource: B,
    });
    expect(decodeJwt(byResource.grant).aud).toBe(B);
  });

  it('advertises the requested token type and the jwt-bearer grant in its metadata', () => {
    const { a, b } = domains();
    expect(a.issuer.metadata()['identity_chaining_requested_token_types_supported']).toEqual([
      JWT_TYPE,
    ]);
    expect(b.issuer.metadata()['grant_types_supported']).toContain(
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    );
    expect(world().issuer.metadata()['grant_types_supported']).not.toContain(
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    );
  });

  it('refuses to trust one issuer both for ID-JAGs and as a chained domain', () => {
    const idp = enterpriseIdp();
    expect(() => domainB({ idp: idp.trusted, chain: [idp.trusted] })).toThrow(TypeError);
  });
});
