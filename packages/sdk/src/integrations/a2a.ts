/**
 * A2A (Agent2Agent protocol, specification v1.0 as the official `@a2a-js/sdk` 1.x implements
 * it): delegation that crosses processes. The calling agent addresses its credential to the
 * remote agent (RFC 8693 `audience` = the remote agent's principal id, `resource` = its URL, at
 * the collector's token exchange) and sends it as `Authorization: Bearer` with the A2A request,
 * with its W3C `traceparent`. The remote agent verifies it (signature against the collector's
 * JWKS, issuer, expiry, audience = itself), refuses a request without one or with one addressed
 * to someone else in A2A's own error form (HTTP 401 with `WWW-Authenticate`, the binding's error
 * body) and records the refusal, and runs each invocation in a session under a credential it
 * exchanges from the one it received: its `agent.invoked` and tool calls are `verified` with the
 * whole chain, human → caller → itself.
 *
 * Structural types only for Express (`@a2a-js/sdk/server/express` mounts on it); the A2A SDK's
 * own types are imported as types, so this module loads neither at run time.
 */
import { randomUUID } from 'node:crypto';
import type { AfterArgs, BeforeArgs, CallInterceptor } from '@a2a-js/sdk/client';
import type { RequestContext, User } from '@a2a-js/sdk/server';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { uuidv7 } from '@provenant/core';
import { TokenExchangeError } from '../errors.js';
import { IssuerClient, checkIdentity, readIdentityFile } from '../lib/auth.js';
import type { AgentIdentity } from '../lib/auth.js';
import { actorOf } from '../lib/principal.js';
import { PRODUCER } from '../records/build.js';
import type { Recorder, SessionOptions } from '../recorder.js';
import { formatTraceparent, parseTraceparent } from '../trace/traceparent.js';

// ---- the calling side --------------------------------------------------------------------------

export interface A2AClientAuthOptions {
  /** The collector (its token endpoint exchanges the credential). */
  readonly collectorUrl: string;
  /** The remote agent's principal id: the audience of the credential sent to it. */
  readonly audience: string;
  /** The remote agent's endpoint URI, also named in the credential's `aud` (RFC 8707). */
  readonly resource?: string;
  /** Narrow the credential sent to these scopes (default: all the caller holds). */
  readonly scope?: readonly string[];
  /** Its lifetime in seconds (the issuer caps it at the caller's own). */
  readonly lifetimeSec?: number;
  readonly fetch?: typeof fetch;
}

/**
 * A credential for the remote agent alone, from the calling context's: the context's credential
 * addressed to `options.audience` by its holder (this agent). Must run inside a session or
 * delegation of `recorder` (else TypeError); a refusal is a `TokenExchangeError`.
 */
export async function a2aCredential(
  recorder: Recorder,
  options: A2AClientAuthOptions,
): Promise<string> {
  const ctx = recorder.current();
  if (!ctx) throw new TypeError('a2aCredential must be called inside a session or delegation.');
  const issuer = new IssuerClient(
    options.collectorUrl,
    options.fetch ?? globalThis.fetch,
    Date.now,
  );
  return issuer.exchange(ctx.credential.token, ctx.identity, options.scope, options.lifetimeSec, {
    audience: options.audience,
    ...(options.resource === undefined ? {} : { resource: options.resource }),
  });
}

/**
 * An `@a2a-js/sdk` client interceptor: every call the client makes from inside a session of
 * `recorder` carries `Authorization: Bearer <a credential addressed to the remote agent>` and the
 * session's `traceparent` (service parameters, sent as HTTP headers). Pass it as
 * `new ClientFactory({ clientConfig: { interceptors: [a2aClientAuth(recorder, …)] } })`.
 */
export function a2aClientAuth(recorder: Recorder, options: A2AClientAuthOptions): CallInterceptor {
  return {
    async before(args: BeforeArgs): Promise<void> {
      const ctx = recorder.current();
      if (!ctx) throw new TypeError('A2A calls must be made inside a session or delegation.');
      const token = await a2aCredential(recorder, options);
      const traceparent = formatTraceparent({
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        sampled: ctx.sampled,
      });
      args.options = {
        ...args.options,
        serviceParameters: {
          ...args.options?.serviceParameters,
          authorization: `Bearer ${token}`,
          traceparent,
        },
      };
    },
    async after(_args: AfterArgs): Promise<void> {},
  };
}

// ---- the remote agent's side -------------------------------------------------------------------

/** The part of an HTTP request (Express's) the middleware reads. */
export interface A2AHttpRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly ip?: string | undefined;
}

/** The part of an HTTP response (Express's) the middleware writes. */
export interface A2AHttpResponse {
  status(code: number): unknown;
  setHeader(name: string, value: string): unknown;
  json(body: unknown): unknown;
}

