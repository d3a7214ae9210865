import * as oidc from 'openid-client';
import { RequestError } from '../errors.js';
import type { SignInConfig } from './config.js';
import { isLoopback } from './config.js';

/** What the collector keeps of a verified ID token: its claims (never the token itself). */
export interface VerifiedSignIn {
  readonly claims: Readonly<Record<string, unknown>>;
  /** Claims from the UserInfo endpoint, when the ID token lacked the roles claim. */
  readonly userinfo?: Readonly<Record<string, unknown>>;
}

export interface RelyingPartyOptions {
  /** The collector's callback URL, registered at the provider as a redirect URI. */
  readonly redirectUri: string;
  /** The clock the ID token's times are checked against (tests move it); default Date.now. */
  readonly clock?: () => number;
  /** Replaces fetch for every request to the provider (tests stand between the two with it). */
  readonly fetch?: typeof fetch;
}

/**
 * The collector as an OpenID Connect relying party, on `openid-client`: discovery, the
 * authorization request (state, nonce, PKCE S256) and the code exchange, whose ID token is
 * checked for signature (non-repudiation checks on: the signature is verified against the
 * provider's JWKS even though the token came over TLS), `iss`, `aud`, `exp`/`iat`, `nonce`.
 */
export class RelyingParty {
  private discovered: Promise<oidc.ServerMetadata> | undefined;

  constructor(
    readonly config: SignInConfig,
    private readonly options: RelyingPartyOptions,
  ) {}

  /** The provider's metadata, discovered once (a failed discovery is retried on the next call). */
  metadata(): Promise<oidc.ServerMetadata> {
    this.discovered ??= this.discover().catch((e: unknown) => {
      this.discovered = undefined;
      throw e;
    });
    return this.discovered;
  }

  private get insecure(): boolean {
    const issuer = new URL(this.config.issuer);
    return issuer.protocol === 'http:' && isLoopback(issuer);
  }

  private async discover(): Promise<oidc.ServerMetadata> {
    try {
      const found = await oidc.discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        undefined,
        undefined,
        {
          execute: this.insecure ? [oidc.allowInsecureRequests] : [],
          timeout: 10,
          ...(this.options.fetch === undefined ? {} : { [oidc.customFetch]: this.fetcher() }),
        },
      );
      return { ...found.serverMetadata() };
    } catch (e) {
      throw new RequestError(
        'signin_provider_unavailable',
        `The OpenID provider's metadata cannot be read: ${describe(e)}.`,
      );
    }
  }

  /**
   * A client configuration over the discovered metadata, made per use so its clock is the
   * collector's at that moment (openid-client reads the skew from the client metadata).
   */
  async configuration(): Promise<oidc.Configuration> {
    const server = await this.metadata();
    const clock = this.options.clock;
    const metadata: Partial<oidc.ClientMetadata> = {
      ...(this.config.clientSecret === undefined
        ? {}
        : { client_secret: this.config.clientSecret }),
      // Seconds the local clock is behind the one the checks must use.
      ...(clock === undefined
        ? {}
        : { [oidc.clockSkew]: Math.round((clock() - Date.now()) / 1000) }),
    };
    const configuration = new oidc.Configuration(
      server,
      this.config.clientId,
      metadata,
      this.config.clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(),
    );
    if (this.insecure) oidc.allowInsecureRequests(configuration);
    oidc.enableNonRepudiationChecks(configuration);
    if (this.options.fetch !== undefined) configuration[oidc.customFetch] = this.fetcher();
    configuration.timeout = 10;
    return configuration;
  }

  private fetcher(): NonNullable<oidc.DiscoveryRequestOptions[typeof oidc.customFetch]> {
    const f = this.options.fetch!;
    return (url, init) => f(url, init as RequestInit);
  }

  /** The URL to send the browser to, for a fresh state, nonce and PKCE verifier. */
  async authorizationUrl(login: { state: string; nonce: string; verifier: string }): Promise<URL> {
    const configuration = await this.configuration();
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.options.redirectUri,
      response_type: 'code',
      scope: this.config.scopes.join(' '),
      state: login.state,
      nonce: login.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * Exchanges the code the provider sent to `callbackUrl` and checks what came back. `verifier`
   * undefined sends no PKCE verifier (a provider that enforces PKCE refuses the code).
   */
  async finish(
    callbackUrl: URL,
    expected: { state: string; nonce: string; verifier: string | undefined },
  ): Promise<VerifiedSignIn> {
    const configuration = await this.configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
        ...(expected.verifier === undefined ? {} : { pkceCodeVerifier: expected.verifier }),
      });
    } catch (e) {
      throw signInFailure(e);
    }
    const claims = tokens.claims();
    if (claims === undefined) {
      throw new RequestError('signin_id_token_invalid', 'The provider returned no ID token.');
    }
    const plain = { ...claims } as Record<string, unknown>;
    if (hasClaim(plain, this.config.rolesClaim) || tokens.access_token === undefined) {
      return { claims: plain };
    }
    // Some providers put groups in UserInfo only; it must name the same subject.
    const endpoint = configuration.serverMetadata().userinfo_endpoint;
    if (endpoint === undefined) return { claims: plain };
    try {
      const userinfo = await oidc.fetchUserInfo(configuration, tokens.access_token, claims.sub);
      return { claims: plain, userinfo: { ...userinfo } as Record<string, unknown> };
    } catch (e) {
      throw signInFailure(e);
    }
  }

  /** The provider's RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0), if it has one. */
  async endSessionUrl(postLogoutRedirectUri: string): Promise<URL | undefined> {
    let configuration: oidc.Configuration;
    try {
      configuration = await this.configuration();
    } catch {
      return undefined; // the local session is ended either way
    }
    if (configuration.serverMetadata().end_session_endpoint === undefined) return undefined;
    return oidc.buildEndSessionUrl(configuration, {
      client_id: this.config.clientId,
      post_logout_redirect_uri: postLogoutRedirectUri,
    });
  }

  /** The provider's JWKS URL, for trusting its ID tokens as token-exchange subject tokens. */
  async jwksUri(): Promise<string> {
    const uri = (await this.metadata()).jwks_uri;
    if (uri === undefined) {
      throw new RequestError('signin_provider_unavailable', 'The provider publishes no jwks_uri.');
    }
    return uri;
  }
}

