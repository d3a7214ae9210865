/**
 * Each attack of issue 3, against the verifier, client authentication and token exchange. Every
 * test names the exact refusal, so removing the defence (or letting another check catch it by
 * luck) makes it fail.
 */
import { createHmac } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { SignJWT } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { CredentialError, IssuerKeyRing, OAuthError, nestAct } from '../src/index.js';
import {
  ALICE,
  AUD,
  ISS,
  PLANNER,
  RESEARCHER,
  TOOL,
  addAgent,
  assertion,
  clientKeys,
  rejection,
  signWith,
  world,
} from './helpers.js';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function claimsAt(sec: number, over: Record<string, unknown> = {}) {
  return {
    iss: ISS,
    sub: ALICE,
    aud: AUD,
    iat: sec,
    exp: sec + 300,
    jti: `jti-${sec}-${Math.random()}`,
    scope: 'repo:read',
    ...over,
  };
}

type Work = 'regex' | 'base64 decode' | 'JSON.parse' | 'hash';

/**
 * Runs `action` while recording the parsing work done meanwhile: a regular expression scan, a
 * base64 decode, a JSON parse or a hash (node:crypto, swapped in for ESM importers too).
 */
async function watchingWork<T>(action: () => Promise<T>): Promise<{ result: T; work: Work[] }> {
  const work: Work[] = [];
  const crypto = createRequire(import.meta.url)('node:crypto') as Record<string, unknown>;
  const swapped = ['hash', 'createHash'].map((name) => {
    const original = crypto[name] as (...args: unknown[]) => unknown;
    crypto[name] = (...args: unknown[]) => {
      work.push('hash');
      return original(...args);
    };
    return () => (crypto[name] = original);
  });
  syncBuiltinESMExports();
  const spies = [
    vi.spyOn(RegExp.prototype, 'test').mockImplementation(function (this: RegExp, s: string) {
      work.push('regex');
      return RegExp.prototype.exec.call(this, s) !== null;
    }),
    vi.spyOn(JSON, 'parse'),
    vi.spyOn(Buffer, 'from'),
  ];
  try {
    const result = await action();
    if (spies[1]!.mock.calls.length > 0) work.push('JSON.parse');
    if (spies[2]!.mock.calls.some(([, encoding]) => (encoding as unknown) === 'base64url')) {
      work.push('base64 decode');
    }
    return { result, work };
  } finally {
    for (const spy of spies) spy.mockRestore();
    for (const restore of swapped) restore();
    syncBuiltinESMExports();
  }
}

async function refusedWith(promise: Promise<unknown>, code: string) {
  const e = await rejection(promise);
  expect(e).toBeInstanceOf(CredentialError);
  expect(e.code).toBe(code);
  return e;
}

