/**
 * One modern (2026-07-28) Streamable HTTP exchange as a relay transport: the POST carries one
 * request; the answer is a JSON body when it comes first, else an SSE stream opened by the
 * request's first notification (progress, logging, a `subscriptions/listen` stream's change
 * notifications) and closed after the answer. An answer the relay hands over as the upstream
 * server's bytes (`RawResponse`) is written from them. An error the server answered with an HTTP
 * status (400, 404) is answered with that status. There is no session: each request gets its
 * own transport, relay and upstream exchange.
 *
 * Closing the response stream is the client's cancellation (revision 2026-07-28, "Cancellation"):
 * when it closes before the answer, the transport hands the relay a `notifications/cancelled` for
 * the request, as a stdio client would send it, and the relay never forwards the request or, when
 * it already has, cancels it upstream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJSONRPCErrorResponse, isJSONRPCResultResponse } from '@modelcontextprotocol/server';
import type {
  AuthInfo,
  JSONRPCMessage,
  JSONRPCRequest,
  MessageExtraInfo,
  RequestId,
  TransportSendOptions,
} from '@modelcontextprotocol/server';
import type { RelayTransport } from './capabilities.js';
import { COALESCE_LIMIT, RequestStream } from './http-front.js';
import type { RawResponse } from './scan.js';

export class ModernExchangeTransport implements RelayTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined;
  /**
   * The HTTP status the upstream server answered an error with (400, 404), to answer it with
   * too; set by the proxy. Default: 200.
   */
  statusOf?: ((id: RequestId) => number | undefined) | undefined;

  private resolveDone!: () => void;
  /** Resolves once the exchange is over: answered, or the client went away. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  /** Opened on the first notification; an answer that comes first is a JSON body. */
  private stream: RequestStream | undefined;
  private answered = false;
  private closed = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly request: JSONRPCRequest,
    private readonly auth: AuthInfo,
  ) {}

  async start(): Promise<void> {
    this.res.once('close', () => this.ended());
    const requestInfo = {
      headers: Object.fromEntries(
        Object.entries(this.req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
      ) as Record<string, string>,
      url: new URL(this.req.url ?? '/', `http://${this.req.headers.host ?? 'localhost'}`),
    };
    // After start: the relay has set its hooks by then.
    queueMicrotask(() =>
      this.onmessage?.(this.request, { authInfo: this.auth, requestInfo } as MessageExtraInfo),
    );
  }

  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (this.closed || this.answered) return;
    // Everything the relay sends here belongs to this exchange's one request.
    const answer = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);
    if (answer) this.answered = true;
    if (answer && !this.stream) {
      const status = (isJSONRPCErrorResponse(message) && this.statusOf?.(this.request.id)) || 200;
      this.res.writeHead(status, { 'content-type': 'application/json' });
      this.res.end(JSON.stringify(message));
      return;
    }
    const stream = this.openStream();
    stream.write(message);
    if (answer) stream.end();
  }

  async sendRaw(response: RawResponse): Promise<void> {
    if (this.closed || this.answered) return;
    this.answered = true;
    if (this.stream) {
      await this.stream.writeRaw(response);
      return;
    }
    // The answer as a JSON body: the server's bytes as they are (a small one in one write, with
    // its length and the response head).
    const { chunks } = response;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    if (bytes <= COALESCE_LIMIT) {
      this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes });
      const body = Buffer.concat(chunks, bytes);
      await new Promise<void>((resolve) => this.res.end(body, () => resolve()));
      return;
    }
    this.res.writeHead(200, { 'content-type': 'application/json' });
    for (const chunk of chunks) this.res.write(chunk);
    await new Promise<void>((resolve) => this.res.end(() => resolve()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.stream) this.stream.end();
    else if (!this.res.destroyed) {
      // Closed without an answer (the upstream went away first): nothing more will come.
      if (!this.res.headersSent) this.res.writeHead(204);
      this.res.end();
    }
    this.onclose?.();
  }

  /** The SSE stream of this request, opened on first use. */
  private openStream(): RequestStream {
    if (this.stream) return this.stream;
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // Sent with the event that follows, in one segment.
    this.stream = new RequestStream(this.res, () => {});
    return this.stream;
  }

  private ended(): void {
    if (!this.answered && !this.closed) {
      // The client closed the stream before the answer: its cancellation of the request.
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: this.request.id, reason: 'the client closed the response stream' },
      });
    }
    this.resolveDone();
  }
}
