import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CLI_CLIENT_ID,
  CLI_CODE_TTL_SEC,
  RedeemedCodes,
  issueCliCode,
  parseCliAuthorization,
  redeemCliCode,
} from '../src/signin/cli-codes.js';
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
    const code = issueCliCode(key, user, cli, 1_000_000);
    const redeemed = new RedeemedCodes();
    expect(redeemCliCode(key, form(code), redeemed, 1_000_000 + 59_000)).toEqual(user);
    expect(() => redeemCliCode(key, form(code), redeemed, 1_000_000 + 59_000)).toThrow(
      expect.objectContaining({ details: { code: 'code_replayed' } }),
    );
    const late = issueCliCode(key, user, cli, 1_000_000);
    expect(() =>
      redeemCliCode(key, form(late), new RedeemedCodes(), 1_000_000 + CLI_CODE_TTL_SEC * 1000),
    ).toThrow(expect.objectContaining({ details: { code: 'code_expired' } }));
    // A login cookie is no code, though sealed with the same key.
    expect(() => redeemCliCode(key, form(seal(key, 'login', user)), redeemed, 0)).toThrow(
      expect.objectContaining({ details: { code: 'code_invalid' } }),
    );
  });

  it('accepts only a loopback redirect with a port, the CLI client and S256', () => {
    const ok = {
      response_type: 'code',
      client_id: CLI_CLIENT_ID,
      redirect_uri: 'http://127.0.0.1:5555/callback',
      state: 's',
      code_challenge: cli.codeChallenge,
      code_challenge_method: 'S256',
    };
    expect(parseCliAuthorization(ok).redirectUri).toBe(ok.redirect_uri);
    expect(parseCliAuthorization({ ...ok, redirect_uri: 'http://[::1]:5555/cb' }).state).toBe('s');
    for (const bad of [
      { redirect_uri: 'http://localhost:5555/callback' },
      { redirect_uri: 'http://127.0.0.1/callback' },
      { redirect_uri: 'https://127.0.0.1:5555/callback' },
      { redirect_uri: 'http://10.0.0.1:5555/callback' },
      { redirect_uri: 'http://u:p@127.0.0.1:5555/callback' },
      { client_id: 'other' },
      { code_challenge_method: 'plain' },
      { code_challenge: 'short' },
      { response_type: 'token' },
      { state: '' },
    ]) {
      expect(() => parseCliAuthorization({ ...ok, ...bad }), JSON.stringify(bad)).toThrow();
    }
  });
});
