/**
 * One modern (2026-07-28) Streamable HTTP exchange as a relay transport: the POST carries one
 * request, the response is an SSE stream with that request's notifications (progress, logging,
 * a `subscriptions/listen` stream's change notifications) and then its answer, written from the
 * upstream server's bytes when the relay hands them over (`RawResponse`). There is no session:
 * each request gets its own transport, relay and upstream exchange.
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
  TransportSendOptions,
} from '@modelcontextprotocol/server';
import type { RelayTransport } from './capabilities.js';
import { RequestStream } from './http-front.js';
import type { RawResponse } from './scan.js';

export class ModernExchangeTransport implements RelayTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined;

  private resolveDone!: () => void;
  /** Resolves once the exchange is over: answered, or the client went away. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));
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
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
    this.stream = new RequestStream(this.res, () => this.ended());
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
    if (this.closed || this.answered || !this.stream) return;
    // Everything the relay sends here belongs to this exchange's one request.
    this.stream.write(message);
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      this.answered = true;
      this.stream.end();
    }
  }

  async sendRaw(response: RawResponse): Promise<void> {
    if (this.closed || this.answered || !this.stream) return;
    this.answered = true;
    await this.stream.writeRaw(response);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream?.end();
    this.onclose?.();
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