describe('the verifier refuses forged and invalid credentials', () => {
  it('refuses alg: none', async () => {
    const w = world();
    const token = `${b64url({ alg: 'none', typ: 'at+jwt', kid: w.keys.current().kid })}.${b64url(claimsAt(w.clock.sec))}.`;
    await refusedWith(w.verifier.verify(token), 'unsupported_alg');
    expect(w.keyLookups()).toBe(0);
  });

  it('refuses HS256 signed with the issuer public key as the secret', async () => {
    const w = world();
    const jwk = w.keys.current().publicJwk;
    const secrets = [Buffer.from(jwk.x!, 'base64url'), Buffer.from(JSON.stringify(jwk))];
    for (const secret of secrets) {
      const token = await new SignJWT(claimsAt(w.clock.sec))
        .setProtectedHeader({ alg: 'HS256', kid: jwk.kid!, typ: 'at+jwt' })
        .sign(new Uint8Array(secret));
      await refusedWith(w.verifier.verify(token), 'unsupported_alg');
    }
    // The same refusal when the header is hand-made (no library in the attacker's way).
    const input = `${b64url({ alg: 'HS256', kid: jwk.kid })}.${b64url(claimsAt(w.clock.sec))}`;
    const mac = createHmac('sha256', secrets[0]!).update(input).digest('base64url');
    await refusedWith(w.verifier.verify(`${input}.${mac}`), 'unsupported_alg');
  });

  it('refuses an unknown kid', async () => {
    const w = world();
    const token = await signWith(w.keys.current(), claimsAt(w.clock.sec), { kid: 'not-a-key' });
    await refusedWith(w.verifier.verify(token), 'unknown_kid');
  });

  it('refuses a token with no kid', async () => {
    const w = world();
    const key = w.keys.current();
    const token = await new SignJWT(claimsAt(w.clock.sec))
      .setProtectedHeader({ alg: key.alg })
      .sign(key.privateKey);
    await refusedWith(w.verifier.verify(token), 'unknown_kid');
  });

  it('refuses a validly signed token from another issuer key', async () => {
    const w = world();
    const other = IssuerKeyRing.generate(w.clock.ms).current();
    // Under its own kid: not a key of this issuer.
    await refusedWith(
      w.verifier.verify(await signWith(other, claimsAt(w.clock.sec))),
      'unknown_kid',
    );
    // Claiming the issuer's kid: the signature does not verify.
    const spoofed = await signWith(other, claimsAt(w.clock.sec), { kid: w.keys.current().kid });
    await refusedWith(w.verifier.verify(spoofed), 'bad_signature');
  });

  it('refuses an expired credential', async () => {
    const w = world();
    const issued = await w.alice();
    w.clock.advance(300 + 30); // exp + skew
    await refusedWith(w.verifier.verify(issued.token), 'expired');
  });

  it('refuses a credential whose nbf is in the future', async () => {
    const w = world();
    const token = await signWith(
      w.keys.current(),
      claimsAt(w.clock.sec, { nbf: w.clock.sec + 120 }),
    );
    await refusedWith(w.verifier.verify(token), 'not_yet_valid');
  });

  it('refuses a credential issued in the future', async () => {
    const w = world();
    const token = await signWith(w.keys.current(), claimsAt(w.clock.sec + 120));
    await refusedWith(w.verifier.verify(token), 'not_yet_valid');
  });

  it('refuses the wrong audience', async () => {
    const w = world();
    const token = await signWith(w.keys.current(), claimsAt(w.clock.sec, { aud: 'someone-else' }));
    const e = await refusedWith(w.verifier.verify(token), 'wrong_audience');
    expect(e.claim).toBe('aud');
  });

  it('refuses the wrong issuer, even signed by a trusted key', async () => {
    const w = world();
    const token = await signWith(
      w.keys.current(),
      claimsAt(w.clock.sec, { iss: 'https://evil.example' }),
    );
    await refusedWith(w.verifier.verify(token), 'wrong_issuer');
  });

  it('refuses a payload altered after signing', async () => {
    const w = world();
    const issued = await w.alice(['repo:read']);
    const [header, payload, signature] = issued.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    claims['scope'] = 'repo:read repo:admin';
    const altered = `${header}.${b64url(claims)}.${signature}`;
    await refusedWith(w.verifier.verify(altered), 'bad_signature');
  });

  it('refuses a 1 MB token before any parsing work', async () => {
    const w = world();
    const issued = await w.alice();
    const [header, , signature] = issued.token.split('.');
    const big = `${header}.${b64url(claimsAt(w.clock.sec, { pad: 'x'.repeat(786_000) }))}.${signature}`;
    expect(big.length).toBeGreaterThan(1_000_000);
    const refused = await watchingWork(() => rejection(w.verifier.verify(big)));
    expect(refused.result).toBeInstanceOf(CredentialError);
    expect(refused.result.code).toBe('token_too_large');
    // Not scanned, decoded, parsed or even hashed: refused by its length alone.
    expect(refused.work).toEqual([]);
    expect(w.keyLookups()).toBe(0);
    // The watch sees that work when it happens: verifying the ordinary token does all of it.
    const accepted = await watchingWork(() => w.verifier.verify(issued.token));
    expect(accepted.result.subject).toBe(ALICE);
    expect(new Set(accepted.work)).toEqual(
      new Set(['regex', 'base64 decode', 'JSON.parse', 'hash']),
    );
  });

  it('refuses an act chain nested 1,000 deep, validly signed, without overflowing the stack', async () => {
    const w = world({ verifierOptions: { maxTokenBytes: 100_000 } });
    const actors = Array.from(
      { length: 1000 },
      (_, i) => `spiffe://acme.test/agent/a${i}/instance/1`,
    );
    const token = await signWith(w.keys.current(), claimsAt(w.clock.sec, { act: nestAct(actors) }));
    expect(token.length).toBeLessThan(100_000);
    const e = await refusedWith(w.verifier.verify(token), 'act_too_deep');
    expect(e.claim).toBe('act');
  });

  it('refuses a chain deeper than the bound even when every level is well formed', async () => {
    const w = world();
    const five = [
      PLANNER,
      RESEARCHER,
      TOOL,
      'spiffe://acme.test/agent/x/instance/1',
      'spiffe://acme.test/agent/y/instance/1',
    ];
    await refusedWith(
      w.verifier.verify(
        await signWith(w.keys.current(), claimsAt(w.clock.sec, { act: nestAct(five) })),
      ),
      'act_too_deep',
    );
    const four = await w.verifier.verify(
      await signWith(w.keys.current(), claimsAt(w.clock.sec, { act: nestAct(five.slice(0, 4)) })),
    );
    expect(four.actors).toEqual(five.slice(0, 4));
  });
});

