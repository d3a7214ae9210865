import {
  GRANT_TYPE_JWT_BEARER,
  OAuthError,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_TXN_TOKEN,
} from '@provenant/identity';
import type { IssuedCredential, IssuedGrant } from '@provenant/identity';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CollectorContext } from '../context.js';
import { appendRecords } from '../ingest/append.js';
import { RequestError } from '../errors.js';
import { prepareOwnRecord } from '../ingest/prepare.js';
import { witnessRecord } from '../identity/service.js';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_DEV_LOGIN = 'urn:provenant:params:oauth:grant-type:dev-login';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_FORM_BYTES = 64 * 1024;

/** RFC 6749 §5.2 error body; `provenant_code` names the precise rule that refused. */
function oauthError(
  reply: FastifyReply,
  status: number,
  error: string,
  description: string,
  code?: string,
) {
  void reply.header('cache-control', 'no-store');
  return reply
    .code(status)
    .send({ error, error_description: description, ...(code ? { provenant_code: code } : {}) });
}

/** Parses an application/x-www-form-urlencoded body; each parameter at most once (RFC 6749 §3.2). */
function parseForm(body: unknown, contentType: string | undefined): Map<string, string> {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new OAuthError(
      'invalid_request',
      'The token endpoint takes application/x-www-form-urlencoded.',
    );
  }
  const text = typeof body === 'string' ? body : '';
  if (text.length > MAX_FORM_BYTES)
    throw new OAuthError('invalid_request', 'The request is too large.');
  const form = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) {
    if (form.has(k))
      throw new OAuthError(
        'invalid_request',
        `Parameter "${k.slice(0, 40)}" appears more than once.`,
      );
    form.set(k, v);
  }
  return form;
}

const scopeOf = (form: Map<string, string>) => {
  const s = form.get('scope');
  return s === undefined ? undefined : s.split(' ').filter((x) => x.length > 0);
};

/** The parameters of an identity-chaining token exchange (§2.3). */
function chainGrantRequest(form: Map<string, string>) {
  const subjectToken = form.get('subject_token');
  const subjectTokenType = form.get('subject_token_type');
  const actorToken = form.get('actor_token');
  const actorTokenType = form.get('actor_token_type');
  if (!subjectToken || !actorToken || !subjectTokenType || !actorTokenType) {
    throw new OAuthError(
      'invalid_request',
      "A grant for another domain needs subject_token, subject_token_type and the holder's actor_token, actor_token_type.",
    );
  }
  if (
    ![TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT].includes(subjectTokenType) ||
    actorTokenType !== TOKEN_TYPE_JWT
  ) {
    throw new OAuthError('invalid_request', 'Unsupported subject_token_type or actor_token_type.', {
      code: 'unsupported_token_type',
    });
  }
  const lifetime = form.get('requested_lifetime');
  const audience = form.get('audience');
  const resource = form.get('resource');
  return {
    subjectToken,
    actorToken,
    ...(scopeOf(form) ? { scope: scopeOf(form)! } : {}),
    ...(lifetime !== undefined ? { requestedLifetimeSec: Number(lifetime) } : {}),
    ...(audience !== undefined ? { audience } : {}),
    ...(resource !== undefined ? { resource } : {}),
  };
}

/** The §2.3 answer: RFC 8693 §2.2.1, the grant as `access_token` of type `jwt`, `N_A`. */
function sendGrant(reply: FastifyReply, issued: IssuedGrant) {
  void reply.header('cache-control', 'no-store');
  return reply.send({
    access_token: issued.grant,
    issued_token_type: TOKEN_TYPE_JWT,
    token_type: 'N_A',
    expires_in: issued.expiresIn,
    scope: issued.scope.join(' '),
  });
}