/** Why a request was refused, as the error's `metadata.code` and `docs/errors.md` name it. */
export type A2ARefusalCode =
  | 'credential_required'
  | 'invalid_credential'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'keys_unavailable'
  /** Recorded by `invoked` (the request was answered by the agent): the collector refused to
   * exchange the credential received (revoked, a principal disabled, the chain too deep…). */
  | 'delegation_refused';

export interface A2AServerOptions {
  /** This agent's recorder: its identity receives the delegation. */
  readonly recorder: Recorder;
  /** The same identity (principal id and key) the recorder was made with. */
  readonly identity: AgentIdentity | string;
  /** The collector: issuer metadata, JWKS, token exchange, and where refusals are recorded. */
  readonly collectorUrl: string;
  /** The A2A binding the middleware fronts, for the shape of its error body (default JSON-RPC). */
  readonly binding?: 'jsonrpc' | 'rest';
  /** Tolerated clock difference for `exp`, `nbf` and `iat`, in seconds (default 30). */
  readonly skewSec?: number;
  /** Most refusals recorded a minute (default 60); beyond, refused but not recorded. */
  readonly maxRecordedRefusalsPerMinute?: number;
  /** Called with each refusal (after it is recorded, or not). */
  readonly onRefused?: (refusal: A2ARefusal) => void;
  readonly fetch?: typeof fetch;
}

export interface A2ARefusal {
  readonly code: A2ARefusalCode;
  readonly message: string;
  /** The record id of the refusal, when it was recorded. */
  readonly recordId: string | undefined;
  /** What a signature-checked credential addressed to another audience said (never the token). */
  readonly presented?: PresentedCredential;
}

/** The claims of a credential refused for its audience (its signature and expiry were good). */
export interface PresentedCredential {
  readonly sub: string | undefined;
  readonly actor: string | undefined;
  readonly aud: readonly string[];
  readonly jti: string | undefined;
}

/** The A2A user of a verified request: the caller, with the credential it sent. */
export class A2ACaller implements User {
  constructor(
    /** The credential, addressed to this agent. Never log it. */
    readonly token: string,
    /** The root initiator (`sub`). */
    readonly initiator: string,
    /** Root first: the initiator, then each actor; the last is the calling agent. */
    readonly chain: readonly string[],
    readonly jti: string,
    /** The caller's W3C `traceparent`, if it sent a valid one. */
    readonly traceparent: string | undefined,
  ) {}
  get isAuthenticated(): boolean {
    return true;
  }
  get userName(): string {
    return this.chain.at(-1) ?? this.initiator;
  }
}

const callers = new WeakMap<object, A2ACaller>();

export interface ProvenantA2AServer {
  /**
   * Express middleware to mount before the A2A handlers (`app.use(path, a2a.middleware,
   * jsonRpcHandler(…))`): verifies the bearer credential or answers the refusal.
   */
  readonly middleware: (req: A2AHttpRequest, res: A2AHttpResponse, next: () => void) => void;
  /** The A2A handlers' `userBuilder`: the verified caller of the request. */
  readonly userBuilder: (req: A2AHttpRequest) => Promise<User>;
  /**
   * Runs `fn` as this agent's invocation by the caller of `requestContext` (an `AgentExecutor`'s
   * argument): a session under a credential exchanged from the one received (chain human →
   * caller → this agent), its `agent.invoked` recorded with cause `delegation`, in the caller's
   * trace. Tools wrapped by the recorder run under it.
   */
  invoked<R>(
    requestContext: RequestContext,
    fn: () => R,
    options?: Omit<SessionOptions, 'initiatorToken' | 'traceparent' | 'delegated'>,
  ): Promise<Awaited<R>>;
}

