import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, createLocalJWKSet, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { TXN_TOKEN_TYP, TxnTokenVerifier, type TrustedTxnTokenService } from '../src/index.js';
import { ALICE, FrozenClock, PLANNER, assertion, rejection, world } from './helpers.js';

const TD = 'trust-domain.example';
const TTS = 'https://tts.trust-domain.example';

function ttsKey(kid: string): { kid: string; privateKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid } };
}

/** An external TTS whose key set the test changes (a rotation). */
function externalTts() {
  const key = ttsKey('tts-1');
  let keys = [key.jwk];
  const service: TrustedTxnTokenService = {
    iss: TTS,
    keys: (h, t) => createLocalJWKSet({ keys })(h, t),
    has: (kid) => keys.some((k) => k.kid === kid),
  };
  const clock = new FrozenClock();
  const sign = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    new SignJWT({
      iss: TTS,
      iat: clock.sec,
      aud: TD,
      exp: clock.sec + 60,
      txn: '97053963-771d-49cc-a4e3-20aad399c312',
      sub: 'd084sdrt234fsaw34tr23t',
      scope: 'trade.stocks',
      req_wl: 'apigateway.trust-domain.example',
      tctx: { action: 'BUY', ticker: 'MSFT', quantity: '100' },
      ...over,
    })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: TXN_TOKEN_TYP, ...header })
      .sign(key.privateKey);
  const verifier = new TxnTokenVerifier({ services: [service], trustDomain: TD, clock: clock.now });
  return {
    clock,
    sign,
    verifier,
    rotateOut: () => {
      keys = [ttsKey('tts-2').jwk];
    },
  };
}

describe('TxnTokenVerifier (draft-ietf-oauth-transaction-tokens-10 "Txn-Token Validation")', () => {
  it('verifies a Txn-Token and keeps its txn, digests, never the token', async () => {
    const t = externalTts();
    const token = await t.sign();
    const v = await t.verifier.verify(token);
    expect(v).toMatchObject({
      txn: '97053963-771d-49cc-a4e3-20aad399c312',
      sub: 'd084sdrt234fsaw34tr23t',
      reqWl: 'apigateway.trust-domain.example',
      scope: ['trade.stocks'],
      iss: TTS,
      kid: 'tts-1',
    });
    expect(v.tokenDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v.tctxDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(v)).not.toContain(token);
    // The tctx digest is of its canonical form: key order does not change it.
    const reordered = await t.sign({ tctx: { quantity: '100', ticker: 'MSFT', action: 'BUY' } });
    expect((await t.verifier.verify(reordered)).tctxDigest).toBe(v.tctxDigest);
  });

  const attacks: [string, (t: ReturnType<typeof externalTts>) => Promise<string>, string][] = [
    ['a typ other than txntoken+jwt', (t) => t.sign({}, { typ: 'at+jwt' }), 'wrong_typ'],
    ['no typ', (t) => t.sign({}, { typ: undefined }), 'wrong_typ'],
    ['another trust domain', (t) => t.sign({ aud: 'other-domain.example' }), 'wrong_audience'],
    ['an expired token', (t) => t.sign({ exp: t.clock.sec - 120 }), 'expired'],
    ['an unknown TTS', (t) => t.sign({ iss: 'https://evil.example' }), 'wrong_issuer'],
    ['no txn', (t) => t.sign({ txn: undefined }), 'missing_claim'],
    ['no req_wl', (t) => t.sign({ req_wl: undefined }), 'missing_claim'],
    ['an array tctx', (t) => t.sign({ tctx: ['x'] }), 'malformed_token'],
    [
      'HS256',
      async () => 'eyJhbGciOiJIUzI1NiIsInR5cCI6InR4bnRva2VuK2p3dCIsImtpZCI6InR0cy0xIn0.e30.AAAA',
      'unsupported_alg',
    ],
  ];
  for (const [name, make, code] of attacks) {
    it(`refuses ${name} (${code})`, async () => {
      const t = externalTts();
      expect((await rejection(t.verifier.verify(await make(t)))).code).toBe(code);
    });
  }

  it('stops accepting a token once its key is rotated out, cached or not', async () => {
    const t = externalTts();
    const token = await t.sign();
    await t.verifier.verify(token);
    t.rotateOut();
    expect((await rejection(t.verifier.verify(token))).code).toBe('unknown_kid');
  });

  it('stops answering a cached token once it expires', async () => {
    const t = externalTts();
    const token = await t.sign();
    await t.verifier.verify(token);
    t.clock.advance(120);
    expect((await rejection(t.verifier.verify(token))).code).toBe('expired');
  });
});

describe('Issuer as the Txn-Token Service', () => {
  const setup = () => world({ issuer: { txnTokens: { trustDomain: TD, lifetimeSec: 60 } } });

  async function delegated(w: ReturnType<typeof setup>) {
    const alice = await w.alice(['repo:read', 'repo:write']);
    return w.delegate(alice, PLANNER, ['repo:read', 'repo:write']);
  }

  it('issues a txntoken+jwt for the holder of a credential, with txn, sub, aud, scope, tctx, req_wl', async () => {
    const w = setup();
    const planner = await delegated(w);
    const issued = await w.issuer.txnToken({
      clientAssertion: await assertion(w.clients[PLANNER]!, w.clock),
      subjectToken: planner.token,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      audience: TD,
      scope: ['repo:read'],
      requestDetails: JSON.stringify({ repo: 'acme/site', action: 'read' }),
      requestContext: JSON.stringify({ transport: 'https' }),
    });
    const [header, body] = issued.token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header.typ).toBe('txntoken+jwt');
    expect(body).toMatchObject({
      aud: TD,
      sub: ALICE,
      scope: 'repo:read',
      req_wl: PLANNER,
      tctx: { repo: 'acme/site', action: 'read' },
      rctx: { transport: 'https' },
    });
    expect(body.exp - body.iat).toBe(60);
    expect(issued.witness).toMatchObject({
      grant: 'txn_token',
      jti: body.txn,
      parentJti: planner.claims.jti,
      txnToken: { txn: body.txn, reqWl: PLANNER, trustDomain: TD },
    });
    // Its own verifier (the collector's) accepts it; the credential verifier never does.
    const verifier = new TxnTokenVerifier({
      services: [{ iss: w.trusted.iss, keys: w.trusted.jwks }],
      trustDomain: TD,
      clock: w.clock.now,
    });
    expect((await verifier.verify(issued.token)).txn).toBe(body.txn);
    expect((await rejection(w.verifier.verify(issued.token))).code).toBe('txn_token_misplaced');
  });

  it('refuses another trust domain, a wider scope, a requester that does not hold the subject', async () => {
    const w = setup();
    const planner = await delegated(w);
    const base = {
      subjectToken: planner.token,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      audience: TD,
      scope: ['repo:read'],
    };
    const ask = async (over: object, client = PLANNER) =>
      rejection(
        w.issuer.txnToken({
          ...base,
          clientAssertion: await assertion(w.clients[client]!, w.clock),
          ...over,
        }),
      );
    expect((await ask({ audience: 'other.example' })).details?.['code']).toBe('wrong_trust_domain');
    expect((await ask({ scope: ['repo:admin'] })).code).toBe('invalid_scope');
    expect((await ask({ scope: [] })).details?.['code']).toBe('scope_required');
    expect((await ask({ requestDetails: '[1]' })).details?.['code']).toBe('invalid_context');
    const { RESEARCHER } = await import('./helpers.js');
    expect((await ask({}, RESEARCHER)).details?.['code']).toBe('not_subject_holder');
  });
});