export function tokenRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const identity = () => {
    if (!ctx.identity) throw new RequestError('not_found', 'This collector runs no issuer.');
    return ctx.identity;
  };

  /** Writes the issuer's witness record before the token leaves: no unrecorded credential exists. */
  const witness = async (issued: Pick<IssuedCredential, 'witness'>) => {
    const id = identity();
    const now = (ctx.clock ?? Date.now)();
    const p = prepareOwnRecord(witnessRecord(issued.witness, id.config.issuer, id.directory, now), {
      level: 'verified',
      reasons: ['issuer_witness'],
    });
    if (p.ok) await appendRecords(ctx, [p]);
  };

  app.post('/v1/token', async (request, reply) => {
    const id = identity();
    try {
      const form = parseForm(request.body, request.headers['content-type']);
      const grant = form.get('grant_type');
      let issued: IssuedCredential;
      if (grant === GRANT_TOKEN_EXCHANGE && form.get('requested_token_type') === TOKEN_TYPE_JWT) {
        // Identity chaining §2.3: a JWT authorization grant for another trust domain's AS.
        const chained = await id.issuer.chainGrant(chainGrantRequest(form));
        await witness(chained);
        return sendGrant(reply, chained);
      }
      if (
        grant === GRANT_TOKEN_EXCHANGE &&
        form.get('requested_token_type') === TOKEN_TYPE_TXN_TOKEN
      ) {
        // draft-ietf-oauth-transaction-tokens-10 "Txn-Token Request" / "Txn-Token Response".
        if (form.get('client_assertion_type') !== ASSERTION_TYPE || !form.get('client_assertion')) {
          throw new OAuthError(
            'invalid_client',
            "A Txn-Token Request needs the requesting workload's client assertion (private_key_jwt or a JWT-SVID).",
          );
        }
        const subjectToken = form.get('subject_token');
        const subjectTokenType = form.get('subject_token_type');
        if (!subjectToken || !subjectTokenType) {
          throw new OAuthError(
            'invalid_request',
            'A Txn-Token Request needs subject_token and subject_token_type.',
          );
        }
        const details = form.get('request_details');
        const context = form.get('request_context');
        const audience = form.get('audience');
        const scope = scopeOf(form);
        const txn = await id.issuer.txnToken({
          clientAssertion: form.get('client_assertion')!,
          subjectToken,
          subjectTokenType,
          ...(audience === undefined ? {} : { audience }),
          ...(scope === undefined ? {} : { scope }),
          ...(details === undefined ? {} : { requestDetails: details }),
          ...(context === undefined ? {} : { requestContext: context }),
        });
        await witness(txn);
        void reply.header('cache-control', 'no-store');
        return reply.send({
          access_token: txn.token,
          issued_token_type: TOKEN_TYPE_TXN_TOKEN,
          token_type: 'N_A',
          expires_in: txn.expiresIn,
        });
      }
      if (grant === 'client_credentials') {
        if (form.get('client_assertion_type') !== ASSERTION_TYPE || !form.get('client_assertion')) {
          throw new OAuthError(
            'invalid_client',
            'client_credentials needs a private_key_jwt client assertion.',
          );
        }
        issued = await id.issuer.clientCredentials(
          form.get('client_assertion')!,
          scopeOf(form),
          form.get('resource'),
        );
      } else if (grant === GRANT_TOKEN_EXCHANGE) {
        const subjectToken = form.get('subject_token');
        const subjectTokenType = form.get('subject_token_type');
        const actorToken = form.get('actor_token');
        const actorTokenType = form.get('actor_token_type');
        if (!subjectToken || !subjectTokenType || !actorToken || !actorTokenType) {
          throw new OAuthError(
            'invalid_request',
            'Token exchange needs subject_token, subject_token_type, actor_token and actor_token_type.',
          );
        }
        const lifetime = form.get('requested_lifetime');
        const audience = form.get('audience');
        const resource = form.get('resource');
        issued = await id.issuer.exchange({
          subjectToken,
          subjectTokenType: subjectTokenType as never,
          actorToken,
          actorTokenType: actorTokenType as never,
          ...(scopeOf(form) ? { scope: scopeOf(form)! } : {}),
          ...(lifetime !== undefined ? { requestedLifetimeSec: Number(lifetime) } : {}),
          ...(audience !== undefined ? { audience } : {}),
          ...(resource !== undefined ? { resource } : {}),
        });
      } else if (grant === GRANT_TYPE_JWT_BEARER) {
        // RFC 7523 §2.1: an ID-JAG or a trusted domain's grant, by an authenticated client.
        const assertion = form.get('assertion');
        if (!assertion) throw new OAuthError('invalid_request', 'jwt-bearer needs an assertion.');
        if (form.get('client_assertion_type') !== ASSERTION_TYPE || !form.get('client_assertion')) {
          throw new OAuthError(
            'invalid_client',
            'The JWT bearer grant needs the client to authenticate (private_key_jwt).',
          );
        }
        const lifetime = form.get('requested_lifetime');
        issued = await id.issuer.jwtBearer({
          assertion,
          clientAssertion: form.get('client_assertion')!,
          ...(scopeOf(form) ? { scope: scopeOf(form)! } : {}),
          ...(lifetime !== undefined ? { requestedLifetimeSec: Number(lifetime) } : {}),
        });
      } else if (grant === 'authorization_code') {
        // A code of the authorization endpoint: the CLI's, or an MCP client's (PKCE, public).
        if (!ctx.authorization) {
          throw new OAuthError('unsupported_grant_type', 'This collector signs nobody in.');
        }
        const redeemed = ctx.authorization.redeem(form);
        issued =
          redeemed.via === 'dev'
            ? await id.issuer.devLogin(
                redeemed.user.subject.slice('user:'.length),
                redeemed.scope === undefined ? undefined : [...redeemed.scope],
                undefined,
                redeemed.resource,
              )
            : await id.issuer.signIn({
                subject: redeemed.user.subject,
                roles: redeemed.user.roles,
                ...(redeemed.scope === undefined ? {} : { scope: redeemed.scope }),
                ...(redeemed.resource === undefined ? {} : { resource: redeemed.resource }),
              });
      } else if (grant === GRANT_DEV_LOGIN) {
        const user = form.get('username');
        if (!user) throw new OAuthError('invalid_request', 'dev-login needs a username.');
        issued = await id.issuer.devLogin(
          user,
          scopeOf(form) ?? [],
          undefined,
          form.get('resource'),
        );
      } else {
        throw new OAuthError(
          'unsupported_grant_type',
          'Supported: client_credentials, authorization_code, token exchange (RFC 8693), jwt-bearer (RFC 7523).',
        );
      }
      await witness(issued);
      void reply.header('cache-control', 'no-store');
      return reply.send({
        access_token: issued.token,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        scope: issued.claims.scope,
      });
    } catch (e) {
      if (e instanceof OAuthError) {
        return oauthError(
          reply,
          e.status,
          e.code,
          e.message,
          (e.details?.['code'] as string | undefined) ?? undefined,
        );
      }
      throw e;
    }
  });

  app.post('/v1/token/revoke', async (request, reply) => {
    const id = identity();
    try {
      const form = parseForm(request.body, request.headers['content-type']);
      const token = form.get('token');
      if (!token) throw new OAuthError('invalid_request', 'Revocation needs the token to revoke.');
      // Holding the credential is the authority to revoke it (RFC 7009); it must be one of ours.
      // Of any audience: a credential addressed to an agent is revoked the same way.
      const verified = await id.subjectVerifier
        .verify(token, { audience: null })
        .catch((e: unknown) => {
          throw new OAuthError(
            'invalid_request',
            `The token is not a valid credential of this issuer: ${(e as Error).message}`,
          );
        });
      const w = await id.issuer.revoke(verified);
      const now = (ctx.clock ?? Date.now)();
      const p = prepareOwnRecord(witnessRecord(w, id.config.issuer, id.directory, now), {
        level: 'verified',
        reasons: ['issuer_witness'],
      });
      if (p.ok) await appendRecords(ctx, [p]);
      return reply.code(200).send({ revoked: verified.jti });
    } catch (e) {
      if (e instanceof OAuthError) return oauthError(reply, e.status, e.code, e.message);
      throw e;
    }
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    const id = identity();
    return reply
      .header('cache-control', 'max-age=60')
      .send(id.keys.jwks((ctx.clock ?? Date.now)(), id.config.policy.maxLifetimeSec));
  });

  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    const id = identity();
    void reply.header('cache-control', 'max-age=60');
    return authorizationServerMetadata(id.issuer.metadata(), id.config.issuer);
  });
}

