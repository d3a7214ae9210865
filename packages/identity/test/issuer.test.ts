import { createHash } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CredentialVerifier,
  Issuer,
  IssuerKeyRing,
  OAuthError,
  keyRingIssuer,
  type ExchangeRequest,
} from '../src/index.js';
import { toOAuthError } from '../src/errors.js';
import {
  ALICE,
  AUD,
  CI,
  ISS,
  PLANNER,
  POLICY,
  RESEARCHER,
  TOKEN_ENDPOINT,
  assertion,
  oidcProvider,
  rejection,
  signWith,
  world,
} from './helpers.js';

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';

async function oauth(promise: Promise<unknown>) {
  const e = await rejection(promise);
  expect(e).toBeInstanceOf(OAuthError);
  return { error: e.code, code: e.details?.['code'], status: e.status };
}

describe('Issuer.clientCredentials', () => {
  it('issues a workload a credential for itself, and a witness without the token', async () => {
    const w = world();
    const issued = await w.issuer.clientCredentials(await assertion(w.clients[PLANNER]!, w.clock), [
      'repo:read',
    ]);
    expect(issued.claims).toMatchObject({
      iss: ISS,
      sub: PLANNER,
      aud: AUD,
      iat: w.clock.sec,
      exp: w.clock.sec + 300,
      scope: 'repo:read',
    });
    expect(issued.claims.act).toBeUndefined();
    expect(issued.expiresIn).toBe(300);
    expect(decodeProtectedHeader(issued.token)).toEqual({
      alg: 'EdDSA',
      kid: w.keys.current().kid,
      typ: 'at+jwt',
    });
    expect(issued.witness).toEqual({
      type: 'credential.issued',
      jti: issued.claims.jti,
      sub: PLANNER,
      scope: ['repo:read'],
      roles: ['producer'],
      iat: w.clock.sec,
      exp: w.clock.sec + 300,
      ancestors: [],
      grant: 'client_credentials',
    });
    expect(JSON.stringify(issued.witness)).not.toContain(issued.token.split('.')[2]);
    const v = await w.verifier.verify(issued.token);
    expect(v.chain).toEqual([PLANNER]);
  });

  it("bounds a root credential by the principal's scopes list when it has one", async () => {
    const w = world();
    w.directory.put({ ...w.directory.get(CI)!, scopes: ['deploy'] });
    const client = w.clients[CI]!;
    expect((await w.issuer.clientCredentials(await assertion(client, w.clock))).claims.scope).toBe(
      'deploy',
    );
    expect(
      await oauth(w.issuer.clientCredentials(await assertion(client, w.clock), ['admin'])),
    ).toEqual({
      error: 'invalid_scope',
      code: 'invalid_scope',
      status: 400,
    });
  });

  it('refuses a human presenting an assertion', async () => {
    const w = world();
    expect((await oauth(w.issuer.clientCredentials('garbage'))).error).toBe('invalid_client');
  });
});