function hasClaim(claims: Record<string, unknown>, path: string): boolean {
  let node: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return false;
    if (!Object.prototype.hasOwnProperty.call(node, part)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return true;
}

/** An openid-client failure as the collector's wire error: whose fault, and what to do. */
export function signInFailure(e: unknown): RequestError {
  if (e instanceof RequestError) return e;
  if (e instanceof oidc.AuthorizationResponseError) {
    return new RequestError(
      'signin_refused',
      `The provider refused the sign-in: ${e.error}${e.error_description ? ` (${e.error_description})` : ''}.`,
    );
  }
  if (e instanceof oidc.ResponseBodyError) {
    if (e.error === 'invalid_grant') {
      return new RequestError(
        'signin_code_rejected',
        `The provider refused the authorization code (used before, expired, or the PKCE verifier does not match): ${e.error_description ?? e.error}.`,
      );
    }
    return new RequestError(
      'signin_provider_unavailable',
      `The provider's token endpoint answered ${e.error}: ${e.error_description ?? ''}.`,
    );
  }
  const code = (e as { code?: unknown }).code;
  if (e instanceof oidc.ClientError && typeof code === 'string') {
    if (
      code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' ||
      code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' ||
      code === 'OAUTH_INVALID_RESPONSE' ||
      code === 'OAUTH_KEY_SELECTION_FAILED'
    ) {
      return new RequestError(
        'signin_id_token_invalid',
        `The ID token failed validation: ${describe(e)}.`,
      );
    }
    if (code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
      return new RequestError(
        'signin_state_mismatch',
        `The authorization response does not match the request: ${describe(e)}.`,
      );
    }
  }
  return new RequestError(
    'signin_provider_unavailable',
    `The provider cannot be reached or answered unexpectedly: ${describe(e)}.`,
  );
}

/** The innermost message of an error chain (openid-client wraps oauth4webapi's). */
function describe(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur instanceof Error; i++) {
    if (!parts.includes(cur.message)) parts.push(cur.message);
    cur = cur.cause;
  }
  return parts.join(': ').slice(0, 300) || 'unknown error';
}
