/**
 * The collector's authorization endpoint (`GET /v1/auth/authorize`, OAuth 2.1 authorization
 * code with PKCE) and its codes, for two kinds of client:
 * - `provenant-cli`, built in: `provenant login`, a native app with a loopback redirect
 *   (RFC 8252 §7.3);
 * - any client whose `client_id` is the https URL of its Client ID Metadata Document (MCP
 *   clients, see client-metadata.ts): the redirect URI must be one the document lists.
 * No dynamic client registration (RFC 7591): the official MCP SDK's OAuth client uses a
 * metadata document when the server says `client_id_metadata_document_supported`, and a
 * pre-registered client id otherwise; neither needs it.
 *
 * A code is sealed (AES-256-GCM under the sign-in key, no server state), bound to its client,
 * redirect URI, PKCE challenge (S256 only), resource (RFC 8707) and scope, lives one minute and
 * is redeemed once (per process) at the token endpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { OAuthError } from '@provenant/identity';
import { isRole } from '@provenant/core';
import type { Role } from '@provenant/core';
import { RequestError } from '../errors.js';
import type { ClientMetadataResolver } from './client-metadata.js';
import { isMetadataClientId } from './client-metadata.js';
import { isLoopback } from './config.js';
import { seal, unseal } from './login-state.js';
import type { SignedInUser } from './sessions.js';

/** The collector's public client for `provenant login` (a native app: no secret, PKCE S256). */
export const CLI_CLIENT_ID = 'provenant-cli';
/** How long a client has to redeem its code. */
export const CODE_TTL_SEC = 60;

/** A checked authorization request: what the code will be bound to. */
export interface AuthorizationRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state?: string;
  /** S256 of the client's PKCE verifier. */
  readonly codeChallenge: string;
  /** RFC 8707: the resource the credential is for. */
  readonly resource?: string;
  /** Requested scopes; absent: the user's scope ceiling. */
  readonly scope?: readonly string[];
  /** The client's name from its metadata document, for the sign-in page. */
  readonly clientName?: string;
}

/** A refusal that goes back to the client's (validated) redirect URI (RFC 6749 §4.1.2.1). */
export interface RedirectedRefusal {
  readonly redirectUri: string;
  readonly state?: string;
  readonly error:
    | 'invalid_request'
    | 'unsupported_response_type'
    | 'invalid_scope'
    | 'invalid_target'
    | 'access_denied'
    | 'temporarily_unavailable'
    | 'server_error';
  readonly description: string;
}

export interface AuthorizationDeps {
  readonly clientMetadata: ClientMetadataResolver;
  /** The resources credentials may be bound to (`serve --resource`). */
  readonly resources: readonly string[];
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;

/**
 * Checks an authorization request. Until the client and its redirect URI are known good, a
 * refusal is thrown (`RequestError`: shown to the user, never redirected, so the endpoint is no
 * open redirector); after, it is returned, to be sent to the client's redirect URI with `iss`.
 */
export async function parseAuthorizationRequest(
  query: Record<string, unknown>,
  deps: AuthorizationDeps,
): Promise<
  { ok: true; request: AuthorizationRequest } | { ok: false; refusal: RedirectedRefusal }
> {
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length > 2048) {
      throw new RequestError(
        'invalid_parameter',
        `"${name}" must be given once, at most 2,048 characters.`,
      );
    }
    return v;
  };
  const clientId = one('client_id');
  if (clientId === undefined || clientId === '') {
    throw new RequestError('invalid_parameter', 'The authorization request needs "client_id".');
  }
  const redirectUri = one('redirect_uri');
  if (redirectUri === undefined || redirectUri === '') {
    throw new RequestError('invalid_parameter', 'The authorization request needs "redirect_uri".');
  }
  let clientName: string | undefined;
  if (clientId === CLI_CLIENT_ID) {
    if (!isCliRedirect(redirectUri)) {
      throw new RequestError(
        'redirect_uri_unregistered',
        'redirect_uri must be a loopback address with a port: http://127.0.0.1:PORT/… (RFC 8252).',
      );
    }
  } else if (isMetadataClientId(clientId)) {
    const doc = await deps.clientMetadata.resolve(clientId);
    // Simple string comparison, as the metadata document draft and OAuth 2.1 ask.
    if (!doc.redirectUris.includes(redirectUri)) {
      throw new RequestError(
        'redirect_uri_unregistered',
        `redirect_uri is not among the redirect_uris of the client's metadata document (${clientId}).`,
      );
    }
    clientName = doc.clientName;
  } else {
    throw new RequestError(
      'client_unknown',
      `Unknown client ${JSON.stringify(clientId.slice(0, 100))}: a client_id here is ${CLI_CLIENT_ID} or the https URL of the client's metadata document.`,
    );
  }
  const state = query['state'];
  if (state !== undefined && (typeof state !== 'string' || state.length > 2048)) {
    throw new RequestError(
      'invalid_parameter',
      '"state" must be given once, at most 2,048 characters.',
    );
  }
  const to = { redirectUri, ...(typeof state === 'string' ? { state } : {}) };
  const refuse = (error: RedirectedRefusal['error'], description: string) => ({
    ok: false as const,
    refusal: { ...to, error, description },
  });
  if (clientId === CLI_CLIENT_ID && (typeof state !== 'string' || state === '')) {
    return refuse('invalid_request', 'The CLI sends a state.');
  }
  const param = (name: string) => {
    const v = query[name];
    return v === undefined || typeof v === 'string' ? v : null;
  };
  if (param('response_type') !== 'code') {
    return refuse('unsupported_response_type', 'Only response_type=code is supported.');
  }
  if (param('code_challenge_method') !== 'S256') {
    return refuse('invalid_request', 'PKCE is required, with code_challenge_method=S256.');
  }
  const codeChallenge = param('code_challenge');
  if (typeof codeChallenge !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
    return refuse('invalid_request', 'code_challenge is not an S256 challenge.');
  }
  const resource = param('resource');
  if (resource === null) {
    return refuse('invalid_target', 'One resource per authorization request.');
  }
  if (resource !== undefined && !deps.resources.includes(resource)) {
    return refuse(
      'invalid_target',
      `This authorization server issues no credential for the resource ${JSON.stringify(resource.slice(0, 200))}.`,
    );
  }
  const scopeParam = param('scope');
  if (scopeParam === null) return refuse('invalid_scope', 'One scope parameter.');
  let scope: string[] | undefined;
  if (scopeParam !== undefined) {
    scope = scopeParam.split(' ').filter((s) => s !== '');
    if (scope.length > 64 || !scope.every((s) => SCOPE_TOKEN.test(s))) {
      return refuse('invalid_scope', 'scope is not a list of at most 64 OAuth scope tokens.');
    }
  }
  return {
    ok: true,
    request: {
      clientId,
      redirectUri,
      ...(typeof state === 'string' ? { state } : {}),
      codeChallenge,
      ...(resource === undefined ? {} : { resource }),
      ...(scope === undefined ? {} : { scope }),
      ...(clientName === undefined ? {} : { clientName }),
    },
  };
}

