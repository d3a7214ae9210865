import { createHash, randomBytes } from 'node:crypto';
import { OAuthError } from '@provenant/identity';
import { RequestError } from '../errors.js';
import { isRole } from '@provenant/core';
import { isLoopback } from './config.js';
import type { Role } from '@provenant/core';
import type { CliAuthorization } from './login-state.js';
import { seal, unseal } from './login-state.js';
import type { SignedInUser } from './sessions.js';

/** The collector's public client for `provenant login` (a native app: no secret, PKCE S256). */
export const CLI_CLIENT_ID = 'provenant-cli';
/** How long the CLI has to redeem the code the collector sends to its loopback listener. */
export const CLI_CODE_TTL_SEC = 60;

/**
 * Checks the CLI's authorization request (`GET /v1/auth/authorize`): RFC 8252 §7.3 loopback
 * redirect (http://127.0.0.1:PORT/… or http://[::1]:PORT/…, never another host), the CLI's
 * client id, a state, and an S256 code challenge. Refused before anything is redirected.
 */
export function parseCliAuthorization(query: Record<string, unknown>): CliAuthorization {
  const str = (name: string): string => {
    const v = query[name];
    if (typeof v !== 'string' || v === '' || v.length > 2000) {
      throw new RequestError('invalid_parameter', `The authorization request needs "${name}".`);
    }
    return v;
  };
  if (str('response_type') !== 'code') {
    throw new RequestError('invalid_parameter', 'Only response_type=code is supported.');
  }
  if (str('client_id') !== CLI_CLIENT_ID) {
    throw new RequestError('invalid_parameter', `The only client here is ${CLI_CLIENT_ID}.`);
  }
  const redirectUri = str('redirect_uri');
  let redirect: URL;
  try {
    redirect = new URL(redirectUri);
  } catch {
    throw new RequestError('invalid_parameter', 'redirect_uri is not a URL.');
  }
  if (
    redirect.protocol !== 'http:' ||
    redirect.hostname === 'localhost' ||
    !isLoopback(redirect) ||
    redirect.port === '' ||
    redirect.username !== '' ||
    redirect.password !== '' ||
    redirect.hash !== ''
  ) {
    throw new RequestError(
      'invalid_parameter',
      'redirect_uri must be a loopback address with a port: http://127.0.0.1:PORT/… (RFC 8252).',
    );
  }
  if (str('code_challenge_method') !== 'S256') {
    throw new RequestError('invalid_parameter', 'code_challenge_method must be S256.');
  }
  const codeChallenge = str('code_challenge');
  if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
    throw new RequestError('invalid_parameter', 'code_challenge is not an S256 challenge.');
  }
  return { redirectUri, state: str('state'), codeChallenge };
}

interface CliCode {
  readonly sub: string;
  readonly roles: Role[];
  readonly name?: string;
  readonly challenge: string;
  readonly redirect: string;
  /** Unix ms. */
  readonly exp: number;
  readonly jti: string;
}

/** Seals a single-use code for the CLI, bound to its redirect URI and PKCE challenge. */
export function issueCliCode(
  key: Uint8Array,
  user: SignedInUser,
  cli: CliAuthorization,
  now: number,
): string {
  const code: CliCode = {
    sub: user.subject,
    roles: [...user.roles],
    ...(user.name === undefined ? {} : { name: user.name }),
    challenge: cli.codeChallenge,
    redirect: cli.redirectUri,
    exp: now + CLI_CODE_TTL_SEC * 1000,
    jti: randomBytes(16).toString('base64url'),
  };
  return seal(key, 'cli-code', code);
}

/**
 * Codes already redeemed, until they expire: a code is good once. Held in this process; in a
 * cluster a second redemption at another member would still need the CLI's PKCE verifier.
 */
export class RedeemedCodes {
  private readonly used = new Map<string, number>();

  useOnce(jti: string, exp: number, now: number): boolean {
    for (const [k, e] of this.used) if (e <= now) this.used.delete(k);
    if (this.used.has(jti)) return false;
    this.used.set(jti, exp);
    return true;
  }
}

/**
 * Redeems a CLI code at the token endpoint (grant_type=authorization_code): the code must open,
 * be unexpired and unused, and the request must name the same client and redirect URI and
 * present the verifier of the challenge (RFC 7636 §4.6). Refusals are RFC 6749 errors.
 */
export function redeemCliCode(
  key: Uint8Array,
  form: ReadonlyMap<string, string>,
  redeemed: RedeemedCodes,
  now: number,
): SignedInUser {
  if (form.get('client_id') !== CLI_CLIENT_ID) {
    throw new OAuthError('invalid_client', `The authorization code grant is for ${CLI_CLIENT_ID}.`);
  }
  const code = unseal(key, 'cli-code', form.get('code') ?? '') as CliCode | undefined;
  const refuse = (message: string, reason: string) =>
    new OAuthError('invalid_grant', message, { code: reason });
  if (code === undefined || typeof code !== 'object' || typeof code.jti !== 'string') {
    throw refuse('The authorization code is not one this collector issued.', 'code_invalid');
  }
  if (code.exp <= now) throw refuse('The authorization code has expired.', 'code_expired');
  if (form.get('redirect_uri') !== code.redirect) {
    throw refuse('redirect_uri is not the one the code was issued for.', 'redirect_uri_mismatch');
  }
  const verifier = form.get('code_verifier') ?? '';
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  // The challenge is no secret (it travelled in the authorization URL): a plain comparison.
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || challenge !== code.challenge) {
    throw refuse('The PKCE code_verifier does not match the code challenge.', 'pkce_mismatch');
  }
  if (!redeemed.useOnce(code.jti, code.exp, now)) {
    throw refuse('The authorization code was already used.', 'code_replayed');
  }
  return {
    subject: code.sub,
    roles: code.roles.filter(isRole),
    ...(code.name === undefined ? {} : { name: code.name }),
  };
}
