import { describe, expect, it } from 'vitest';
import type { Issuer, TrustedIssuer } from '../src/index.js';
import { idTokenReplayKey } from '../src/issuer.js';
import {
  ALICE,
  PLANNER,
  assertion,
  oidcProvider,
  rejection,
  world,
  type World,
} from './helpers.js';

const IDP = 'https://accounts.example.com';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

const idp = () => oidcProvider(IDP);

/** A world whose issuer bounds principals without a ceiling by `ceiling`. */
const worldWithDefault = (ceiling: string[], idTokenIssuers: TrustedIssuer[] = []) =>
  world({ idTokenIssuers, issuer: { defaultScopeCeiling: ceiling } });

const signInWithIdToken = async (issuer: Issuer, w: World, idToken: string, scope?: string[]) =>
  issuer.exchange({
    subjectToken: idToken,
    subjectTokenType: ID_TOKEN,
    actorToken: await assertion(w.clients[PLANNER]!, w.clock),
    actorTokenType: JWT,
    ...(scope === undefined ? {} : { scope }),
  });

describe('scope ceilings: a root credential never carries more than its principal may', () => {
  it('refuses client_credentials asking beyond the ceiling, and grants the ceiling by default', async () => {
    const w = world();
    w.directory.put({ ...w.directory.get(PLANNER)!, scopes: ['repo:read'] });
    const get = async (scope?: string[]) =>
      w.issuer.clientCredentials(await assertion(w.clients[PLANNER]!, w.clock), scope);
    expect(await rejection(get(['repo:read', 'repo:admin']))).toMatchObject({
      code: 'invalid_scope',
      details: { code: 'invalid_scope', notHeld: ['repo:admin'] },
    });
    expect((await get()).claims.scope).toBe('repo:read');
    expect((await get([])).claims.scope).toBe('');
  });

  it('bounds a principal without a ceiling by the default one (none outside development)', async () => {
    const w = worldWithDefault([]);
    const issuer = w.issuer;
    expect(
      await rejection(
        issuer.clientCredentials(await assertion(w.clients[PLANNER]!, w.clock), ['repo:read']),
      ),
    ).toMatchObject({ code: 'invalid_scope' });
    expect(await rejection(issuer.devLogin('alice', ['repo:write']))).toMatchObject({
      code: 'invalid_scope',
    });
    // Its own ceiling wins over the default.
    w.directory.put({ ...w.directory.get(ALICE)!, scopes: ['repo:write'] });
    expect((await issuer.devLogin('alice', ['repo:write'])).claims.scope).toBe('repo:write');
  });

  it('refuses dev-login asking beyond the ceiling', async () => {
    const w = world();
    w.directory.put({ ...w.directory.get(ALICE)!, scopes: ['repo:read'] });
    expect(await rejection(w.issuer.devLogin('alice', ['repo:read', 'repo:write']))).toMatchObject({
      code: 'invalid_scope',
    });
    expect((await w.issuer.devLogin('alice', ['repo:read'])).claims.scope).toBe('repo:read');
  });

  it('refuses an ID-token sign-in asking beyond the ceiling, registered or not', async () => {
    const { trusted, sign } = idp();
    const w = worldWithDefault([], [trusted]);
    const issuer = w.issuer;
    w.directory.put({ ...w.directory.get(ALICE)!, scopes: ['repo:read'] });
    const idToken = (sub: string, nonce: string) =>
      sign({
        iss: IDP,
        sub,
        aud: 'provenant-client',
        iat: w.clock.sec,
        exp: w.clock.sec + 600,
        nonce,
      });
    const wide = await rejection(
      signInWithIdToken(issuer, w, await idToken('alice', 'n1'), ['repo:read', 'repo:write']),
    );
    expect(wide).toMatchObject({ code: 'invalid_scope' });
    const ok = await signInWithIdToken(issuer, w, await idToken('alice', 'n2'));
    expect(ok.claims).toMatchObject({ sub: ALICE, scope: 'repo:read' });
    // An unregistered iss#sub gets the default ceiling: nothing.
    const stranger = await rejection(
      signInWithIdToken(issuer, w, await idToken('u-9', 'n3'), ['repo:read']),
    );
    expect(stranger).toMatchObject({ code: 'invalid_scope' });
  });
});

describe('an ID token is usable once', () => {
  it('refuses the same ID token the second time, with or without a jti', async () => {
    const { trusted, sign } = idp();
    const w = world({ idTokenIssuers: [trusted] });
    const claims = {
      iss: IDP,
      sub: 'alice',
      aud: 'provenant-client',
      iat: w.clock.sec,
      exp: w.clock.sec + 600,
    };
    for (const extra of [{ jti: 'id-1' }, { nonce: 'n-1' }]) {
      const token = await sign({ ...claims, ...extra });
      expect((await signInWithIdToken(w.issuer, w, token)).claims.sub).toBe(ALICE);
      expect(await rejection(signInWithIdToken(w.issuer, w, token))).toMatchObject({
        code: 'invalid_grant',
        details: { code: 'token_replayed' },
      });
      // Re-signed with the same identifying claims is the same sign-in, also refused.
      expect(
        await rejection(signInWithIdToken(w.issuer, w, await sign({ ...claims, ...extra }))),
      ).toMatchObject({ details: { code: 'token_replayed' } });
    }
  });

  it('keys an ID token by iss and jti, else by iss, sub, iat and nonce', () => {
    const base = { iss: IDP, sub: 'alice', iat: 1, nonce: 'a' };
    expect(idTokenReplayKey({ ...base, jti: 'x' })).toBe(
      idTokenReplayKey({ ...base, jti: 'x', iat: 2, nonce: 'b' }),
    );
    expect(idTokenReplayKey(base)).not.toBe(idTokenReplayKey({ ...base, nonce: 'b' }));
    expect(idTokenReplayKey(base)).not.toBe(idTokenReplayKey({ ...base, iat: 2 }));
    expect(idTokenReplayKey(base)).not.toBe(idTokenReplayKey({ ...base, iss: 'https://other' }));
    expect(idTokenReplayKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});