async function oauthRefusal(promise: Promise<unknown>, error: string, code: string) {
  const e = await rejection(promise);
  expect(e).toBeInstanceOf(OAuthError);
  expect(e.code).toBe(error);
  expect(e.details?.['code']).toBe(code);
  return e;
}

describe('token exchange refuses attacks on delegation', () => {
  it('refuses scope widening', async () => {
    const w = world();
    const alice = await w.alice(['repo:read']);
    await oauthRefusal(
      w.delegate(alice, PLANNER, ['repo:read', 'repo:write']),
      'invalid_scope',
      'invalid_scope',
    );
    // Narrower (or equal) is granted.
    const ok = await w.delegate(alice, PLANNER, ['repo:read']);
    expect(ok.claims.scope).toBe('repo:read');
  });

  it('refuses widening at a later hop too', async () => {
    const w = world();
    const planner = await w.delegate(await w.alice(['repo:read', 'repo:write']), PLANNER, [
      'repo:read',
    ]);
    await oauthRefusal(
      w.delegate(planner, RESEARCHER, ['repo:write']),
      'invalid_scope',
      'invalid_scope',
    );
  });

  it('refuses an expired subject token', async () => {
    const w = world();
    const alice = await w.alice();
    w.clock.advance(400);
    await oauthRefusal(w.delegate(alice, PLANNER), 'invalid_grant', 'expired');
  });

  it('refuses a revoked subject token', async () => {
    const w = world();
    const alice = await w.alice();
    await w.issuer.revoke(alice.claims.jti);
    await oauthRefusal(w.delegate(alice, PLANNER), 'invalid_grant', 'revoked');
  });

  it('refuses a child of a revoked token, at the issuer and at the verifier, even once cached', async () => {
    const w = world();
    const alice = await w.alice();
    const planner = await w.delegate(alice, PLANNER);
    expect((await w.verifier.verify(planner.token)).ancestors).toEqual([alice.claims.jti]);
    await w.issuer.revoke(alice.claims.jti);
    await refusedWith(w.verifier.verify(planner.token), 'revoked');
    await oauthRefusal(w.delegate(planner, RESEARCHER), 'invalid_grant', 'revoked');
  });

  it('refuses a grandchild of a revoked token', async () => {
    const w = world();
    const alice = await w.alice();
    const planner = await w.delegate(alice, PLANNER);
    const researcher = await w.delegate(planner, RESEARCHER);
    await w.issuer.revoke(planner.claims.jti);
    await refusedWith(w.verifier.verify(researcher.token), 'revoked');
    await w.verifier.verify(alice.token); // the parent of the revoked one is untouched
  });

  it('refuses a replayed client assertion', async () => {
    const w = world();
    const a = await assertion(w.clients[PLANNER]!, w.clock);
    await w.issuer.clientCredentials(a);
    const e = await oauthRefusal(
      w.issuer.clientCredentials(a),
      'invalid_client',
      'assertion_replayed',
    );
    expect(e.status).toBe(401);
  });

  it('refuses a replayed actor token in an exchange', async () => {
    const w = world();
    const alice = await w.alice();
    const actorToken = await assertion(w.clients[PLANNER]!, w.clock);
    const req = {
      subjectToken: alice.token,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      actorToken,
      actorTokenType: 'urn:ietf:params:oauth:token-type:jwt',
    } as const;
    await w.issuer.exchange(req);
    await oauthRefusal(w.issuer.exchange(req), 'invalid_client', 'assertion_replayed');
  });

  it('refuses an assertion signed by an unregistered key', async () => {
    const w = world();
    const stranger = clientKeys(PLANNER);
    // Naming the registered kid: the signature does not verify.
    const e1 = await oauthRefusal(
      w.issuer.clientCredentials(
        await assertion(w.clients[PLANNER]!, w.clock, { key: stranger.privateKey }),
      ),
      'invalid_client',
      'invalid_client',
    );
    expect(e1.details?.['reason']).toBe('bad_signature');
    // Naming its own kid, or none: no registered key matches.
    for (const kid of ['stranger-key', null]) {
      const e = await oauthRefusal(
        w.issuer.clientCredentials(
          await assertion(w.clients[PLANNER]!, w.clock, { key: stranger.privateKey, kid }),
        ),
        'invalid_client',
        'invalid_client',
      );
      expect(e.details?.['reason']).toBe('unregistered_key');
    }
  });

  it('refuses a cycle in the chain', async () => {
    const w = world();
    const planner = await w.delegate(await w.alice(), PLANNER);
    const researcher = await w.delegate(planner, RESEARCHER);
    await oauthRefusal(w.delegate(researcher, PLANNER), 'invalid_grant', 'delegation_cycle');
    // Nor may the chain come back to its root (here a workload acting for itself).
    const own = await w.issuer.clientCredentials(await assertion(w.clients[PLANNER]!, w.clock), [
      'x',
    ]);
    await oauthRefusal(w.delegate(own, PLANNER), 'invalid_grant', 'delegation_cycle');
    await oauthRefusal(
      w.delegate(await w.delegate(own, RESEARCHER), PLANNER),
      'invalid_grant',
      'delegation_cycle',
    );
  });

  it('refuses a chain deeper than 4', async () => {
    const w = world();
    const extra = [addAgent(w, 'fourth'), addAgent(w, 'fifth')];
    let held = await w.alice();
    for (const actor of [PLANNER, RESEARCHER, extra[0]!]) held = await w.delegate(held, actor);
    held = await w.delegate(held, TOOL); // four actors: allowed
    expect((await w.verifier.verify(held.token)).actors).toHaveLength(4);
    await oauthRefusal(w.delegate(held, extra[1]!), 'invalid_grant', 'chain_too_deep');
  });

  it("refuses another actor than the subject token's may_act", async () => {
    const w = world();
    const subject = await signWith(
      w.keys.current(),
      claimsAt(w.clock.sec, { may_act: { sub: PLANNER } }),
    );
    const exchange = async (actor: string) =>
      w.issuer.exchange({
        subjectToken: subject,
        subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        actorToken: await assertion(w.clients[actor]!, w.clock),
        actorTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      });
    await oauthRefusal(exchange(RESEARCHER), 'invalid_grant', 'may_act_refused');
    expect((await exchange(PLANNER)).claims.act).toEqual({ sub: PLANNER });
  });

  it('refuses an actor the root principal does not allow (mayAct list)', async () => {
    const w = world();
    w.directory.put({ ...w.directory.get(ALICE)!, mayAct: [PLANNER] });
    const alice = await w.alice();
    await oauthRefusal(w.delegate(alice, RESEARCHER), 'invalid_grant', 'may_act_refused');
    await w.delegate(alice, PLANNER);
  });

  it('refuses a disabled new actor', async () => {
    const w = world();
    const alice = await w.alice();
    w.directory.disable(PLANNER);
    const e = await oauthRefusal(
      w.delegate(alice, PLANNER),
      'unauthorized_client',
      'principal_disabled',
    );
    expect(e.status).toBe(400);
    await oauthRefusal(
      w.issuer.clientCredentials(await assertion(w.clients[PLANNER]!, w.clock)),
      'unauthorized_client',
      'principal_disabled',
    );
  });

  it('refuses a disabled subject', async () => {
    const w = world();
    const alice = await w.alice();
    w.directory.disable(ALICE);
    await oauthRefusal(w.delegate(alice, PLANNER), 'invalid_grant', 'principal_disabled');
    await oauthRefusal(w.alice(), 'invalid_grant', 'principal_disabled');
  });

  it('refuses a disabled intermediate actor', async () => {
    const w = world();
    const planner = await w.delegate(await w.alice(), PLANNER);
    w.directory.disable(PLANNER);
    await oauthRefusal(w.delegate(planner, RESEARCHER), 'invalid_grant', 'principal_disabled');
  });
});
