/**
 * An external AuthZEN PDP as the decision point's engine (OpenID AuthZEN Authorization API 1.0,
 * Final): each request the decision point builds from a verified credential is sent to the
 * PDP's Access Evaluation endpoint, and its boolean decision is the engine's answer. The PDP
 * decides by policies it holds itself, so the only local set this engine loads is the empty one.
 *
 * It fails closed: a PDP that cannot be reached, answers late, answers anything but 200 with a
 * JSON Decision, or does not echo the `X-Request-ID` it was sent, is a `PolicyError`
 * `engine_error`, which the decision point turns into a deny (`reason: engine_error`).
 */
import { randomUUID } from 'node:crypto';
import { digestOf } from '@provenant/core';
import type { JsonValue } from '@provenant/core';
import {
  AUTHZEN_EVALUATION_PATH,
  metadataUrl,
  parseDecision,
  parseMetadata,
  pdpIdentifier,
} from '@provenant/core/authzen';
import type { AuthzenEvaluation } from '@provenant/core/authzen';
import {
  normalizeSource,
  policySetDigest,
  type DecisionRequest,
  type EngineDecision,
  type LoadedPolicySet,
  type PolicyEngine,
  type PolicySetSource,
} from '../../engine.js';
import { PolicyError } from '../../errors.js';