describe('Issuer.exchange', () => {
  it('builds alice → planner → researcher with nested act, narrowing scopes and witnesses', async () => {
    const w = world();
    const alice = await w.alice(['repo:read', 'repo:write']);
    const planner = await w.delegate(alice, PLANNER);
    const researcher = await w.delegate(planner, RESEARCHER, ['repo:read']);
    expect(researcher.claims).toMatchObject({
      sub: ALICE,
      act: { sub: RESEARCHER, act: { sub: PLANNER } },
      scope: 'repo:read',
      ancestors: [alice.claims.jti, planner.claims.jti],
    });
    expect(researcher.claims.exp).toBeLessThanOrEqual(planner.claims.exp);
    expect(planner.witness).toEqual({
      type: 'delegation.granted',
      jti: planner.claims.jti,
      parentJti: alice.claims.jti,
      sub: ALICE,
      actor: PLANNER,
      from: ALICE,
      to: PLANNER,
      scope: ['repo:read', 'repo:write'],
      roles: ['producer'],
      iat: w.clock.sec,
      exp: planner.claims.exp,
      ancestors: [alice.claims.jti],
      grant: 'token_exchange',
    });
    expect(researcher.witness).toMatchObject({
      from: PLANNER,
      to: RESEARCHER,
      parentJti: planner.claims.jti,
    });
  });

  it("never issues beyond the subject's exp", async () => {
    const w = world();
    const alice = await w.issuer.devLogin('alice', ['a'], 100);
    w.clock.advance(50);
    const planner = await w.issuer.exchange({
      subjectToken: alice.token,
      subjectTokenType: ACCESS,
      actorToken: await assertion(w.clients[PLANNER]!, w.clock),
      actorTokenType: JWT,
      requestedLifetimeSec: 3600,
    });
    expect(planner.claims.exp).toBe(alice.claims.exp);
    expect(planner.expiresIn).toBe(50);
  });

  it("carries the subject's task_id", async () => {
    const w = world();
    const subject = await signWith(w.keys.current(), {
      iss: ISS,
      sub: ALICE,
      aud: AUD,
      iat: w.clock.sec,
      exp: w.clock.sec + 60,
      jti: 's',
      scope: 'a',
      task_id: 'task-981',
    });
    const issued = await w.issuer.exchange({
      subjectToken: subject,
      subjectTokenType: JWT,
      actorToken: await assertion(w.clients[PLANNER]!, w.clock),
      actorTokenType: JWT,
    });
    expect(issued.claims.task_id).toBe('task-981');
  });

  it('refuses unsupported token types and lifetimes as invalid_request', async () => {
    const w = world();
    const alice = await w.alice();
    const base: ExchangeRequest = {
      subjectToken: alice.token,
      subjectTokenType: ACCESS,
      actorToken: await assertion(w.clients[PLANNER]!, w.clock),
      actorTokenType: JWT,
    };
    expect(
      (await oauth(w.issuer.exchange({ ...base, subjectTokenType: 'urn:x' as never }))).error,
    ).toBe('invalid_request');
    expect(
      (await oauth(w.issuer.exchange({ ...base, actorTokenType: ACCESS as never }))).error,
    ).toBe('invalid_request');
    expect(
      await oauth(w.issuer.exchange({ ...base, requestedLifetimeSec: Number('abc') })),
    ).toEqual({
      error: 'invalid_request',
      code: 'invalid_lifetime',
      status: 400,
    });
  });

  it('refuses a subject token of another trusted issuer', async () => {
    const w = world();
    const other = IssuerKeyRing.generate(w.clock.ms);
    const verifier = new CredentialVerifier({
      issuers: [w.trusted, keyRingIssuer('https://other.example', other, 3600, w.clock.now)],
      audience: AUD,
      clock: w.clock.now,
      revocations: w.revocations,
    });
    const issuer = new Issuer({
      issuer: ISS,
      audience: AUD,
      keys: w.keys,
      directory: w.directory,
      verifier,
      replay: w.replay,
      revocations: w.revocations,
      policy: POLICY,
      clock: w.clock.now,
      tokenEndpoint: TOKEN_ENDPOINT,
    });
    const foreign = await signWith(other.current(), {
      iss: 'https://other.example',
      sub: ALICE,
      aud: AUD,
      iat: w.clock.sec,
      exp: w.clock.sec + 60,
      jti: 'f',
      scope: 'a',
    });
    await verifier.verify(foreign);
    expect(
      await oauth(
        issuer.exchange({
          subjectToken: foreign,
          subjectTokenType: ACCESS,
          actorToken: await assertion(w.clients[PLANNER]!, w.clock),
          actorTokenType: JWT,
        }),
      ),
    ).toEqual({ error: 'invalid_grant', code: 'wrong_issuer', status: 400 });
  });
});

