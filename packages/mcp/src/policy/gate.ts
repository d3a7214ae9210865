/**
 * The policy gate: the relay's interceptor for `tools/call`, `resources/read` and `prompts/get`.
 * Each call is attributed (the recorder session of the initiator's credential and the proxy's
 * own agent identity), classified (config, then the tool's annotations), decided by the policy
 * decision point, then forwarded or refused; intent, decision and outcome land in one trace.
 */
import { uuidv7 } from '@provenant/core';
import { MAX_CREDENTIAL_LIFETIME_SEC } from '@provenant/core/vocabulary';
import type {
  JSONRPCMessage,
  JSONRPCRequest,
  MessageExtraInfo,
  RequestId,
} from '@modelcontextprotocol/server';
import {
  DecisionUnavailableError,
  IntentNotDurableError,
  PolicyDeniedError,
  SdkError,
  TokenExchangeError,
  traceparentFromMcpMeta,
  whyDenied,
} from '@provenant/sdk';
import type { Pdp, Recorder, SdkErrorCode, Session } from '@provenant/sdk';
import { createHash } from 'node:crypto';
import { SERVER_INFO_META_KEY } from '@modelcontextprotocol/server';
import { jsonText } from '../digest.js';
import { SERVED_VERSIONS, clientInfoOf, envelopeVersion } from '../era.js';
import { RECEIPT_META_KEY } from '../receipt.js';
import type { ReceiptSigner } from '../receipt.js';
import type { ResultText } from '../digest.js';
import { UpstreamClosedError, UpstreamMalformedError } from '../errors.js';
import type { ClientSession, Forwarded, Interceptor, Upstream } from '../relay/relay.js';
import { RawResponse as RawResponseClass } from '../transport/scan.js';
import type { RawResponse } from '../transport/scan.js';
import { wireError } from '../wire.js';
import type { WireErrorCode } from '../wire.js';
import { actionNameProblem } from './action-name.js';
import { classify } from './config.js';
import type { Classified, ProxyConfig, ToolAnnotations } from './config.js';

export interface PolicyGateOptions {
  readonly recorder: Recorder;
  readonly config?: ProxyConfig;
  /** The initiator's credential for a request: fixed (stdio) or read from its auth (HTTP). */
  readonly initiatorToken: string | ((extra: MessageExtraInfo | undefined) => string | undefined);
  /**
   * The request's verified Transaction Token (HTTP: its `Txn-Token` header), if any: the call's
   * session sends it with its decision and records (see the SDK's `SessionOptions.txnToken`).
   */
  readonly txnToken?: (extra: MessageExtraInfo | undefined) => string | undefined;
  /** Answer `tools/list` with only the tools policy allows this initiator (needs `pdp`). */
  readonly filterTools?: boolean;
  /** The decision point `filterTools` asks (the recorder decides tool calls itself). */
  readonly pdp?: Pdp;
  /** Credential lifetime to ask the issuer for, in seconds (default: the longest allowed, 3600). */
  readonly lifetimeSec?: number;
  readonly taskId?: string;
  /** Signs a receipt into each answered call's result `_meta` (receipt.ts). */
  readonly receipts?: ReceiptSigner;
}

export interface PolicyGate extends Interceptor {
  /**
   * Checks an initiator credential by exchanging it at the issuer for the proxy's own (the
   * session its calls will use); rejects when the issuer refuses it.
   */
  authenticate(token: string): Promise<Session>;
  /**
   * Records a gated call refused before it was decided (a transport check, e.g. a header
   * mismatch) for this initiator credential; nothing is forwarded. Other methods are not
   * recorded (resolves false). Rejects when the issuer refuses the credential.
   */
  refuseUnforwarded(
    token: string,
    request: JSONRPCRequest,
    error: { readonly code: string; readonly message: string },
  ): Promise<boolean>;
  /** Tools learned from the server's `tools/list` answers, with their annotations. */
  knownTools(): ReadonlyMap<string, ToolAnnotations | undefined>;
}

type Answer = JSONRPCMessage | RawResponse;

/** A refused call's JSON-RPC error, before its request id is added. */
interface RefusalWire {
  readonly code: WireErrorCode;
  readonly message: string;
  readonly data?: Record<string, unknown>;
}
type Refusal = (e: SdkError, c: Classified) => RefusalWire;

