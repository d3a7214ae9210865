/**
 * The relay: joins the MCP client's transport to the real server's and forwards every JSON-RPC
 * message both ways, unchanged, in order. An interceptor may take some client requests (the
 * proxy's `tools/call`, `resources/read`, `prompts/get`) and answer them itself, forwarding
 * through `upstream` when it chooses; it may also look at (and change) the answers to the
 * requests it does not take (e.g. `tools/list`). Messages that are not JSON-RPC get a JSON-RPC
 * error back on the side they came from, and the relay keeps running.
 */
import type {
  JSONRPCMessage,
  JSONRPCRequest,
  MessageExtraInfo,
  RequestId,
} from '@modelcontextprotocol/server';
import { LEGACY_VERSIONS, MODERN_VERSIONS, envelopeVersion } from '../era.js';
import { UpstreamClosedError, UpstreamMalformedError } from '../errors.js';
import type { RelayTransport } from '../transport/capabilities.js';
import { RawResponse } from '../transport/scan.js';
import { checkMessage, wireError } from '../wire.js';

/**
 * What the server answered a forwarded request — a message, or (from a stream transport) the
 * bytes it sent, already summarized — or that the client cancelled it first.
 */
export type Forwarded =
  | { readonly kind: 'response'; readonly message: JSONRPCMessage & { id: RequestId } }
  | { readonly kind: 'raw'; readonly response: RawResponse }
  | {
      readonly kind: 'cancelled';
      readonly reason: string | undefined;
      /** Whether the server had the request (false: the client cancelled it first). */
      readonly forwarded: boolean;
    };

/** What the relay knows of the client's connection (earlier revisions: from `initialize`). */
export interface ClientSession {
  /** The revision the server agreed to in `initialize`. */
  readonly protocolVersion?: string;
  /** The client's self-reported name and version from `initialize`. */
  readonly clientInfo?: { readonly name: string; readonly version?: string };
}

export interface Upstream {
  /** The connection this request came on (nothing for a 2026-07-28 request: it has none). */
  readonly session: ClientSession;
  /**
   * Sends a request to the server and waits for its answer; rejects with `UpstreamClosedError`,
   * or `UpstreamMalformedError` when the answer is not JSON-RPC.
   */
  forward(request: JSONRPCRequest): Promise<Forwarded>;
}

export interface Interceptor {
  /** The client request methods this interceptor answers. */
  readonly methods: ReadonlySet<string>;
  /** Answers one request (null: send nothing, e.g. it was cancelled; raw: the server's bytes). */
  handle(
    request: JSONRPCRequest,
    upstream: Upstream,
    extra: MessageExtraInfo | undefined,
  ): Promise<JSONRPCMessage | RawResponse | null>;
  /** Sees the server's answer to a request it does not handle; returns what the client gets. */
  onResponse?(
    request: JSONRPCRequest,
    response: JSONRPCMessage,
    extra: MessageExtraInfo | undefined,
  ): JSONRPCMessage | Promise<JSONRPCMessage>;
}

export interface RelayOptions {
  /** The side the MCP client talks to (the proxy plays the server here). */
  readonly client: RelayTransport;
  /** The side of the real MCP server (the proxy plays the client here). */
  readonly server: RelayTransport;
  readonly interceptor?: Interceptor;
  /** Transport errors and malformed messages, for logs (stderr in the CLI). */
  readonly onError?: (side: 'client' | 'server', error: Error) => void;
  /** Why the server went away (e.g. its exit code), for the errors sent to the client. */
  readonly upstreamCloseReason?: () => string | undefined;
  /** Close the client side when the server side closes (default true). */
  readonly closeClientOnUpstreamClose?: boolean;
}

export interface Relay {
  start(): Promise<void>;
  close(): Promise<void>;
  /** Resolves once both sides are closed. */
  readonly closed: Promise<void>;
}

