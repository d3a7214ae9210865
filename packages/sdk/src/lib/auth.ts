/**
 * The agent instance's side of the issuer: its identity file, RFC 7523 client assertions, and
 * RFC 8693 token exchange at the collector's token endpoint.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, importJWK } from 'jose';
import type { CryptoKey, JWK, KeyObject } from 'jose';
import { InvalidIdentityError, TokenExchangeError, messageOf, networkCause } from '../errors.js';

/** An agent instance's identity: its principal id and private key (the CLI's key file format). */
export interface AgentIdentity {
  readonly principal: string;
  readonly jwk: JWK;
  /** Agent definition name and version recorded in `actor` (name defaults to the SPIFFE id's). */
  readonly agent?: { readonly name?: string; readonly version?: string };
}

/** `{ principal, jwk }` as `provenant principals add --generate-key FILE` writes it. */
export function readIdentityFile(file: string): AgentIdentity {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidIdentityError(`Cannot read the identity file ${file}: ${messageOf(e)}`);
  }
  return checkIdentity(parsed, file);
}

export function checkIdentity(value: unknown, where = 'identity'): AgentIdentity {
  const f = value as Partial<AgentIdentity> | null;
  if (
    typeof f !== 'object' ||
    f === null ||
    typeof f.principal !== 'string' ||
    typeof f.jwk !== 'object' ||
    f.jwk === null ||
    typeof f.jwk.d !== 'string'
  ) {
    throw new InvalidIdentityError(`${where} is not an agent identity (principal + private JWK).`);
  }
  return f as AgentIdentity;
}

const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';

/**
 * Where sessions and delegations get their credentials: RFC 8693 token exchange of
 * `subjectToken` (on whose behalf) for a credential that `actor` acts with. The collector's
 * issuer by default; `memoryIssuer()` in `@provenant/sdk/testing`.
 */
export interface CredentialIssuer {
  exchange(
    subjectToken: string,
    actor: AgentIdentity,
    scope?: readonly string[],
    lifetimeSec?: number,
    target?: ExchangeTarget,
  ): Promise<string>;
}

/**
 * RFC 8693 §2.1 `audience` / `resource`: address the subject credential to another agent. The
 * actor must hold it; the answer keeps the chain and only that agent can exchange it.
 */
export interface ExchangeTarget {
  /** The principal id of the agent the credential is for. */
  readonly audience: string;
  /** The URI of its endpoint (e.g. an A2A agent's URL). */
  readonly resource?: string;
}

/** Talks to the issuer: discovers the token endpoint once, signs assertions, exchanges tokens. */
export class IssuerClient implements CredentialIssuer {
  private endpoint: Promise<string> | null = null;
  private readonly keys = new WeakMap<JWK, Promise<CryptoKey | KeyObject | Uint8Array>>();

  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch,
    private readonly clock: () => number,
  ) {}

  tokenEndpoint(): Promise<string> {
    this.endpoint ??= (async () => {
      const res = await this.fetchFn(
        new URL('/.well-known/oauth-authorization-server', this.baseUrl),
      );
      if (!res.ok) throw new Error(`issuer metadata answered ${res.status}`);
      const meta = (await res.json()) as { token_endpoint?: unknown };
      if (typeof meta.token_endpoint !== 'string')
        throw new Error('issuer metadata has no token_endpoint');
      return meta.token_endpoint;
    })().catch((e: unknown) => {
      this.endpoint = null;
      throw e;
    });
    return this.endpoint;
  }

  /** An RFC 7523 client assertion: iss = sub = the principal, aud = the token endpoint, 60 s. */
  async assertion(identity: AgentIdentity, audience: string): Promise<string> {
    const alg = identity.jwk.alg ?? 'EdDSA';
    let key = this.keys.get(identity.jwk);
    if (!key) {
      key = importJWK(identity.jwk, alg);
      this.keys.set(identity.jwk, key);
    }
    const now = Math.floor(this.clock() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg, kid: identity.jwk.kid ?? '', typ: 'JWT' })
      .setIssuer(identity.principal)
      .setSubject(identity.principal)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(await key);
  }

  /** RFC 8693: `subjectToken` on whose behalf, `actor` who will act; answers the new credential. */
  async exchange(
    subjectToken: string,
    actor: AgentIdentity,
    scope?: readonly string[],
    lifetimeSec?: number,
    target?: ExchangeTarget,
  ): Promise<string> {
    return this.token(actor, async (endpoint) => {
      const form = new URLSearchParams({
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: subjectToken,
        subject_token_type: TOKEN_TYPE_ACCESS,
        actor_token: await this.assertion(actor, endpoint),
        actor_token_type: TOKEN_TYPE_JWT,
      });
      if (scope !== undefined && scope.length > 0) form.set('scope', scope.join(' '));
      if (lifetimeSec !== undefined) form.set('requested_lifetime', String(lifetimeSec));
      if (target !== undefined) form.set('audience', target.audience);
      if (target?.resource !== undefined) form.set('resource', target.resource);
      return form;
    });
  }

  /** RFC 6749 §4.4 with an RFC 7523 assertion: a credential of the agent for itself. */
  async clientCredentials(actor: AgentIdentity, scope?: readonly string[]): Promise<string> {
    return this.token(actor, async (endpoint) => {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await this.assertion(actor, endpoint),
      });
      if (scope !== undefined && scope.length > 0) form.set('scope', scope.join(' '));
      return form;
    });
  }

  private async token(
    actor: AgentIdentity,
    formFor: (endpoint: string) => Promise<URLSearchParams>,
  ): Promise<string> {
    let res: Response;
    try {
      const endpoint = await this.tokenEndpoint();
      const form = await formFor(endpoint);
      res = await this.fetchFn(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } catch (e) {
      // fetch rejects with a TypeError when nothing answers (refused, unresolvable, reset).
      if (e instanceof TypeError) {
        throw new TokenExchangeError(
          `The collector at ${new URL(this.baseUrl).origin} is unreachable: its token endpoint did not answer (${networkCause(e)})`,
          { unreachable: true },
        );
      }
      throw new TokenExchangeError(`The token endpoint could not be reached: ${messageOf(e)}`);
    }
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: unknown;
      error?: unknown;
      error_description?: unknown;
      provenant_code?: unknown;
    };
    if (!res.ok || typeof body.access_token !== 'string') {
      const fields: { oauthError?: string; provenantCode?: string; status?: number } = {
        status: res.status,
      };
      if (typeof body.error === 'string') fields.oauthError = body.error;
      if (typeof body.provenant_code === 'string') fields.provenantCode = body.provenant_code;
      throw new TokenExchangeError(
        `A credential for ${actor.principal} was refused: ${typeof body.error_description === 'string' ? body.error_description : `HTTP ${res.status}`}`,
        fields,
      );
    }
    return body.access_token;
  }
}