/** A refusal the peer cannot act on (the recorder's own trouble): reported with its SDK code. */
const refusedInternally: Refusal = (e, c) => ({
  code: 'internal_error',
  message: `The proxy refused ${c.action}: ${e.message}`,
  data: { reason: e.code },
});

/**
 * The wire answer for each SDK error that can refuse a call; typed over every SDK code, so a
 * new one does not compile until it is given an answer here.
 */
const SDK_REFUSAL_TO_WIRE = {
  policy_denied: (e, c) =>
    e instanceof PolicyDeniedError
      ? {
          code: 'policy_denied',
          message: `Denied by policy: ${c.action} on ${c.resource}: ${whyDenied(e.determining, e.reason, e.errors)} (decision ${e.decisionId ?? 'none'}).`,
          data: {
            decision_id: e.decisionId ?? null,
            determining: e.determining,
            ...(e.reason !== undefined ? { reason: e.reason } : {}),
            action: c.action,
            resource: c.resource,
          },
        }
      : refusedInternally(e, c),
  decision_unavailable: (e, c) =>
    e instanceof DecisionUnavailableError
      ? {
          code: 'decision_unavailable',
          message: `No policy decision for ${c.action}, so the call was refused: ${e.why}.`,
          data: { reason: e.reason, action: c.action, resource: c.resource },
        }
      : refusedInternally(e, c),
  intent_not_durable: (e, c) =>
    e instanceof IntentNotDurableError
      ? {
          code: 'intent_not_durable',
          message: `${c.action} was not run: its intent record could not be made durable.`,
        }
      : refusedInternally(e, c),
  recorder_overflow: refusedInternally,
  recorder_closed: refusedInternally,
  token_exchange_failed: refusedInternally,
  invalid_identity: refusedInternally,
  credential_expired: refusedInternally,
} satisfies Record<SdkErrorCode, Refusal>;

/**
 * The server's answer as the gate relays and records it: the answer itself (none when the client
 * cancelled), and the failure it stands for — a JSON-RPC error or a tool result with
 * `isError: true` is recorded as an error outcome and still relayed unchanged — or the result
 * text's length and SHA-256, whose digest is the record's `result_digest` (digest.ts).
 */
interface Answered {
  readonly response: Answer | null;
  readonly failure?: { readonly code: string; readonly message: string };
  readonly result?: { readonly bytes: number; readonly sha256: string } | undefined;
  /** A 2026-07-28 `input_required` round: the `requestState` the retry will echo, if any. */
  readonly inputRequired?: { readonly requestState?: string };
}

/** Reads a result's `resultType` and `requestState` (a 2026-07-28 round trip). */
function roundOf(resultType: unknown, requestState: unknown): Pick<Answered, 'inputRequired'> {
  if (resultType !== 'input_required') return {};
  return {
    inputRequired: typeof requestState === 'string' ? { requestState } : {},
  };
}

function answered(answer: Forwarded): Answered {
  if (answer.kind === 'cancelled') {
    const why = answer.reason ? `: ${answer.reason}` : '';
    const when = answer.forwarded ? '' : ' before it was forwarded (the server never saw it)';
    return {
      response: null,
      failure: {
        code: 'call_cancelled',
        message: `The client cancelled the request${when}${why}.`,
      },
    };
  }
  let response: Answer;
  let error: { code: number; message: string } | undefined;
  let isError: boolean;
  let text: ResultText | undefined;
  if (answer.kind === 'raw') {
    const r = answer.response;
    response = r;
    error = r.error;
    isError = r.result?.isError === true;
    text = r.result;
  } else {
    const m = answer.message as JSONRPCMessage & {
      result?: { isError?: unknown };
      error?: { code: number; message: string };
    };
    response = m;
    error = m.error;
    isError = !error && m.result?.isError === true;
    if (!error) {
      try {
        text = jsonText(m.result);
      } catch {
        text = undefined;
      }
    }
  }
  if (error) {
    return {
      response,
      failure: { code: 'upstream_error', message: `${error.message} (JSON-RPC ${error.code})` },
    };
  }
  // The result's digest goes in `result_digest` (keyed by the collector), never in the message.
  if (isError) {
    return {
      response,
      failure: { code: 'tool_error', message: 'The tool returned isError.' },
      ...(text ? { result: { bytes: text.bytes, sha256: text.sha256 } } : {}),
    };
  }
  const round =
    answer.kind === 'raw'
      ? roundOf(answer.response.result?.resultType, answer.response.result?.requestState)
      : roundOf(
          (answer.message as { result?: { resultType?: unknown } }).result?.resultType,
          (answer.message as { result?: { requestState?: unknown } }).result?.requestState,
        );
  return { response, result: text && { bytes: text.bytes, sha256: text.sha256 }, ...round };
}