describe('human sign-in with an OIDC ID token', () => {
  const IDP = 'https://accounts.example.com';
  const idp = () => oidcProvider(IDP);

  it('maps a registered human, else names the subject by iss#sub', async () => {
    const { trusted, sign } = idp();
    const w = world({ idTokenIssuers: [trusted] });
    const idToken = async (sub: string) =>
      sign({ iss: IDP, sub, aud: 'provenant-client', iat: w.clock.sec, exp: w.clock.sec + 600 });
    const exchange = async (token: string, scope?: string[]) =>
      w.issuer.exchange({
        subjectToken: token,
        subjectTokenType: ID_TOKEN,
        actorToken: await assertion(w.clients[PLANNER]!, w.clock),
        actorTokenType: JWT,
        ...(scope ? { scope } : {}),
      });

    const mapped = await exchange(await idToken('alice'), ['repo:read']);
    expect(mapped.claims).toMatchObject({ sub: ALICE, act: { sub: PLANNER }, scope: 'repo:read' });
    expect(mapped.claims.ancestors).toBeUndefined();
    expect(mapped.witness).toMatchObject({
      type: 'delegation.granted',
      grant: 'id_token',
      from: ALICE,
      to: PLANNER,
      ancestors: [],
    });
    expect(mapped.witness.parentJti).toBeUndefined();
    expect(mapped.claims.exp).toBe(w.clock.sec + 300);

    const unmapped = await exchange(await idToken('248289761001'));
    expect(unmapped.claims.sub).toBe(`${IDP}#248289761001`);
    expect(unmapped.claims.scope).toBe('');
    // The result verifies like any other credential, and can be exchanged further.
    expect((await w.verifier.verify(unmapped.token)).chain).toEqual([
      `${IDP}#248289761001`,
      PLANNER,
    ]);
    expect((await w.delegate(mapped, RESEARCHER)).claims.ancestors).toEqual([mapped.claims.jti]);
  });

  it('names the ID token in an id_token claim kept through later exchanges, never in ancestors', async () => {
    const { trusted, sign } = idp();
    const w = world({ idTokenIssuers: [trusted] });
    const claims = { iss: IDP, sub: 'alice', aud: 'provenant-client', iat: w.clock.sec };
    const exchange = async (token: string) =>
      w.issuer.exchange({
        subjectToken: token,
        subjectTokenType: ID_TOKEN,
        actorToken: await assertion(w.clients[PLANNER]!, w.clock),
        actorTokenType: JWT,
        scope: ['repo:read'],
      });
    const toPlanner = await exchange(
      await sign({ ...claims, exp: w.clock.sec + 600, jti: 'idt-1' }),
    );
    const root = { iss: IDP, jti: 'idt-1' };
    expect(toPlanner.claims.id_token).toEqual(root);
    expect(toPlanner.claims.ancestors).toBeUndefined();
    expect(toPlanner.witness).toMatchObject({ ancestors: [], idToken: root });
    expect((await w.verifier.verify(toPlanner.token)).idToken).toEqual(root);
    const toResearcher = await w.delegate(toPlanner, RESEARCHER);
    expect(toResearcher.claims.id_token).toEqual(root);
    expect(toResearcher.claims.ancestors).toEqual([toPlanner.claims.jti]);
    expect(toResearcher.witness.idToken).toEqual(root);
    expect((await w.verifier.verify(toResearcher.token)).idToken).toEqual(root);
    // Without a jti the token is named by its digest; a credential not rooted in one names none.
    const unnamed = await sign({ ...claims, exp: w.clock.sec + 601 });
    expect((await exchange(unnamed)).claims.id_token).toEqual({
      iss: IDP,
      jti: `id_token:${createHash('sha256').update(unnamed, 'utf8').digest('hex')}`,
    });
    expect((await w.alice()).claims.id_token).toBeUndefined();
    expect((await w.delegate(await w.alice(), PLANNER)).claims.id_token).toBeUndefined();
    // A jti too long (or empty) to name the root is refused.
    for (const jti of ['', 'x'.repeat(1025)]) {
      const e = await oauth(
        exchange(await sign({ ...claims, exp: w.clock.sec + 602 + jti.length, jti })),
      );
      expect(e).toMatchObject({ error: 'invalid_request', code: 'malformed_token' });
    }
  });

  it('refuses ID tokens of untrusted issuers, for another audience, expired or for a disabled human', async () => {
    const { trusted, sign } = idp();
    const w = world({ idTokenIssuers: [trusted] });
    const exchange = async (claims: Record<string, unknown>) =>
      oauth(
        w.issuer.exchange({
          subjectToken: await sign({
            iss: IDP,
            sub: 'alice',
            aud: 'provenant-client',
            iat: w.clock.sec,
            exp: w.clock.sec + 600,
            ...claims,
          }),
          subjectTokenType: ID_TOKEN,
          actorToken: await assertion(w.clients[PLANNER]!, w.clock),
          actorTokenType: JWT,
        }),
      );
    expect((await exchange({ iss: 'https://evil.example' })).code).toBe('wrong_issuer');
    expect((await exchange({ aud: 'someone-else' })).code).toBe('wrong_audience');
    expect((await exchange({ exp: w.clock.sec - 60 })).code).toBe('expired');
    w.directory.disable(ALICE);
    expect((await exchange({})).code).toBe('principal_disabled');
  });
});