interface InFlight {
  readonly request: JSONRPCRequest;
  readonly progressToken: unknown;
  readonly extra: MessageExtraInfo | undefined;
  /** Cancels a modern request on a per-request-stream transport (closes its stream). */
  readonly abort?: AbortController;
  /** Set while an interceptor waits for the server's answer. */
  waiter?: { resolve(f: Forwarded): void; reject(e: Error): void };
}

const keyOf = (id: RequestId): string => `${typeof id}:${id}`;

const progressTokenOf = (r: JSONRPCRequest): unknown =>
  (r.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;

const agreedVersion = (response: JSONRPCMessage): string | undefined => {
  const v = (response as { result?: { protocolVersion?: unknown } }).result?.protocolVersion;
  return typeof v === 'string' ? v : undefined;
};

/**
 * `UnsupportedProtocolVersion` (-32022) for a request whose `_meta` envelope claims a revision
 * the proxy does not serve: it cannot gate a protocol it does not know.
 */
function unsupportedVersion(request: JSONRPCRequest): JSONRPCMessage | undefined {
  const v = envelopeVersion(request);
  if (v === undefined || MODERN_VERSIONS.includes(v)) return undefined;
  return wireError(request.id, 'unsupported_protocol_version', 'Unsupported protocol version', {
    supported: MODERN_VERSIONS,
    requested: v,
  });
}

/**
 * An `initialize` asking for a revision the proxy does not serve asks the server for the newest
 * one it does: as a server, the proxy answers an unknown version with one it supports.
 */
function servedInitialize(request: JSONRPCRequest): JSONRPCRequest {
  const params = request.params as { protocolVersion?: unknown } | undefined;
  const asked = params?.protocolVersion;
  if (typeof asked !== 'string' || LEGACY_VERSIONS.includes(asked)) return request;
  return { ...request, params: { ...params, protocolVersion: LEGACY_VERSIONS[0] } };
}

export function createRelay(options: RelayOptions): Relay {
  return new RelayImpl(options);
}

/**
 * An intercepted request from the moment the interceptor takes it until it answers: whether the
 * client cancelled it, and whether it was forwarded yet.
 */
interface Taken {
  cancelled: boolean;
  reason: string | undefined;
  forwarded: boolean;
}

class RelayImpl implements Relay {
  private readonly inflight = new Map<string, InFlight>();
  /** Intercepted requests the interceptor is still answering, by the client's request id. */
  private readonly taken = new Map<string, Taken>();
  private readonly handlers = new Set<Promise<void>>();
  private session: ClientSession = {};
  private upstreamClosed = false;
  private clientClosed = false;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));

  constructor(private readonly o: RelayOptions) {}

  async start(): Promise<void> {
    const { client, server } = this.o;
    client.onmessage = (m, extra) => this.fromClient(m, extra);
    server.onmessage = (m) => this.fromServer(m);
    client.onerror = (e) => this.o.onError?.('client', e);
    server.onerror = (e) => this.o.onError?.('server', e);
    client.onclose = () => this.onClientClose();
    server.onclose = () => this.onServerClose();
    // Optional capabilities (transport/capabilities.ts): a transport without them never calls
    // these hooks.
    client.onmalformed = (_line, e) => this.malformed('client', null, `not JSON: ${e.message}`);
    server.onmalformed = (_line, e, id) => {
      this.malformed('server', null, `not JSON: ${e.message}`);
      this.badAnswer(id, `not JSON: ${e.message}`);
    };
    server.onbadanswer = (id, reason) => {
      this.o.onError?.('server', new Error(`malformed answer from the server: ${reason}`));
      this.badAnswer(id, reason);
    };
    // Answers to intercepted requests stay the bytes the server sent, end to end.
    server.onrawresponse = (r) => this.fromServerRaw(r);
    await server.start();
    await client.start();
  }

  async close(): Promise<void> {
    await this.o.client.close();
    await this.o.server.close();
  }

  // ---- client → server ---------------------------------------------------------------------

  private fromClient(raw: unknown, extra: MessageExtraInfo | undefined): void {
    const m = checkMessage(raw);
    switch (m.kind) {
      case 'invalid':
        this.malformed('client', m.id, m.reason);
        return;
      case 'response':
        // The client answering a server request (sampling, elicitation, roots): pass it on.
        this.toServer(m.message);
        return;
      case 'notification': {
        // A cancellation of a request the server never saw stays here (cancelled() says so).
        if (m.message.method === 'notifications/cancelled' && !this.cancelled(m.message)) return;
        this.toServer(m.message);
        return;
      }
      case 'request': {
        let request = m.message as JSONRPCRequest;
        if (this.upstreamClosed) {
          this.toClient(this.closedError(request.id));
          return;
        }
        const refused = unsupportedVersion(request);
        if (refused) {
          this.toClient(refused);
          return;
        }
        if (request.method === 'initialize') {
          request = servedInitialize(request);
          const info = clientInfoOf(request);
          this.session = info ? { clientInfo: info } : {};
        }
        const interceptor = this.o.interceptor;
        if (interceptor?.methods.has(request.method)) {
          this.intercept(interceptor, request, extra);
          return;
        }
        const abort = this.abortFor(request);
        const entry: InFlight = {
          request,
          extra,
          progressToken: progressTokenOf(request),
          ...(abort ? { abort } : {}),
        };
        this.inflight.set(keyOf(request.id), entry);
        this.send(request, abort).catch((e: Error) => {
          this.o.onError?.('server', e);
          if (!this.inflight.delete(keyOf(request.id))) return;
          this.toClient(
            wireError(
              request.id,
              'upstream_closed',
              `Could not reach the MCP server: ${e.message}`,
            ),
          );
        });
      }
    }
  }

  private intercept(
    interceptor: Interceptor,
    request: JSONRPCRequest,
    extra: MessageExtraInfo | undefined,
  ): void {
    const takenKey = keyOf(request.id);
    const taken: Taken = { cancelled: false, reason: undefined, forwarded: false };
    this.taken.set(takenKey, taken);
    const upstream: Upstream = {
      session: this.session,
      forward: (req) =>
        new Promise<Forwarded>((resolve, reject) => {
          // Cancelled while the interceptor decided: the server never sees it.
          if (taken.cancelled) {
            resolve({ kind: 'cancelled', reason: taken.reason, forwarded: false });
            return;
          }
          if (this.upstreamClosed) {
            reject(new UpstreamClosedError(this.closeReason()));
            return;
          }
          taken.forwarded = true;
          const key = keyOf(req.id);
          const abort = this.abortFor(req);
          this.inflight.set(key, {
            request: req,
            extra,
            progressToken: progressTokenOf(req),
            waiter: { resolve, reject },
            ...(abort ? { abort } : {}),
          });
          this.send(req, abort).catch((e: Error) => {
            this.inflight.delete(key);
            reject(new UpstreamClosedError(e.message));
          });
        }),
    };
    const done = interceptor
      .handle(request, upstream, extra)
      .catch((e: Error) => {
        this.o.onError?.('client', e);
        return wireError(request.id, 'internal_error', 'The proxy failed to handle the request.');
      })
      .then((answer) => {
        // A cancelled request gets no answer, whatever the interceptor made of it.
        if (answer && !taken.cancelled) this.toClient(answer);
      })
      .finally(() => {
        if (this.taken.get(takenKey) === taken) this.taken.delete(takenKey);
        this.handlers.delete(done);
      });
    this.handlers.add(done);
  }

  /**
   * The client cancelled a request. An intercepted one not yet forwarded is never forwarded (and
   * its notification stays here: false); one in flight ends as cancelled, and the server hears of
   * it (true), as for any other request.
   */
  private cancelled(n: JSONRPCMessage & { method: string }): boolean {
    const params = (n as { params?: { requestId?: unknown; reason?: unknown } }).params;
    const id = params?.requestId;
    if (typeof id !== 'string' && typeof id !== 'number') return true;
    const reason = typeof params?.reason === 'string' ? params.reason : undefined;
    const taken = this.taken.get(keyOf(id));
    if (taken && !taken.cancelled) {
      taken.cancelled = true;
      taken.reason = reason;
      if (!taken.forwarded) return false;
    }
    const entry = this.inflight.get(keyOf(id));
    if (!entry) return true;
    // On a per-request stream, closing the request's stream is the cancellation upstream.
    const passOn = entry.abort === undefined;
    entry.abort?.abort();
    if (entry.waiter || !passOn) this.inflight.delete(keyOf(id));
    entry.waiter?.resolve({ kind: 'cancelled', reason, forwarded: true });
    return passOn;
  }

  /** A signal to cancel a modern request with, on a transport where that closes its stream. */
  private abortFor(request: JSONRPCRequest): AbortController | undefined {
    if (!this.o.server.hasPerRequestStream) return undefined;
    const v = envelopeVersion(request);
    return v !== undefined && MODERN_VERSIONS.includes(v) ? new AbortController() : undefined;
  }

  private send(request: JSONRPCRequest, abort: AbortController | undefined): Promise<void> {
    return abort
      ? this.o.server.send(request, { requestSignal: abort.signal })
      : this.o.server.send(request);
  }

  // ---- server → client ---------------------------------------------------------------------

  private fromServer(raw: unknown): void {
    const m = checkMessage(raw);
    if (m.kind === 'invalid') {
      this.malformed('server', m.id, m.reason);
      // A bad answer (no method) to a request in flight: its client must not wait forever.
      if (typeof raw === 'object' && raw !== null && !('method' in raw)) {
        this.badAnswer(m.id, m.reason);
      }
      return;
    }
    if (m.kind !== 'response') {
      this.toClient(m.message, this.relatedTo(m.message));
      return;
    }
    const key = keyOf(m.message.id);
    const entry = this.inflight.get(key);
    if (!entry) {
      // An answer to nothing we forwarded (e.g. after a cancellation): the client decides.
      this.toClient(m.message);
      return;
    }
    this.inflight.delete(key);
    if (entry.waiter) {
      entry.waiter.resolve({ kind: 'response', message: m.message });
      return;
    }
    if (entry.request.method === 'initialize' && !this.negotiated(m.message)) {
      this.toClient(
        wireError(
          m.message.id,
          'unsupported_protocol_version',
          'The MCP server agreed to a protocol revision this proxy does not serve.',
          { supported: LEGACY_VERSIONS, requested: agreedVersion(m.message) ?? null },
        ),
      );
      return;
    }
    const hook = this.o.interceptor?.onResponse;
    if (!hook) {
      this.toClient(m.message);
      return;
    }
    let out: JSONRPCMessage | Promise<JSONRPCMessage>;
    try {
      out = hook.call(this.o.interceptor, entry.request, m.message, entry.extra);
    } catch (e) {
      this.o.onError?.('server', e as Error);
      out = m.message;
    }
    if (out instanceof Promise) {
      out.then(
        (o) => this.toClient(o),
        (e: Error) => {
          this.o.onError?.('server', e);
          this.toClient(m.message);
        },
      );
    } else this.toClient(out);
  }

  /** An intercepted request's answer, as the bytes the server sent; false: parse it instead. */
  private fromServerRaw(r: RawResponse): boolean {
    const key = keyOf(r.id);
    const entry = this.inflight.get(key);
    if (!entry?.waiter) return false;
    this.inflight.delete(key);
    entry.waiter.resolve({ kind: 'raw', response: r });
    return true;
  }

  /** A malformed answer to a request in flight: the client gets an error instead of nothing. */
  private badAnswer(id: RequestId | null, reason: string): void {
    if (id === null) return;
    const key = keyOf(id);
    const entry = this.inflight.get(key);
    if (!entry) return;
    this.inflight.delete(key);
    const error = new UpstreamMalformedError(reason);
    if (entry.waiter) entry.waiter.reject(error);
    else this.toClient(wireError(id, 'upstream_malformed', error.message, { reason }));
  }

  // ---- sending, errors, closing ------------------------------------------------------------

  private toServer(message: JSONRPCMessage): void {
    if (this.upstreamClosed) return;
    this.o.server.send(message).catch((e: Error) => this.o.onError?.('server', e));
  }

  private toClient(message: JSONRPCMessage | RawResponse, relatedRequestId?: RequestId): void {
    if (this.clientClosed) return;
    const { client } = this.o;
    let sent: Promise<void>;
    if (message instanceof RawResponse) {
      sent = client.sendRaw ? client.sendRaw(message) : client.send(message.message());
    } else {
      sent = client.send(
        message,
        relatedRequestId !== undefined ? { relatedRequestId } : undefined,
      );
    }
    sent.catch((e: Error) => this.o.onError?.('client', e));
  }

  /**
   * The client request a server notification or request belongs to, for transports that answer
   * each request on its own stream (Streamable HTTP): progress by its token, anything else the
   * latest request still in flight.
   */
  private relatedTo(message: JSONRPCMessage): RequestId | undefined {
    const token = (message as { params?: { progressToken?: unknown } }).params?.progressToken;
    let latest: InFlight | undefined;
    for (const entry of this.inflight.values()) {
      if (token !== undefined && entry.progressToken === token) return entry.request.id;
      latest = entry;
    }
    return latest?.request.id;
  }

  /**
   * Tells both transports the protocol version the server agreed to (HTTP needs it); false when
   * it is one the proxy does not serve (it must not relay a session it cannot gate).
   */
  private negotiated(response: JSONRPCMessage): boolean {
    const v = agreedVersion(response);
    if (v === undefined) return true;
    if (!LEGACY_VERSIONS.includes(v)) return false;
    this.session = { ...this.session, protocolVersion: v };
    this.o.client.setProtocolVersion?.(v);
    this.o.server.setProtocolVersion?.(v);
    return true;
  }

  private malformed(side: 'client' | 'server', id: RequestId | null, reason: string): void {
    const parse = reason.startsWith('not JSON');
    this.o.onError?.(side, new Error(`malformed message from the ${side}: ${reason}`));
    const answer = wireError(
      id,
      parse ? 'parse_error' : 'invalid_request',
      parse ? `Parse error: ${reason}.` : `Invalid request: ${reason}.`,
    );
    if (side === 'client') this.toClient(answer);
    else this.toServer(answer);
  }

  private closeReason(): string {
    return this.o.upstreamCloseReason?.() ?? 'the connection closed';
  }

  private closedError(id: RequestId): JSONRPCMessage {
    return wireError(id, 'upstream_closed', `The MCP server is gone: ${this.closeReason()}.`, {
      reason: this.closeReason(),
    });
  }

  private onServerClose(): void {
    if (this.upstreamClosed) return;
    this.upstreamClosed = true;
    const error = new UpstreamClosedError(this.closeReason());
    for (const [key, entry] of this.inflight) {
      this.inflight.delete(key);
      if (entry.waiter) entry.waiter.reject(error);
      else this.toClient(this.closedError(entry.request.id));
    }
    void Promise.allSettled([...this.handlers]).then(async () => {
      if (this.o.closeClientOnUpstreamClose !== false) await this.o.client.close();
      this.maybeClosed();
    });
  }

  private onClientClose(): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    void this.o.server.close().then(() => this.maybeClosed());
  }

  private maybeClosed(): void {
    if (this.clientClosed && this.upstreamClosed) this.resolveClosed();
  }
}

/** `initialize`'s `params.clientInfo`, if it has a name. */
function clientInfoOf(
  request: JSONRPCRequest,
): { readonly name: string; readonly version?: string } | undefined {
  const info = (request.params as { clientInfo?: { name?: unknown; version?: unknown } })
    ?.clientInfo;
  if (typeof info?.name !== 'string' || info.name === '') return undefined;
  return typeof info.version === 'string'
    ? { name: info.name.slice(0, 256), version: info.version.slice(0, 256) }
    : { name: info.name.slice(0, 256) };
}