/** The server side: verify, refuse and record, and run invocations under the delegation. */
export function provenantA2A(options: A2AServerOptions): ProvenantA2AServer {
  const identity =
    typeof options.identity === 'string'
      ? readIdentityFile(options.identity)
      : checkIdentity(options.identity);
  const principal = identity.principal;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const issuerClient = new IssuerClient(options.collectorUrl, fetchFn, Date.now);
  const skew = options.skewSec ?? 30;
  const binding = options.binding ?? 'jsonrpc';
  const budget = options.maxRecordedRefusalsPerMinute ?? 60;
  let window = { start: 0, used: 0 };

  let trust: Promise<{ issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> }> | null = null;
  const trusted = () => {
    trust ??= (async () => {
      const res = await fetchFn(
        new URL('/.well-known/oauth-authorization-server', options.collectorUrl),
      );
      if (!res.ok) throw new Error(`issuer metadata answered ${res.status}`);
      const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (typeof meta.issuer !== 'string' || typeof meta.jwks_uri !== 'string') {
        throw new Error('issuer metadata names no issuer or jwks_uri');
      }
      return { issuer: meta.issuer, jwks: createRemoteJWKSet(new URL(meta.jwks_uri)) };
    })().catch((e: unknown) => {
      trust = null;
      throw e;
    });
    return trust;
  };

  /** This agent's own credential, for recording refusals (no caller's credential to use). */
  let own: { token: string; exp: number } | null = null;
  const ownToken = async (): Promise<string> => {
    const now = Date.now() / 1000;
    if (own && own.exp - 30 > now) return own.token;
    const token = await issuerClient.clientCredentials(identity);
    own = { token, exp: decodeJwt(token).exp ?? now };
    return token;
  };

  const record = async (
    code: A2ARefusalCode,
    message: string,
    traceparent: string | undefined,
    presented: PresentedCredential | undefined,
  ): Promise<string | undefined> => {
    const now = Date.now();
    if (now - window.start > 60_000) window = { start: now, used: 0 };
    if (window.used >= budget) return undefined;
    window.used++;
    const id = uuidv7(now);
    const trace = parseTraceparent(traceparent);
    const args: Record<string, string | string[]> = { 'a2a.refused': code };
    if (presented?.sub !== undefined) args['presented.sub'] = presented.sub;
    if (presented?.actor !== undefined) args['presented.actor'] = presented.actor;
    if (presented?.jti !== undefined) args['presented.jti'] = presented.jti;
    if (presented) args['presented.aud'] = [...presented.aud];
    const actor = actorOf(principal, identity.agent);
    const body = {
      schema: 'provenant.event/v1',
      id,
      time: new Date(now).toISOString(),
      type: 'agent.invoked',
      initiator: { id: principal, kind: actor.kind },
      cause: { kind: 'delegation' },
      actor,
      action: { name: 'agent.invoke', resource: `agent:${actor.agent ?? principal}`, args },
      outcome: { status: 'denied', error: { code, message: message.slice(0, 500) } },
      ...(trace
        ? {
            trace: {
              trace_id: trace.traceId,
              span_id: randomUUID().replace(/-/g, '').slice(0, 16),
              parent_span_id: trace.spanId,
            },
          }
        : {}),
      source: { producer: PRODUCER },
    };
    try {
      const res = await fetchFn(new URL('/v1/events', options.collectorUrl), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await ownToken()}`,
        },
        body: JSON.stringify(body),
      });
      return res.ok ? id : undefined;
    } catch {
      return undefined;
    }
  };

  const refuse = async (
    res: A2AHttpResponse,
    code: A2ARefusalCode,
    message: string,
    traceparent: string | undefined,
    presented?: PresentedCredential,
  ) => {
    const recordId = await record(code, message, traceparent, presented);
    const status = code === 'keys_unavailable' ? 503 : 401;
    res.setHeader(
      'www-authenticate',
      code === 'credential_required'
        ? 'Bearer'
        : `Bearer error="invalid_token", error_description="${code}"`,
    );
    res.status(status);
    res.json(errorBody(binding, status, code, message));
    options.onRefused?.({
      code,
      message,
      recordId,
      ...(presented ? { presented } : {}),
    });
  };

  const middleware = (req: A2AHttpRequest, res: A2AHttpResponse, next: () => void): void => {
    const traceparent = header(req, 'traceparent');
    const auth = header(req, 'authorization');
    void (async () => {
      if (auth === undefined || auth === '') {
        return refuse(
          res,
          'credential_required',
          'This agent needs a Bearer credential.',
          traceparent,
        );
      }
      const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(auth);
      if (!m) {
        return refuse(
          res,
          'invalid_credential',
          'The Authorization header is not "Bearer <credential>".',
          traceparent,
        );
      }
      const token = m[1]!;
      let t: Awaited<ReturnType<typeof trusted>>;
      try {
        t = await trusted();
      } catch {
        return refuse(
          res,
          'keys_unavailable',
          "The issuer's keys cannot be read now.",
          traceparent,
        );
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, t.jwks, {
          issuer: t.issuer,
          audience: principal,
          algorithms: ['EdDSA', 'ES256'],
          typ: 'at+jwt',
          clockTolerance: skew,
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        }));
      } catch (e) {
        const code = refusalOf(e);
        const presented = code === 'wrong_audience' ? presentedOf(token) : undefined;
        return refuse(res, code, messageOf(code), traceparent, presented);
      }
      const mayAct = (payload['may_act'] as { sub?: unknown } | undefined)?.sub;
      if (mayAct !== undefined && mayAct !== principal) {
        return refuse(
          res,
          'wrong_audience',
          messageOf('wrong_audience'),
          traceparent,
          presentedOf(token),
        );
      }
      const chain = chainOf(payload);
      const caller = new A2ACaller(
        token,
        payload.sub!,
        chain,
        payload.jti!,
        parseTraceparent(traceparent) ? traceparent : undefined,
      );
      callers.set(req, caller);
      next();
    })().catch(() => {
      // A refusal that could not be answered (the socket closed): nothing more to do.
    });
  };

  return {
    middleware,
    userBuilder: async (req) => {
      const caller = callers.get(req);
      if (!caller) throw new TypeError('The provenantA2A middleware did not verify this request.');
      return caller;
    },
    invoked<R>(
      requestContext: RequestContext,
      fn: () => R,
      sessionOptions: Omit<SessionOptions, 'initiatorToken' | 'traceparent' | 'delegated'> = {},
    ): Promise<Awaited<R>> {
      const caller = requestContext.context.user;
      if (!(caller instanceof A2ACaller)) {
        throw new TypeError('invoked() needs a request verified by the provenantA2A middleware.');
      }
      let started = false;
      const run = async (): Promise<Awaited<R>> => {
        try {
          return await options.recorder.session(
            {
              conversationId: requestContext.contextId,
              ...sessionOptions,
              initiatorToken: caller.token,
              delegated: true,
              ...(caller.traceparent === undefined ? {} : { traceparent: caller.traceparent }),
            },
            () => {
              started = true;
              return fn();
            },
          );
        } catch (e) {
          // The collector refused the delegation itself (the session never started): recorded
          // like the middleware's refusals, then thrown for the executor to answer.
          if (!started && e instanceof TokenExchangeError) {
            await record('delegation_refused', e.message, caller.traceparent, {
              sub: caller.initiator,
              actor: caller.chain.at(-1),
              aud: [principal],
              jti: caller.jti,
            });
          }
          throw e;
        }
      };
      return run();
    },
  };
}

function header(req: A2AHttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Root first: `sub`, then the actors of the nested `act` claim, the current one last. */
function chainOf(payload: JWTPayload): string[] {
  const actors: string[] = [];
  let act = payload['act'] as { sub?: unknown; act?: unknown } | undefined;
  for (let i = 0; act && typeof act === 'object' && i < 16; i++) {
    if (typeof act.sub === 'string') actors.push(act.sub);
    act = act.act as typeof act | undefined;
  }
  return [payload.sub!, ...actors.reverse()];
}

function presentedOf(token: string): PresentedCredential {
  const claims = decodeJwt(token);
  const aud =
    claims.aud === undefined ? [] : typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
  const actor = (claims['act'] as { sub?: unknown } | undefined)?.sub;
  return {
    sub: claims.sub,
    actor: typeof actor === 'string' ? actor : claims.sub,
    aud,
    jti: claims.jti,
  };
}

function refusalOf(e: unknown): A2ARefusalCode {
  if (e instanceof joseErrors.JWTExpired) return 'expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === 'aud') return 'wrong_audience';
    if (e.claim === 'iss') return 'wrong_issuer';
    if (e.claim === 'nbf' || e.claim === 'iat') return 'not_yet_valid';
    return 'invalid_credential';
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (e instanceof joseErrors.JWKSNoMatchingKey) return 'bad_signature';
  if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid) {
    return 'keys_unavailable';
  }
  return 'invalid_credential';
}

function messageOf(code: A2ARefusalCode): string {
  switch (code) {
    case 'wrong_audience':
      return 'The credential is not addressed to this agent.';
    case 'expired':
      return 'The credential has expired.';
    case 'not_yet_valid':
      return 'The credential is not valid yet.';
    case 'wrong_issuer':
      return 'The credential is not from the trusted issuer.';
    case 'bad_signature':
      return "The credential's signature does not verify against the issuer's keys.";
    case 'keys_unavailable':
      return "The issuer's keys cannot be read now.";
    case 'credential_required':
      return 'This agent needs a Bearer credential.';
    default:
      return 'The credential is not a valid credential of the issuer.';
  }
}

/** `google.rpc.ErrorInfo` naming the refusal, as A2A errors carry theirs (domain: ours). */
function errorInfo(code: A2ARefusalCode) {
  return {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason: code.toUpperCase(),
    domain: 'provenant',
    metadata: { code },
  };
}

/**
 * A2A's error form for the binding: JSON-RPC 2.0 `error` (an implementation-defined server
 * error code, -32000, since A2A defines none for authentication) or the HTTP+JSON binding's
 * `google.rpc.Status`, each with its `ErrorInfo`.
 */
function errorBody(
  binding: 'jsonrpc' | 'rest',
  status: number,
  code: A2ARefusalCode,
  message: string,
) {
  if (binding === 'rest') {
    return {
      error: {
        code: status,
        status: status === 503 ? 'UNAVAILABLE' : 'UNAUTHENTICATED',
        message,
        details: [errorInfo(code)],
      },
    };
  }
  return { jsonrpc: '2.0', id: null, error: { code: -32000, message, data: [errorInfo(code)] } };
}