describe('Issuer.devLogin', () => {
  it('is refused unless enabled', async () => {
    const w = world();
    const issuer = new Issuer({
      issuer: ISS,
      audience: AUD,
      keys: w.keys,
      directory: w.directory,
      verifier: w.verifier,
      replay: w.replay,
      revocations: w.revocations,
      policy: POLICY,
      clock: w.clock.now,
      tokenEndpoint: TOKEN_ENDPOINT,
    });
    expect(await oauth(issuer.devLogin('alice', []))).toEqual({
      error: 'unsupported_grant_type',
      code: 'dev_login_disabled',
      status: 400,
    });
  });

  it('signs in only registered, enabled humans', async () => {
    const w = world();
    const issued = await w.alice(['a']);
    expect(issued.witness).toMatchObject({
      type: 'credential.issued',
      sub: ALICE,
      grant: 'dev_login',
    });
    expect((await oauth(w.issuer.devLogin('mallory', []))).code).toBe('principal_unknown');
    expect((await oauth(w.issuer.devLogin('bad id', []))).code).toBe('invalid_principal');
    w.directory.disable(ALICE);
    expect((await oauth(w.issuer.devLogin('alice', []))).code).toBe('principal_disabled');
  });
});

describe('Issuer.revoke', () => {
  it('describes the revoked credential when given it, and refuses it from then on', async () => {
    const w = world();
    const planner = await w.delegate(await w.alice(), PLANNER);
    const verified = await w.verifier.verify(planner.token);
    const witness = await w.issuer.revoke(verified);
    expect(witness).toEqual({
      type: 'credential.revoked',
      jti: planner.claims.jti,
      parentJti: planner.claims.ancestors![0],
      sub: ALICE,
      actor: PLANNER,
      scope: verified.scope,
      roles: ['producer'],
      iat: verified.iat,
      exp: verified.exp,
      ancestors: verified.ancestors,
      grant: 'token_exchange',
    });
    expect(w.revocations.revokedAt(planner.claims.jti)).toBe(w.clock.ms);
    expect((await rejection(w.verifier.verify(planner.token))).code).toBe('revoked');
    expect(await w.issuer.revoke('some-jti')).toMatchObject({
      type: 'credential.revoked',
      jti: 'some-jti',
      sub: '',
    });
    expect((await oauth(w.issuer.revoke(''))).error).toBe('invalid_request');
  });
});

describe('Issuer configuration and metadata', () => {
  it('refuses a configured lifetime above one hour', () => {
    const w = world();
    expect(
      () =>
        new Issuer({
          issuer: ISS,
          audience: AUD,
          keys: w.keys,
          directory: w.directory,
          verifier: w.verifier,
          replay: w.replay,
          revocations: w.revocations,
          policy: { ...POLICY, maxLifetimeSec: 7200 },
          tokenEndpoint: TOKEN_ENDPOINT,
        }),
    ).toThrow(TypeError);
  });

  it('publishes RFC 8414 metadata and its keys', () => {
    const w = world();
    expect(w.issuer.metadata()).toMatchObject({
      issuer: ISS,
      token_endpoint: TOKEN_ENDPOINT,
      jwks_uri: `${ISS}/.well-known/jwks.json`,
      grant_types_supported: [
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:token-exchange',
      ],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'ES256'],
    });
    expect(w.issuer.jwks().keys.map((k) => k.kid)).toEqual([w.keys.current().kid]);
  });

  it('maps only its own errors onto OAuth errors', () => {
    expect(toOAuthError(new Error('bug'))).toBeUndefined();
    const e = new OAuthError('invalid_client', 'x', { code: 'assertion_replayed' });
    expect(e.status).toBe(401);
    expect(e.toJSON()).toEqual({
      error: 'invalid_client',
      error_description: 'x',
      provenant_code: 'assertion_replayed',
    });
    expect(new OAuthError('temporarily_unavailable', 'x').status).toBe(503);
  });
});
