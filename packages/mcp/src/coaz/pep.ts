/**
 * The proxy as a COAZ-MCP PEP (OpenID AuthZEN COAZ binding for MCP, Draft 1, "PEP Behavior"):
 * an `Interceptor` that maps every client request by the binding's default mapping, asks an
 * AuthZEN PDP (Authorization API 1.0 Access Evaluation over HTTPS) and forwards the request only
 * on a permit. A deny is JSON-RPC `-32001`, a mapping error `-32602`, a PDP that cannot be reached
 * or answers malformed `-32603`; an unknown method is denied without asking (fail closed). With
 * `next` (the policy gate), a permitted request that `next` handles goes on through it.
 */
import { randomUUID } from 'node:crypto';
import type {
  JSONRPCMessage,
  JSONRPCRequest,
  MessageExtraInfo,
} from '@modelcontextprotocol/server';
import { AUTHZEN_EVALUATION_PATH, isRequestId, parseDecision } from '@provenant/core/authzen';
import type { AuthzenDecision, AuthzenEvaluation } from '@provenant/core/authzen';
import type { Interceptor, Upstream } from '../relay/relay.js';
import { declaredMappings, mapRequest } from './mapping.js';
import type { MappingOptions, TokenClaims } from './mapping.js';

/** JSON-RPC codes of the binding's "Error Handling". */
export const COAZ_ERROR = { denied: -32001, mapping: -32602, pdp: -32603 } as const;
/** `error.data.code` of each, as the proxy's other errors name their rule. */
const COAZ_DATA_CODE: Readonly<Record<number, string>> = {
  [COAZ_ERROR.denied]: 'access_denied',
  [COAZ_ERROR.mapping]: 'coaz_mapping_error',
  [COAZ_ERROR.pdp]: 'pdp_unavailable',
};

export interface CoazPepOptions extends Omit<MappingOptions, 'declared'> {
  /** The PDP's base URL (its Access Evaluation endpoint is `/access/v1/evaluation` below it). */
  readonly pdp: string;
  /**
   * The bearer presented to the PDP for a request: by default the caller's own token (a
   * Provenant PDP then checks that the subject is the credential's).
   */
  readonly pdpToken?: (token: string) => string;
  /**
   * The caller's access token and its validated claims for a request (stdio: the initiator's
   * credential; HTTP: the request's bearer). Rejecting refuses the request as a mapping error.
   */
  readonly credential: (
    request: JSONRPCRequest,
    extra: MessageExtraInfo | undefined,
  ) => Promise<{ token: string; claims: TokenClaims }>;
  /** The interceptor a permitted request goes on through when it handles the method. */
  readonly next?: Interceptor;
  /** How long the PDP may take, ms (default 2000). */
  readonly timeoutMs?: number;
  /** Each decision asked, for logs and tests. */
  readonly onDecision?: (d: {
    method: string;
    request: AuthzenEvaluation;
    requestId: string;
    decision: AuthzenDecision;
  }) => void;
}

/** Every client request method but the pass-through ones: the PEP sees them all. */
class EveryRequest extends Set<string> {
  override has(method: string): boolean {
    return method !== 'ping';
  }
}

class PdpFailure extends Error {}

export function createCoazPep(o: CoazPepOptions): Interceptor {
  const endpoint = `${o.pdp.replace(/\/+$/, '')}${AUTHZEN_EVALUATION_PATH}`;
  const declared = new Set<string>();
  const error = (
    request: JSONRPCRequest,
    code: number,
    message: string,
    data: Record<string, unknown> = {},
  ) =>
    ({
      jsonrpc: '2.0',
      id: request.id,
      error: { code, message, data: { code: COAZ_DATA_CODE[code] ?? 'coaz_error', ...data } },
    }) as JSONRPCMessage;

  const ask = async (
    body: AuthzenEvaluation,
    bearer: string,
    requestId: string,
  ): Promise<AuthzenDecision> => {
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${bearer}`,
          'x-request-id': requestId,
        },
        body: JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(o.timeoutMs ?? 2000),
      });
    } catch (e) {
      const code = (e as { cause?: { code?: string } }).cause?.code;
      throw new PdpFailure(`the PDP is unreachable${code ? ` (${code})` : ''}`);
    }
    const text = await res.text();
    if (res.status !== 200) throw new PdpFailure(`the PDP answered HTTP ${res.status}`);
    if (res.headers.get('x-request-id') !== requestId) {
      throw new PdpFailure('the PDP did not echo X-Request-ID');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PdpFailure('the PDP answered invalid JSON');
    }
    const parsed = parseDecision(json);
    if (!parsed.ok)
      throw new PdpFailure(`the PDP answered a malformed decision: ${parsed.problem}`);
    return parsed.value;
  };

  const pep: Interceptor = {
    methods: new EveryRequest(),
    async handle(request, upstream: Upstream, extra) {
      let credential;
      try {
        credential = await o.credential(request, extra);
      } catch (e) {
        return error(
          request,
          COAZ_ERROR.mapping,
          `COAZ mapping error: no validated token (${(e as Error).message})`,
        );
      }
      const params = request.params as Record<string, unknown> | undefined;
      const mapped = mapRequest(request.method, params, credential.claims, { ...o, declared });
      if (mapped.kind === 'error') return error(request, COAZ_ERROR.mapping, mapped.message);
      if (mapped.kind === 'unmapped') {
        return error(
          request,
          COAZ_ERROR.denied,
          `Access denied: ${request.method} has no authorization mapping`,
        );
      }
      if (mapped.kind === 'evaluate') {
        const requestId = randomUUID();
        let decision: AuthzenDecision;
        try {
          decision = await ask(
            mapped.request,
            o.pdpToken?.(credential.token) ?? credential.token,
            requestId,
          );
        } catch (e) {
          if (!(e instanceof PdpFailure)) throw e;
          return error(request, COAZ_ERROR.pdp, `Authorization service unavailable: ${e.message}`);
        }
        o.onDecision?.({ method: request.method, request: mapped.request, requestId, decision });
        if (!decision.decision) {
          const id = decision.context?.['decision_id'];
          return error(
            request,
            COAZ_ERROR.denied,
            `Access denied: ${mapped.request.action.name} on ${mapped.request.resource.type} ${mapped.request.resource.id}`,
            {
              request_id: requestId,
              ...(typeof id === 'string' && isRequestId(id) ? { decision_id: id } : {}),
            },
          );
        }
      }
      if (o.next?.methods.has(request.method)) return o.next.handle(request, upstream, extra);
      const forwarded = await upstream.forward(request);
      if (forwarded.kind === 'cancelled') return null;
      if (request.method === 'tools/list') {
        // The tools that declare a mapping: their calls are refused (this PEP evaluates no CEL).
        let answer: unknown;
        try {
          answer =
            forwarded.kind === 'raw'
              ? JSON.parse(Buffer.concat(forwarded.response.chunks).toString('utf8'))
              : forwarded.message;
        } catch {
          answer = null;
        }
        const result = (answer as { result?: unknown } | null)?.result;
        for (const name of declaredMappings(result)) declared.add(name);
        if (forwarded.kind === 'response' && o.next?.onResponse) {
          return o.next.onResponse(request, forwarded.message, extra);
        }
      }
      return forwarded.kind === 'raw' ? forwarded.response : forwarded.message;
    },
  };
  return pep;
}
