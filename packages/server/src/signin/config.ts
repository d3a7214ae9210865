import { ProvenantError, ROLES, isRole } from '@provenant/core';
import type { Role } from '@provenant/core';

/** Which claim of the ID token names the user: the principal is `user:<that claim's value>`. */
export const USER_CLAIMS = ['sub', 'email', 'preferred_username'] as const;
export type UserClaim = (typeof USER_CLAIMS)[number];

/**
 * Sign-in through an OpenID provider (authorization code + PKCE). Everything here is the
 * operator's configuration; nothing is read from a request.
 */
export interface SignInConfig {
  /** The provider's issuer identifier; its metadata is discovered at `/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clientId: string;
  /** A confidential client's secret (client_secret_basic); none for a public client (PKCE only). */
  readonly clientSecret?: string;
  /** The claim holding the user's groups or roles at the provider; a dotted path reaches into objects. */
  readonly rolesClaim: string;
  /** Provider group or claim value → the Provenant roles it grants. */
  readonly roleMap: ReadonlyMap<string, readonly Role[]>;
  readonly userClaim: UserClaim;
  /** Scopes asked for; `openid` is always among them. */
  readonly scopes: readonly string[];
}

export const DEFAULT_SIGNIN_SCOPES: readonly string[] = ['openid', 'email', 'profile'];

export class SignInConfigError extends ProvenantError {
  constructor(message: string) {
    super('config_invalid', message);
    this.name = 'SignInConfigError';
  }
}

/**
 * Parses `VALUE=ROLE[,ROLE…]` mappings (the `--oidc-role` flag). The last "=" separates, so a
 * value may itself hold "=" (an LDAP DN such as `cn=auditors,ou=groups`).
 */
export function parseRoleMappings(specs: readonly string[]): Map<string, Role[]> {
  const map = new Map<string, Role[]>();
  for (const spec of specs) {
    const eq = spec.lastIndexOf('=');
    const value = eq < 0 ? '' : spec.slice(0, eq);
    const roles =
      eq < 0
        ? []
        : spec
            .slice(eq + 1)
            .split(',')
            .map((r) => r.trim());
    if (value === '' || roles.length === 0 || roles.some((r) => !isRole(r))) {
      throw new SignInConfigError(
        `A role mapping is VALUE=ROLE[,ROLE], roles among ${ROLES.join(', ')}; got "${spec}".`,
      );
    }
    const held = map.get(value) ?? [];
    map.set(value, [...new Set([...held, ...(roles as Role[])])]);
  }
  return map;
}

/**
 * Checks a sign-in configuration: an https issuer (http only on a loopback address, for
 * development and tests), at least one role mapping, a known user claim.
 */
export function checkSignInConfig(config: SignInConfig): SignInConfig {
  let issuer: URL;
  try {
    issuer = new URL(config.issuer);
  } catch {
    throw new SignInConfigError(`The OIDC issuer must be a URL; got "${config.issuer}".`);
  }
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer))) {
    throw new SignInConfigError('The OIDC issuer must be https (http only on a loopback address).');
  }
  if (config.clientId === '') throw new SignInConfigError('The OIDC client id is empty.');
  if (config.roleMap.size === 0) {
    throw new SignInConfigError(
      'Sign-in needs at least one role mapping (e.g. --oidc-role analysts=analyst): a user with no role is refused.',
    );
  }
  if (!(USER_CLAIMS as readonly string[]).includes(config.userClaim)) {
    throw new SignInConfigError(`The user claim must be one of ${USER_CLAIMS.join(', ')}.`);
  }
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(config.rolesClaim)) {
    throw new SignInConfigError(`The roles claim "${config.rolesClaim}" is not a claim name.`);
  }
  return { ...config, scopes: [...new Set(['openid', ...config.scopes])] };
}

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can answer for. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
