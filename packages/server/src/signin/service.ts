import { timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import { createRemoteJWKSet } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { isPrincipalId } from '@provenant/identity';
import type { TrustedIssuer } from '@provenant/identity';
import { RequestError } from '../errors.js';
import type { SignInConfig } from './config.js';
import type { AuthorizationRequest } from './authorization.js';
import type { LoginState } from './login-state.js';
import { LOGIN_TTL_SEC, openLoginState, seal } from './login-state.js';
import { RelyingParty } from './relying-party.js';
import type { RelyingPartyOptions } from './relying-party.js';
import { mapRoles } from './roles.js';
import type { ConsoleSessions, SignedInUser } from './sessions.js';
import { AccessConsoleSessions } from './sessions.js';

export interface SignInOptions {
  readonly config: SignInConfig;
  /** 32 bytes sealing the login cookie and the CLI's codes (`<data>/signin.key`). */
  readonly key: Uint8Array;
  /** The collector's public base URL (its issuer URL); the callback is below it. */
  readonly baseUrl: string;
  readonly sessions?: ConsoleSessions;
  readonly clock?: () => number;
  /** Replaces fetch towards the provider (tests only). */
  readonly fetch?: RelyingPartyOptions['fetch'];
}

/** The sign-in side of the collector: starts logins, checks callbacks, maps roles. */
export class SignInService {
  readonly rp: RelyingParty;
  readonly sessions: ConsoleSessions;
  readonly config: SignInConfig;
  readonly key: Uint8Array;
  readonly baseUrl: string;
  readonly clock: () => number;

  constructor(o: SignInOptions) {
    if (o.key.length !== 32) throw new TypeError('The sign-in key must be 32 bytes.');
    this.config = o.config;
    this.key = o.key;
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.clock = o.clock ?? Date.now;
    this.sessions = o.sessions ?? new AccessConsoleSessions(8 * 3600, this.clock);
    this.rp = new RelyingParty(o.config, {
      redirectUri: this.callbackUrl,
      clock: this.clock,
      ...(o.fetch === undefined ? {} : { fetch: o.fetch }),
    });
  }

  get callbackUrl(): string {
    return `${this.baseUrl}/v1/auth/callback`;
  }

  /**
   * The provider as a trusted issuer of token-exchange subject tokens: ID tokens issued to this
   * client, checked against the JWKS its metadata names (discovered on first use).
   */
  trustedIssuer(): TrustedIssuer {
    let remote: JWTVerifyGetKey | undefined;
    const jwks: JWTVerifyGetKey = async (header, token) => {
      remote ??= createRemoteJWKSet(new URL(await this.rp.jwksUri()), {
        timeoutDuration: 5_000,
        cooldownDuration: 30_000,
      });
      return remote(header, token);
    };
    return {
      iss: this.config.issuer,
      jwks,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      audience: this.config.clientId,
    };
  }

  /** A fresh login: the provider URL to redirect to and the sealed state for the cookie. */
  async begin(
    returnTo: string,
    authorization?: AuthorizationRequest,
  ): Promise<{ url: URL; sealed: string; state: LoginState }> {
    const state: LoginState = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo,
      expiresAt: this.clock() + LOGIN_TTL_SEC * 1000,
      ...(authorization === undefined ? {} : { authorization }),
    };
    const url = await this.rp.authorizationUrl(state);
    return { url, sealed: seal(this.key, 'login', state), state };
  }

  /** The sign-in this browser started, from its cookie; refused when there is none (or expired). */
  openLogin(sealed: string | undefined): LoginState {
    const login = openLoginState(this.key, sealed, this.clock());
    if (login === undefined) {
      throw new RequestError(
        'signin_state_missing',
        'No sign-in is in progress in this browser (the sign-in cookie is missing, expired or not ours); start again.',
      );
    }
    return login;
  }

  /**
   * Finishes a login: the callback's `state` must be the cookie's, then the code is exchanged
   * and the ID token checked (relying-party.ts), then the roles are mapped. A user the mapping
   * gives no role is refused (`role_required`).
   */
  async complete(callbackUrl: URL, login: LoginState): Promise<SignedInUser> {
    const state = callbackUrl.searchParams.get('state') ?? '';
    if (!sameText(state, login.state)) {
      throw new RequestError(
        'signin_state_mismatch',
        'The callback does not answer the sign-in this browser started (state mismatch).',
      );
    }
    const verified = await this.rp.finish(callbackUrl, login);
    const claims = { ...verified.userinfo, ...verified.claims };
    return this.userOf(claims, { ...verified.claims, ...verified.userinfo });
  }

  /** The principal and roles of verified claims; `roleClaims` prefers UserInfo's groups. */
  private userOf(
    claims: Readonly<Record<string, unknown>>,
    roleClaims: Readonly<Record<string, unknown>>,
  ): SignedInUser {
    const value = claims[this.config.userClaim];
    const subject = `user:${typeof value === 'string' ? value : ''}`;
    if (typeof value !== 'string' || !isPrincipalId(subject)) {
      throw new RequestError(
        'signin_id_token_invalid',
        `The ID token's "${this.config.userClaim}" cannot name a principal (user:<letters, digits, ._~@+->).`,
      );
    }
    const roles = mapRoles(roleClaims, this.config.rolesClaim, this.config.roleMap);
    if (roles.length === 0) {
      throw new RequestError(
        'role_required',
        `${subject} holds no group that maps to a Provenant role (claim "${this.config.rolesClaim}"); ask an administrator for access.`,
      );
    }
    const name = typeof claims['name'] === 'string' ? claims['name'] : claims['email'];
    return { subject, roles, ...(typeof name === 'string' ? { name: name.slice(0, 200) } : {}) };
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
