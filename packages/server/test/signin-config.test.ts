import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CLI_CLIENT_ID,
  CODE_TTL_SEC,
  RedeemedCodes,
  issueCode,
  parseAuthorizationRequest,
  redeemCode,
} from '../src/signin/authorization.js';
import { ClientMetadataResolver } from '../src/signin/client-metadata.js';
import { checkSignInConfig, parseRoleMappings } from '../src/signin/config.js';
import type { SignInConfig } from '../src/signin/config.js';
import { openLoginState, seal, unseal } from '../src/signin/login-state.js';
import { mapRoles } from '../src/signin/roles.js';
import { safeReturnPath } from '../src/routes/signin.js';

const base: SignInConfig = {
  issuer: 'https://idp.example',
  clientId: 'provenant',
  rolesClaim: 'groups',
  roleMap: parseRoleMappings(['analysts=analyst']),
  userClaim: 'sub',
  scopes: ['email'],
};

describe('role mappings', () => {
  it('parses VALUE=ROLE[,ROLE] with "=" inside the value, merging repeats', () => {
    const map = parseRoleMappings([
      'cn=auditors,ou=groups=auditor,analyst',
      'cn=auditors,ou=groups=auditor',
      'admins=admin',
    ]);
    expect(map.get('cn=auditors,ou=groups')).toEqual(['auditor', 'analyst']);
    expect(map.get('admins')).toEqual(['admin']);
  });

  it('refuses unknown roles and malformed mappings', () => {
    for (const bad of ['analysts', '=analyst', 'analysts=', 'analysts=root', 'x=analyst,']) {
      expect(() => parseRoleMappings([bad]), bad).toThrow(/VALUE=ROLE/);
    }
  });

  it('maps a string or array claim, a dotted path, and ignores unmapped values', () => {
    const map = parseRoleMappings(['analysts=analyst', 'auditors=auditor', 'ops=admin,analyst']);
    expect(mapRoles({ groups: ['staff', 'auditors', 'analysts'] }, 'groups', map)).toEqual([
      'analyst',
      'auditor',
    ]);
    expect(mapRoles({ groups: 'ops' }, 'groups', map)).toEqual(['analyst', 'admin']);
    expect(mapRoles({ realm_access: { roles: ['auditors'] } }, 'realm_access.roles', map)).toEqual([
      'auditor',
    ]);
    expect(mapRoles({ groups: ['staff'] }, 'groups', map)).toEqual([]);
    expect(mapRoles({ groups: [1, null, { a: 1 }] }, 'groups', map)).toEqual([]);
    expect(mapRoles({}, 'groups', map)).toEqual([]);
    expect(mapRoles({ groups: ['analysts'] }, 'groups.__proto__', map)).toEqual([]);
  });
});

describe('the sign-in configuration', () => {
  it('adds openid to the scopes and accepts https, or http on loopback only', () => {
    expect(checkSignInConfig(base).scopes).toEqual(['openid', 'email']);
    expect(checkSignInConfig({ ...base, issuer: 'http://127.0.0.1:8080' }).issuer).toBe(
      'http://127.0.0.1:8080',
    );
    expect(() => checkSignInConfig({ ...base, issuer: 'http://idp.example' })).toThrow(/https/);
    expect(() => checkSignInConfig({ ...base, issuer: 'not a url' })).toThrow(/URL/);
  });

  it('refuses a configuration that maps no role, or names an unknown user claim', () => {
    expect(() => checkSignInConfig({ ...base, roleMap: new Map() })).toThrow(/role mapping/);
    expect(() => checkSignInConfig({ ...base, userClaim: 'nickname' as never })).toThrow(
      /user claim/,
    );
    expect(() => checkSignInConfig({ ...base, clientId: '' })).toThrow(/client id/);
  });
});

describe('sealed sign-in state', () => {
  const key = new Uint8Array(32).fill(7);
  const state = {
    state: 's',
    nonce: 'n',
    verifier: 'v',
    returnTo: '/',
    expiresAt: 2_000,
  };

  it('opens only under the same key and purpose, unaltered and before it expires', () => {
    const sealed = seal(key, 'login', state);
    expect(openLoginState(key, sealed, 1_000)).toEqual(state);
    expect(openLoginState(key, sealed, 2_000)).toBeUndefined();
    expect(openLoginState(new Uint8Array(32).fill(8), sealed, 1_000)).toBeUndefined();
    expect(unseal(key, 'cli-code', sealed)).toBeUndefined();
    const flipped = sealed.slice(0, 20) + (sealed[20] === 'A' ? 'B' : 'A') + sealed.slice(21);
    expect(openLoginState(key, flipped, 1_000)).toBeUndefined();
    expect(openLoginState(key, undefined, 1_000)).toBeUndefined();
    expect(openLoginState(key, 'not base64!', 1_000)).toBeUndefined();
  });
});