export interface AuthzenEngineOptions {
  /** The PDP identifier: its base URL (https, or http on a loopback address), no query. */
  pdp: string;
  /** The bearer credential presented to the PDP (`Authorization: Bearer`), if it needs one. */
  token?: string;
  /** How long one call may take, ms (default 2000). */
  timeoutMs?: number;
  /** How long the PDP's metadata is kept, ms (default 60,000). */
  metadataTtlMs?: number;
  /** Largest answer read, bytes (default 65,536). */
  maxAnswerBytes?: number;
  /** Request ids (default random UUIDs). */
  requestId?: () => string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export class AuthzenEngine implements PolicyEngine {
  readonly name = 'authzen';
  readonly version = '1.0';
  /** Decides by the PDP's own policies: the decision point loads the empty set for it. */
  readonly remote = true;
  /** The PDP identifier, as records name it (`policy.authzen.pdp`). */
  readonly pdp: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly metadataTtlMs: number;
  private readonly maxAnswerBytes: number;
  private readonly requestId: () => string;
  private endpoint: { url: string; until: number } | null = null;

  constructor(o: AuthzenEngineOptions) {
    this.pdp = checkPdpUrl(o.pdp);
    this.token = o.token;
    this.timeoutMs = o.timeoutMs ?? 2000;
    this.metadataTtlMs = o.metadataTtlMs ?? 60_000;
    this.maxAnswerBytes = o.maxAnswerBytes ?? 65_536;
    this.requestId = o.requestId ?? randomUUID;
  }

  load(source: PolicySetSource): Promise<LoadedPolicySet> {
    const normalized = normalizeSource(source);
    if (normalized.files.length > 0 || normalized.schema !== undefined) {
      return Promise.reject(
        new PolicyError(
          'invalid_policy_set',
          `The AuthZEN PDP ${this.pdp} decides by its own policies: no local policy set is loaded with it.`,
        ),
      );
    }
    return Promise.resolve({
      digest: policySetDigest(normalized),
      source: normalized,
      policyIds: [],
    });
  }

  async evaluate(_set: LoadedPolicySet, request: DecisionRequest): Promise<EngineDecision> {
    const body = toAuthzen(request);
    const requestId = this.requestId();
    const url = await this.evaluationEndpoint();
    const res = await this.call(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-request-id': requestId,
        ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
      },
      body: JSON.stringify(body),
    });
    const text = await this.read(res);
    if (res.status !== 200) {
      throw this.error(`answered ${res.status}${errorCodeOf(res.headers, text)}`);
    }
    if (res.headers.get('x-request-id') !== requestId) {
      throw this.error('did not echo the X-Request-ID it was sent');
    }
    const answer = this.json(res, text);
    const parsed = parseDecision(answer);
    if (!parsed.ok) throw this.error(`answered a malformed decision: ${parsed.problem}`);
    const determining = parsed.value.context?.['determining'];
    let exchange: string;
    try {
      exchange = digestOf({ request: body as unknown as JsonValue, response: answer as JsonValue });
    } catch {
      throw this.error('answered JSON that has no canonical form');
    }
    return {
      decision: parsed.value.decision ? 'allow' : 'deny',
      determining:
        Array.isArray(determining) && determining.every((d) => typeof d === 'string')
          ? (determining as string[]).slice(0, 64)
          : [],
      errors: [],
      pdp: { pdp: this.pdp, request_id: requestId, exchange_digest: exchange },
    };
  }

  /**
   * The Access Evaluation endpoint: the metadata's `access_evaluation_endpoint` (§10.1), once
   * its `policy_decision_point` is this PDP (§9.4), else the default path when the PDP
   * publishes no metadata (404).
   */
  private async evaluationEndpoint(): Promise<string> {
    const now = Date.now();
    if (this.endpoint !== null && this.endpoint.until > now) return this.endpoint.url;
    const res = await this.call(metadataUrl(this.pdp), { headers: { accept: 'application/json' } });
    const text = await this.read(res);
    let url: string;
    if (res.status === 404) {
      url = `${this.pdp}${AUTHZEN_EVALUATION_PATH}`;
    } else if (res.status !== 200) {
      throw this.error(`answered ${res.status} for its metadata`);
    } else {
      const meta = parseMetadata(this.json(res, text), this.pdp);
      if (!meta.ok) throw this.error(`has unusable metadata: ${meta.problem}`);
      url = meta.value.access_evaluation_endpoint;
    }
    this.endpoint = { url, until: now + this.metadataTtlMs };
    return url;
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      const why =
        (e as Error).name === 'TimeoutError'
          ? `did not answer within ${this.timeoutMs} ms`
          : `is unreachable${cause ? ` (${cause})` : ''}`;
      throw this.error(why);
    }
  }

  private async read(res: Response): Promise<string> {
    const reader = res.body?.getReader();
    if (!reader) return '';
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.maxAnswerBytes) {
        await reader.cancel();
        throw this.error(`answered more than ${this.maxAnswerBytes} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private json(res: Response, text: string): unknown {
    if (!/^application\/json\s*(;|$)/i.test(res.headers.get('content-type') ?? '')) {
      throw this.error('answered something other than application/json');
    }
    try {
      return JSON.parse(text);
    } catch {
      throw this.error('answered invalid JSON');
    }
  }

  private error(what: string): PolicyError {
    return new PolicyError('engine_error', `The AuthZEN PDP ${this.pdp} ${what}.`, {
      pdp: this.pdp,
    });
  }
}

/**
 * The AuthZEN request for a decision request: the Cedar entities as they are (types
 * `Provenant::…`), the class flags and risk as action properties, and the whole request context
 * (initiator, chain, scopes, …) as the AuthZEN context, which a Provenant PDP's trusted-PEP path
 * reads back.
 */
export function toAuthzen(request: DecisionRequest): AuthzenEvaluation {
  const c = request.context;
  const properties: Record<string, JsonValue> = {};
  for (const k of ['privileged', 'irreversible', 'external', 'risk']) {
    if (c[k] !== undefined) properties[k] = c[k];
  }
  return {
    subject: { type: request.principal.type, id: request.principal.id },
    action: { name: request.action.id, properties },
    resource: { type: request.resource.type, id: request.resource.id },
    context: { ...c },
  };
}

/** The PDP identifier, refused unless https (or http on a loopback host) without a query. */
export function checkPdpUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`The AuthZEN PDP ${JSON.stringify(url)} is not a URL.`);
  }
  const plainOk = u.protocol === 'http:' && LOOPBACK.has(u.hostname);
  if (u.protocol !== 'https:' && !plainOk) {
    throw new TypeError(
      `The AuthZEN PDP ${url} must be https (http only on a loopback address): the PEP-PDP link carries every decision.`,
    );
  }
  if (u.username !== '' || u.password !== '') {
    throw new TypeError('The AuthZEN PDP URL carries no credentials; give a token file.');
  }
  return pdpIdentifier(url);
}

/**
 * The code of a PDP's error answer, for the message: a Provenant PDP's `Provenant-Error-Code`
 * header (its AuthZEN error bodies are message strings, per the specification), else a
 * `{ "error": { "code" } }` body.
 */
function errorCodeOf(headers: Headers, text: string): string {
  const named = headers.get('provenant-error-code');
  if (named !== null && /^[a-z0-9_]{1,64}$/.test(named)) return ` (${named})`;
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? ` (${code.slice(0, 64)})` : '';
  } catch {
    return '';
  }
}
