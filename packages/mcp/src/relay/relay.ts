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
  | { readonly kind: 'cancelled'; readonly reason: string | undefined };

export interface Upstream {
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
  /** Set while an interceptor waits for the server's answer. */
  waiter?: { resolve(f: Forwarded): void; reject(e: Error): void };
}

const keyOf = (id: RequestId): string => `${typeof id}:${id}`;

const progressTokenOf = (r: JSONRPCRequest): unknown =>
  (r.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;

export function createRelay(options: RelayOptions): Relay {
  return new RelayImpl(options);
}

class RelayImpl implements Relay {
  private readonly inflight = new Map<string, InFlight>();
  private readonly handlers = new Set<Promise<void>>();
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
        if (m.message.method === 'notifications/cancelled') this.cancelled(m.message);
        this.toServer(m.message);
        return;
      }
      case 'request': {
        const request = m.message as JSONRPCRequest;
        if (this.upstreamClosed) {
          this.toClient(this.closedError(request.id));
          return;
        }
        const entry: InFlight = { request, extra, progressToken: progressTokenOf(request) };
        const interceptor = this.o.interceptor;
        if (interceptor?.methods.has(request.method)) {
          this.intercept(interceptor, request, extra);
          return;
        }
        this.inflight.set(keyOf(request.id), entry);
        this.o.server.send(request).catch((e: Error) => {
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
    const upstream: Upstream = {
      forward: (req) =>
        new Promise<Forwarded>((resolve, reject) => {
          if (this.upstreamClosed) {
            reject(new UpstreamClosedError(this.closeReason()));
            return;
          }
          const key = keyOf(req.id);
          this.inflight.set(key, {
            request: req,
            extra,
            progressToken: progressTokenOf(req),
            waiter: { resolve, reject },
          });
          this.o.server.send(req).catch((e: Error) => {
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
        if (answer) this.toClient(answer);
      })
      .finally(() => this.handlers.delete(done));
    this.handlers.add(done);
  }

  private cancelled(n: JSONRPCMessage & { method: string }): void {
    const params = (n as { params?: { requestId?: unknown; reason?: unknown } }).params;
    const id = params?.requestId;
    if (typeof id !== 'string' && typeof id !== 'number') return;
    const entry = this.inflight.get(keyOf(id));
    if (!entry?.waiter) return;
    this.inflight.delete(keyOf(id));
    entry.waiter.resolve({
      kind: 'cancelled',
      reason: typeof params?.reason === 'string' ? params.reason : undefined,
    });
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
    if (entry.request.method === 'initialize') this.negotiated(m.message);
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

  /** Tells both transports the protocol version the server agreed to (HTTP needs it). */
  private negotiated(response: JSONRPCMessage): void {
    const v = (response as { result?: { protocolVersion?: unknown } }).result?.protocolVersion;
    if (typeof v !== 'string') return;
    this.o.client.setProtocolVersion?.(v);
    this.o.server.setProtocolVersion?.(v);
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