describe('return paths', () => {
  it('keeps paths on this collector and refuses anything that leaves it', () => {
    expect(safeReturnPath(undefined)).toBe('/');
    expect(safeReturnPath('/#/events?type=x')).toBe('/#/events?type=x');
    for (const bad of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example',
      'x',
      '/a\nb',
      7,
    ]) {
      expect(() => safeReturnPath(bad), String(bad)).toThrow(/path on this collector/);
    }
  });
});

describe('CLI codes', () => {
  const key = new Uint8Array(32).fill(9);
  const verifier = 'a'.repeat(43);
  const cli = {
    clientId: CLI_CLIENT_ID,
    redirectUri: 'http://127.0.0.1:5555/callback',
    state: 's',
    codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
  };
  const user = { subject: 'user:alice', roles: ['analyst' as const] };
  const form = (code: string) =>
    new Map([
      ['client_id', CLI_CLIENT_ID],
      ['code', code],
      ['redirect_uri', cli.redirectUri],
      ['code_verifier', verifier],
    ]);

  it('is good once, within its minute', () => {
    const code = issueCode(key, user, 'oidc', cli, 1_000_000);
    const redeemed = new RedeemedCodes();
    expect(redeemCode(key, form(code), redeemed, 1_000_000 + 59_000)).toEqual({
      user,
      via: 'oidc',
    });
    expect(() => redeemCode(key, form(code), redeemed, 1_000_000 + 59_000)).toThrow(
      expect.objectContaining({ details: { code: 'code_replayed' } }),
    );
    const late = issueCode(key, user, 'oidc', cli, 1_000_000);
    expect(() =>
      redeemCode(key, form(late), new RedeemedCodes(), 1_000_000 + CODE_TTL_SEC * 1000),
    ).toThrow(expect.objectContaining({ details: { code: 'code_expired' } }));
    // A login cookie is no code, though sealed with the same key.
    expect(() => redeemCode(key, form(seal(key, 'login', user)), redeemed, 0)).toThrow(
      expect.objectContaining({ details: { code: 'code_invalid' } }),
    );
  });

  it('accepts only a loopback redirect with a port, the CLI client and S256', async () => {
    const deps = { clientMetadata: new ClientMetadataResolver(), resources: [] };
    const parse = (q: Record<string, unknown>) => parseAuthorizationRequest(q, deps);
    const ok = {
      response_type: 'code',
      client_id: CLI_CLIENT_ID,
      redirect_uri: 'http://127.0.0.1:5555/callback',
      state: 's',
      code_challenge: cli.codeChallenge,
      code_challenge_method: 'S256',
    };
    expect(await parse(ok)).toMatchObject({ ok: true, request: { redirectUri: ok.redirect_uri } });
    expect(await parse({ ...ok, redirect_uri: 'http://[::1]:5555/cb' })).toMatchObject({
      ok: true,
      request: { state: 's' },
    });
    // Refused here, never redirected: the client or its redirect URI is not known good.
    for (const bad of [
      { redirect_uri: 'http://localhost:5555/callback' },
      { redirect_uri: 'http://127.0.0.1/callback' },
      { redirect_uri: 'https://127.0.0.1:5555/callback' },
      { redirect_uri: 'http://10.0.0.1:5555/callback' },
      { redirect_uri: 'http://u:p@127.0.0.1:5555/callback' },
      { client_id: 'other' },
      { client_id: ['provenant-cli', 'provenant-cli'] },
    ]) {
      await expect(parse({ ...ok, ...bad }), JSON.stringify(bad)).rejects.toThrow();
    }
    // Sent back to the (checked) redirect URI, with the error.
    for (const [bad, error] of [
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: 'short' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ state: '' }, 'invalid_request'],
      [{ resource: 'https://mcp.example/mcp' }, 'invalid_target'],
      [{ scope: 'a "b' }, 'invalid_scope'],
    ] as const) {
      expect(await parse({ ...ok, ...bad }), JSON.stringify(bad)).toMatchObject({
        ok: false,
        refusal: { redirectUri: ok.redirect_uri, error },
      });
    }
  });
});