/** RFC 8252 §7.3: http on a loopback IP literal, with a port; never `localhost`, never credentials. */
function isCliRedirect(value: string): boolean {
  let redirect: URL;
  try {
    redirect = new URL(value);
  } catch {
    return false;
  }
  return (
    redirect.protocol === 'http:' &&
    redirect.hostname !== 'localhost' &&
    isLoopback(redirect) &&
    redirect.port !== '' &&
    redirect.username === '' &&
    redirect.password === '' &&
    redirect.hash === ''
  );
}

/** Where the authorization response goes: `params`, the request's `state` and `iss` (RFC 9207). */
export function authorizationResponse(
  to: { readonly redirectUri: string; readonly state?: string },
  iss: string,
  params: Record<string, string>,
): string {
  const url = new URL(to.redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (to.state !== undefined) url.searchParams.set('state', to.state);
  url.searchParams.set('iss', iss);
  return url.href;
}

/** How the human signed in: through the OpenID provider, or the development sign-in. */
export type SignInVia = 'oidc' | 'dev';

interface SealedCode {
  readonly sub: string;
  readonly roles: Role[];
  readonly name?: string;
  readonly via: SignInVia;
  readonly client: string;
  readonly challenge: string;
  readonly redirect: string;
  readonly resource?: string;
  readonly scope?: string[];
  /** Unix ms. */
  readonly exp: number;
  readonly jti: string;
}

/** Seals a single-use code for `user`, bound to the request it answers. */
export function issueCode(
  key: Uint8Array,
  user: SignedInUser,
  via: SignInVia,
  request: AuthorizationRequest,
  now: number,
): string {
  const code: SealedCode = {
    sub: user.subject,
    roles: [...user.roles],
    ...(user.name === undefined ? {} : { name: user.name }),
    via,
    client: request.clientId,
    challenge: request.codeChallenge,
    redirect: request.redirectUri,
    ...(request.resource === undefined ? {} : { resource: request.resource }),
    ...(request.scope === undefined ? {} : { scope: [...request.scope] }),
    exp: now + CODE_TTL_SEC * 1000,
    jti: randomBytes(16).toString('base64url'),
  };
  return seal(key, 'code', code);
}

/**
 * Codes already redeemed, until they expire: a code is good once. Held in this process; in a
 * cluster a second redemption at another member would still need the client's PKCE verifier.
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

/** What a redeemed code stands for: who signed in, how, and what the credential is for. */
export interface RedeemedCode {
  readonly user: SignedInUser;
  readonly via: SignInVia;
  readonly resource?: string;
  readonly scope?: readonly string[];
}

/**
 * Redeems a code at the token endpoint (grant_type=authorization_code, RFC 6749 §4.1.3 and
 * RFC 7636 §4.6): it must open, be unexpired and unused; the request must name the same client,
 * redirect URI and (if any) resource, and present the verifier of the challenge. The client is
 * public (`none`): PKCE is its proof. Refusals are RFC 6749 errors.
 */
export function redeemCode(
  key: Uint8Array,
  form: ReadonlyMap<string, string>,
  redeemed: RedeemedCodes,
  now: number,
): RedeemedCode {
  const refuse = (message: string, reason: string) =>
    new OAuthError('invalid_grant', message, { code: reason });
  const clientId = form.get('client_id');
  if (clientId === undefined || clientId === '') {
    throw new OAuthError('invalid_client', 'The authorization code grant needs the client_id.', {
      code: 'client_id_missing',
    });
  }
  if (form.has('client_assertion') || form.has('client_secret')) {
    throw new OAuthError(
      'invalid_client',
      'Clients of the authorization endpoint are public here (token_endpoint_auth_method none, PKCE).',
      { code: 'client_auth_unsupported' },
    );
  }
  const code = unseal(key, 'code', form.get('code') ?? '') as SealedCode | undefined;
  if (
    code === undefined ||
    typeof code !== 'object' ||
    typeof code.jti !== 'string' ||
    typeof code.client !== 'string'
  ) {
    throw refuse('The authorization code is not one this collector issued.', 'code_invalid');
  }
  if (clientId !== code.client) {
    throw new OAuthError('invalid_client', 'The code was issued to another client.', {
      code: 'client_mismatch',
    });
  }
  if (code.exp <= now) throw refuse('The authorization code has expired.', 'code_expired');
  if (form.get('redirect_uri') !== code.redirect) {
    throw refuse('redirect_uri is not the one the code was issued for.', 'redirect_uri_mismatch');
  }
  const resource = form.get('resource');
  if (resource !== undefined && resource !== code.resource) {
    throw new OAuthError(
      'invalid_target',
      'resource is not the one the authorization request named (RFC 8707).',
      { code: 'resource_mismatch' },
    );
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
    user: {
      subject: code.sub,
      roles: code.roles.filter(isRole),
      ...(code.name === undefined ? {} : { name: code.name }),
    },
    via: code.via === 'dev' ? 'dev' : 'oidc',
    ...(code.resource === undefined ? {} : { resource: code.resource }),
    ...(code.scope === undefined ? {} : { scope: code.scope }),
  };
}

/** A sealed authorization request, carried by the dev sign-in page's form (ten minutes). */
export function sealRequest(key: Uint8Array, request: AuthorizationRequest, now: number): string {
  return seal(key, 'authorize', { request, exp: now + 600_000 });
}

export function openRequest(
  key: Uint8Array,
  sealed: string,
  now: number,
): AuthorizationRequest | undefined {
  const v = unseal(key, 'authorize', sealed) as
    { request?: AuthorizationRequest; exp?: number } | undefined;
  if (typeof v !== 'object' || v === null || typeof v.exp !== 'number' || v.exp <= now) {
    return undefined;
  }
  const r = v.request;
  return typeof r === 'object' && r !== null && typeof r.clientId === 'string' ? r : undefined;
}

/**
 * The authorization endpoint's state: the sign-in key (`<data>/signin.key`, shared by a
 * cluster's members), the redeemed codes, the metadata document cache.
 */
export class AuthorizationService {
  readonly key: Uint8Array;
  /** RFC 9207 `iss` of every authorization response: the collector's issuer identifier. */
  readonly issuer: string;
  readonly resources: readonly string[];
  readonly clientMetadata: ClientMetadataResolver;
  private readonly clock: () => number;
  private readonly redeemed = new RedeemedCodes();

  constructor(o: {
    key: Uint8Array;
    issuer: string;
    resources: readonly string[];
    clientMetadata: ClientMetadataResolver;
    clock?: () => number;
  }) {
    if (o.key.length !== 32) throw new TypeError('The sign-in key must be 32 bytes.');
    this.key = o.key;
    this.issuer = o.issuer;
    this.resources = o.resources;
    this.clientMetadata = o.clientMetadata;
    this.clock = o.clock ?? Date.now;
  }

  parse(query: Record<string, unknown>) {
    return parseAuthorizationRequest(query, this);
  }

  /** The redirect carrying a fresh code for `user` to the client. */
  codeResponse(user: SignedInUser, via: SignInVia, request: AuthorizationRequest): string {
    return authorizationResponse(request, this.issuer, {
      code: issueCode(this.key, user, via, request, this.clock()),
    });
  }

  /** The redirect carrying a refusal to the client (its redirect URI was checked). */
  refusalResponse(refusal: RedirectedRefusal): string {
    return authorizationResponse(refusal, this.issuer, {
      error: refusal.error,
      error_description: refusal.description,
    });
  }

  redeem(form: ReadonlyMap<string, string>): RedeemedCode {
    return redeemCode(this.key, form, this.redeemed, this.clock());
  }

  sealRequest(request: AuthorizationRequest): string {
    return sealRequest(this.key, request, this.clock());
  }

  openRequest(sealed: string): AuthorizationRequest | undefined {
    return openRequest(this.key, sealed, this.clock());
  }
}