/**
 * What a record says of the MCP call: its method (the `Mcp-Method` header), its revision and the
 * client's self-reported name — from the request's `_meta` envelope (2026-07-28), else from the
 * session's `initialize`.
 */
function mcpOf(request: JSONRPCRequest, session: ClientSession) {
  const protocolVersion = envelopeVersion(request) ?? session.protocolVersion;
  const client = clientInfoOf(request) ?? session.clientInfo;
  return {
    method: request.method,
    ...(protocolVersion !== undefined ? { protocolVersion } : {}),
    ...(client !== undefined ? { client } : {}),
  };
}

/** The answer with its receipt in `result._meta` (a JSON-RPC error has no result: unchanged). */
function withReceipt(response: Answer, receipt: unknown): Answer {
  if (response instanceof RawResponseClass) {
    return response.result ? response.withMeta(RECEIPT_META_KEY, receipt) : response;
  }
  const m = response as { result?: Record<string, unknown> };
  if (typeof m.result !== 'object' || m.result === null) return response;
  const meta = (m.result['_meta'] ?? {}) as Record<string, unknown>;
  return {
    ...(response as object),
    result: { ...m.result, _meta: { ...meta, [RECEIPT_META_KEY]: receipt } },
  } as unknown as Answer;
}

const METHODS: ReadonlySet<string> = new Set(['tools/call', 'resources/read', 'prompts/get']);

/**
 * A `server/discover` answer lists the revisions the server supports; through the proxy, only
 * those the proxy serves too (a client must not pick one the proxy cannot gate).
 */
function servedDiscover(response: JSONRPCMessage, result: Record<string, unknown>): JSONRPCMessage {
  const versions = result['supportedVersions'];
  if (!Array.isArray(versions)) return response;
  return {
    ...(response as object),
    result: { ...result, supportedVersions: versions.filter((v) => SERVED_VERSIONS.includes(v)) },
  } as unknown as JSONRPCMessage;
}
const RENEW_BEFORE_MS = 30_000;
const MAX_SESSIONS = 1_000;

const ROUND_TTL_MS = 10 * 60_000;
const MAX_ROUNDS = 1_000;

/**
 * The trace of each `input_required` round still awaiting its retry, by the credential and the
 * `requestState` the retry echoes (hashed: the state is the server's and may be large); bounded,
 * oldest first out, and forgotten after ten minutes.
 */
class RoundTraces {
  private readonly traces = new Map<string, { traceparent: string; at: number }>();

  private key(token: string, state: string): string {
    return createHash('sha256').update(token).update('\u0000').update(state).digest('hex');
  }

  get(token: string, state: string): string | undefined {
    const k = this.key(token, state);
    const t = this.traces.get(k);
    if (t === undefined || Date.now() - t.at > ROUND_TTL_MS) return undefined;
    return t.traceparent;
  }

  set(token: string, state: string, traceparent: string): void {
    if (this.traces.size >= MAX_ROUNDS) {
      const oldest = this.traces.keys().next();
      if (!oldest.done) this.traces.delete(oldest.value);
    }
    this.traces.set(this.key(token, state), { traceparent, at: Date.now() });
  }
}

export function createPolicyGate(options: PolicyGateOptions): PolicyGate {
  return new Gate(options);
}

class Gate implements PolicyGate {
  readonly methods = METHODS;
  private readonly tools = new Map<string, ToolAnnotations | undefined>();
  private readonly sessions = new Map<string, { session: Promise<Session>; renewAt: number }>();
  private readonly rounds = new RoundTraces();
  private serverName = 'mcp';
  private readonly config: ProxyConfig;

  constructor(private readonly o: PolicyGateOptions) {
    this.config = o.config ?? {};
    if (o.filterTools && !o.pdp) throw new TypeError('filterTools needs a pdp.');
  }

  knownTools(): ReadonlyMap<string, ToolAnnotations | undefined> {
    return this.tools;
  }

  authenticate(token: string): Promise<Session> {
    return this.session(token, undefined, undefined);
  }

  private tokenOf(extra: MessageExtraInfo | undefined): string | undefined {
    const t = this.o.initiatorToken;
    return typeof t === 'string' ? t : t(extra);
  }