/**
 * RFC 8414 metadata of the collector as an OAuth authorization server, as the MCP
 * authorization specification (2025-11-25 and 2026-07-28) and the official SDK's OAuth client
 * read it: the SDK refuses a document without `authorization_endpoint` even for
 * client_credentials. The authorization endpoint signs humans in through the OpenID provider
 * (`--oidc-*`) or, in development, the dev sign-in; without either it refuses every request.
 */
export function authorizationServerMetadata(
  issuerMetadata: Record<string, unknown>,
  issuer: string,
): Record<string, unknown> {
  const grants = issuerMetadata['grant_types_supported'];
  const auth = issuerMetadata['token_endpoint_auth_methods_supported'];
  return {
    ...issuerMetadata,
    authorization_endpoint: `${issuer}/v1/auth/authorize`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    // RFC 9207: every authorization response carries `iss`.
    authorization_response_iss_parameter_supported: true,
    // A client_id may be the https URL of its metadata document (signin/client-metadata.ts).
    client_id_metadata_document_supported: true,
    grant_types_supported: [...(Array.isArray(grants) ? grants : []), 'authorization_code'],
    // private_key_jwt for workloads (aud: the issuer or the token endpoint); none for public
    // clients (the CLI), which prove the code with PKCE.
    token_endpoint_auth_methods_supported: [...(Array.isArray(auth) ? auth : []), 'none'],
  };
}