  /**
   * The recorder session for this credential, trace and Txn-Token: one token exchange, then
   * reused.
   */
  private session(
    token: string,
    traceparent: string | undefined,
    txnToken: string | undefined,
  ): Promise<Session> {
    const key = `${token}\u0000${traceparent?.slice(3, 35) ?? ''}\u0000${txnToken ?? ''}`;
    const now = Date.now();
    const cached = this.sessions.get(key);
    if (cached && cached.renewAt > now) return cached.session;
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
    const entry = {
      renewAt: Number.POSITIVE_INFINITY,
      session: this.o.recorder.session({
        initiatorToken: token,
        lifetimeSec: this.o.lifetimeSec ?? MAX_CREDENTIAL_LIFETIME_SEC,
        ...(this.o.taskId !== undefined ? { taskId: this.o.taskId } : {}),
        ...(traceparent !== undefined ? { traceparent } : {}),
        ...(txnToken !== undefined ? { txnToken } : {}),
      }),
    };
    this.sessions.set(key, entry);
    entry.session.then(
      (s) => (entry.renewAt = s.context.credential.exp * 1000 - RENEW_BEFORE_MS),
      () => this.sessions.delete(key),
    );
    return entry.session;
  }

  async refuseUnforwarded(
    token: string,
    request: JSONRPCRequest,
    error: { readonly code: string; readonly message: string },
  ): Promise<boolean> {
    if (!METHODS.has(request.method)) return false;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const meta = (params['_meta'] ?? undefined) as Record<string, unknown> | undefined;
    const incoming = traceparentFromMcpMeta(meta) ? (meta?.['traceparent'] as string) : undefined;
    const session = await this.session(token, incoming, undefined);
    const c = this.classify(request.method, params);
    session.run(() =>
      this.o.recorder.recordRefusal(
        c.action,
        {
          resource: c.resource,
          class: c.class,
          risk: c.risk,
          server: c.server,
          toolName: c.toolName,
          mcp: mcpOf(request, {}),
          callId: () => String(request.id),
          args: () => c.args,
        },
        error,
      ),
    );
    return true;
  }

  private classify(method: string, params: Record<string, unknown>): Classified {
    return classify(this.config, this.serverName, method, params, (t) => this.tools.get(t));
  }

  async handle(
    request: JSONRPCRequest,
    upstream: Upstream,
    extra: MessageExtraInfo | undefined,
  ): Promise<Answer | null> {
    const { id } = request;
    const token = this.tokenOf(extra);
    if (token === undefined) {
      return wireError(id, 'unauthenticated', 'No initiator credential for this request.');
    }
    const params = (request.params ?? {}) as Record<string, unknown>;
    const meta = (params['_meta'] ?? undefined) as Record<string, unknown> | undefined;
    const incoming = traceparentFromMcpMeta(meta) ? (meta?.['traceparent'] as string) : undefined;
    // The retry of an input_required round joins the trace of the round it answers.
    const state = typeof params['requestState'] === 'string' ? params['requestState'] : undefined;
    const earlier = state !== undefined ? this.rounds.get(token, state) : undefined;
    const trace = earlier ?? incoming;
    let session: Session;
    try {
      session = await this.session(token, trace, this.o.txnToken?.(extra));
    } catch (e) {
      return wireError(
        id,
        'attribution_failed',
        `The proxy could not attribute the request: ${(e as Error).message}`,
        e instanceof TokenExchangeError && e.unreachable
          ? { reason: 'collector_unreachable' }
          : e instanceof SdkError
            ? { reason: e.code }
            : {},
      );
    }
    const c = this.classify(request.method, params);
    const problem = actionNameProblem(c.action);
    if (problem !== undefined) {
      return wireError(
        id,
        'invalid_action_name',
        `The proxy config maps this call to ${problem}: refused, nothing was forwarded.`,
        { action: c.action },
      );
    }
    // Named now, so that its receipt can name it before the collector has it.
    const outcomeId = this.o.receipts ? uuidv7() : undefined;
    // The client's traceparent is kept as it is; without one, the proxy's goes with the call.
    const sent = incoming ?? session.traceparent();
    const forwarded: JSONRPCRequest = incoming
      ? request
      : { ...request, params: { ...params, _meta: { ...meta, traceparent: sent } } };
    const outcome = await session.run(() =>
      this.o.recorder.recordCall<Answered>(
        c.action,
        {
          resource: c.resource,
          class: c.class,
          risk: c.risk,
          server: c.server,
          toolName: c.toolName,
          mcp: mcpOf(request, upstream.session),
          callId: () => String(id),
          args: () => c.args,
          failure: (a) => a.failure,
          result: (a) => a.result,
          ...(outcomeId !== undefined ? { outcomeId } : {}),
        },
        async () => answered(await upstream.forward(forwarded)),
      ),
    );
    if (!outcome.ran) return this.refusal(id, outcome.error, c);
    if ('thrown' in outcome) return this.upstreamFailure(id, outcome.thrown);
    const next = outcome.value.inputRequired?.requestState;
    if (next !== undefined) this.rounds.set(token, next, trace ?? sent);
    const response = outcome.value.response;
    if (outcomeId === undefined || response === null) return response;
    return withReceipt(response, this.o.receipts!.receipt(outcomeId, session.traceId));
  }

  /** The answer to a call the recorder refused before it was forwarded. */
  private refusal(id: RequestId, e: SdkError, c: Classified): Answer {
    const refuse = Object.hasOwn(SDK_REFUSAL_TO_WIRE, e.code)
      ? SDK_REFUSAL_TO_WIRE[e.code]
      : refusedInternally;
    const wire = refuse(e, c);
    return wireError(id, wire.code, wire.message, wire.data);
  }

  /** The answer to a forwarded call the server never answered (the relay's errors). */
  private upstreamFailure(id: RequestId, e: unknown): Answer {
    if (e instanceof UpstreamMalformedError) {
      return wireError(id, 'upstream_malformed', e.message, { reason: e.reason });
    }
    if (e instanceof UpstreamClosedError) {
      return wireError(id, 'upstream_closed', `The MCP server is gone: ${e.reason}.`, {
        reason: e.reason,
      });
    }
    throw e;
  }

  onResponse(
    request: JSONRPCRequest,
    response: JSONRPCMessage,
    extra: MessageExtraInfo | undefined,
  ): JSONRPCMessage | Promise<JSONRPCMessage> {
    const result = (response as { result?: Record<string, unknown> }).result;
    if (!result) return response;
    if (request.method === 'initialize') {
      const info = result['serverInfo'] as { name?: unknown } | undefined;
      if (typeof info?.name === 'string' && info.name !== '') this.serverName = info.name;
      return response;
    }
    // Revision 2026-07-28: every result may name its server in `_meta` (no initialize).
    const meta = result['_meta'] as Record<string, unknown> | undefined;
    const info = meta?.[SERVER_INFO_META_KEY] as { name?: unknown } | undefined;
    if (typeof info?.name === 'string' && info.name !== '') this.serverName = info.name;
    if (request.method === 'server/discover') return servedDiscover(response, result);
    if (request.method !== 'tools/list' || !Array.isArray(result['tools'])) return response;
    const tools = result['tools'] as { name?: unknown; annotations?: ToolAnnotations }[];
    for (const t of tools) {
      if (typeof t?.name === 'string') this.tools.set(t.name, t.annotations);
    }
    return this.o.filterTools ? this.filter(response, tools, extra) : response;
  }

  /** `tools/list` without the tools the decision point would deny this initiator. */
  private async filter(
    response: JSONRPCMessage,
    tools: { name?: unknown; annotations?: ToolAnnotations }[],
    extra: MessageExtraInfo | undefined,
  ): Promise<JSONRPCMessage> {
    const token = this.tokenOf(extra);
    if (token === undefined) return response;
    const session = await this.session(token, undefined, undefined);
    const pdp = this.o.pdp!;
    const allowed = await Promise.all(
      tools.map(async (t) => {
        if (typeof t?.name !== 'string') return false;
        const c = this.classify('tools/call', { name: t.name, arguments: {} });
        try {
          const d = await pdp.decide({
            action: { name: c.action, resource: c.resource, class: c.class, risk: c.risk },
            credential: session.context.credential.token,
            ...(session.context.taskId !== undefined ? { taskId: session.context.taskId } : {}),
          });
          return d.decision === 'allow';
        } catch {
          return false;
        }
      }),
    );
    const r = response as { result: Record<string, unknown> };
    return {
      ...r,
      result: { ...r.result, tools: tools.filter((_t, i) => allowed[i]) },
    } as unknown as JSONRPCMessage;
  }
}
