/**
 * The proxy's side of its Streamable HTTP clients: the official SDK's
 * `NodeStreamableHTTPServerTransport` (`@modelcontextprotocol/node`), with one change. Every HTTP request goes to the SDK transport
 * (initialization, sessions, notifications, responses, the GET stream, DELETE, every error
 * answer) except a POST carrying exactly one request of `rawMethods` (the interceptor's
 * `tools/call`, `resources/read`, `prompts/get`) that the SDK transport would accept — same
 * checks, in the same order: `Accept`, `Content-Type`, a valid JSON-RPC message, the session id,
 * `MCP-Protocol-Version`. That one is answered here the way the SDK transport answers a request
 * (an SSE stream: `event: message` events, keep-alive comments, closed after the response):
 * progress notifications and server requests the relay sends with that request's id go on it,
 * and its response, when the relay hands over the upstream server's bytes (`RawResponse`), is
 * written from those bytes, never re-encoded: `data: ` and the bytes (the SDK transport
 * `JSON.stringify`s a message object).
 *
 * A JSON line break in such bytes (only possible as insignificant whitespace, between tokens)
 * cannot stand in an SSE `data` line: each starts a new `data:` line, which the client's SSE
 * parser joins with a line feed again (a CR or CRLF arrives as a line feed; JSON unchanged).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  SUPPORTED_PROTOCOL_VERSIONS,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  isJsonContentType,
} from '@modelcontextprotocol/server';
import type {
  AuthInfo,
  JSONRPCMessage,
  JSONRPCRequest,
  MessageExtraInfo,
  RequestId,
  TransportSendOptions,
} from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { StreamableHTTPServerTransportOptions } from '@modelcontextprotocol/node';
import type { RawResponse } from './scan.js';
import type { RelayTransport } from './capabilities.js';

/** The SDK transport's default SSE keep-alive interval (`DEFAULT_SSE_KEEP_ALIVE_MS`). */
const KEEP_ALIVE_MS = 15_000;
const EVENT_HEAD = 'event: message\ndata: ';
const LINE_BREAK = '\ndata: ';
const EVENT_END = '\n\n';
const HEAD_BYTES = Buffer.from(EVENT_HEAD);
const BREAK_BYTES = Buffer.from(LINE_BREAK);
const END_BYTES = Buffer.from(EVENT_END);
/**
 * An answer up to this size is written in one piece (copied once; with the response head when
 * that is still unsent): one segment for the client to read instead of one per piece. A larger
 * one is written piece by piece, never copied (a 64 MiB result is held once).
 */
export const COALESCE_LIMIT = 256 * 1024;

const keyOf = (id: RequestId): string => `${typeof id}:${id}`;
const isJsonWs = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

export interface FrontHttpOptions extends StreamableHTTPServerTransportOptions {
  /** The request methods whose answers this transport writes itself (the interceptor's). */
  readonly rawMethods: ReadonlySet<string>;
}

/** The SSE stream answering one request this transport took from the SDK transport. */
export class RequestStream {
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly onDone: () => void,
  ) {
    this.timer = setInterval(() => {
      if (!this.done) res.write(': keepalive\n\n');
    }, KEEP_ALIVE_MS);
    this.timer.unref();
    // The client went away first: what follows for this request has nowhere to go.
    res.once('close', () => this.finish());
  }

  write(message: JSONRPCMessage): void {
    this.res.write(`${EVENT_HEAD}${JSON.stringify(message)}${EVENT_END}`);
  }

  /** Writes a response as one event from the bytes the server sent. */
  writeRaw(response: RawResponse): Promise<void> {
    const { res } = this;
    const pieces = eventPieces(response.chunks);
    let bytes = 0;
    for (const p of pieces) bytes += p.length;
    return new Promise((resolve, reject) => {
      res.once('error', reject);
      if (bytes <= COALESCE_LIMIT) res.end(Buffer.concat(pieces, bytes), () => resolve());
      else {
        for (let i = 0; i < pieces.length - 1; i++) res.write(pieces[i]);
        res.end(pieces[pieces.length - 1], () => resolve());
      }
      this.finish();
    });
  }

  /** Ends the stream (the request was answered, or the session closed). */
  end(): void {
    if (!this.done) this.res.end();
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.onDone();
  }
}

/**
 * One SSE event carrying the bytes of a message: `event: message`, then `data: ` and the bytes,
 * each JSON line break starting a new `data: ` line, then the blank line. The pieces are
 * subarrays of the chunks (no copies) and the constant parts.
 */
function eventPieces(chunks: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [HEAD_BYTES];
  let afterCr = false;
  for (const chunk of trimmed(chunks)) {
    let from = 0;
    if (afterCr && chunk[0] === 0x0a) from = 1; // the LF of a CRLF split between chunks
    afterCr = false;
    for (;;) {
      let at = chunk.indexOf(0x0a, from);
      const end = at === -1 ? chunk.length : at;
      const cr = chunk.subarray(from, end).indexOf(0x0d);
      if (cr !== -1) at = from + cr;
      if (at === -1) {
        if (from < chunk.length) out.push(from === 0 ? chunk : chunk.subarray(from));
        break;
      }
      if (at > from) out.push(chunk.subarray(from, at));
      out.push(BREAK_BYTES);
      from = at + 1;
      if (chunk[at] === 0x0d) {
        if (from < chunk.length && chunk[from] === 0x0a) from++;
        else if (from === chunk.length) afterCr = true;
      }
    }
  }
  out.push(END_BYTES);
  return out;
}

/** The chunks without the JSON whitespace before and after the message (no copies). */
function trimmed(chunks: readonly Buffer[]): Buffer[] {
  let first = 0;
  let start = 0;
  for (; first < chunks.length; first++, start = 0) {
    const c = chunks[first]!;
    while (start < c.length && isJsonWs(c[start]!)) start++;
    if (start < c.length) break;
  }
  let last = chunks.length - 1;
  let end = last >= 0 ? chunks[last]!.length : 0;
  for (; last >= first; last--, end = last >= 0 ? chunks[last]!.length : 0) {
    const c = chunks[last]!;
    while (end > (last === first ? start : 0) && isJsonWs(c[end - 1]!)) end--;
    if (end > (last === first ? start : 0)) break;
  }
  if (first > last) return [];
  const out = chunks.slice(first, last + 1);
  if (first === last) out[0] = chunks[first]!.subarray(start, end);
  else {
    out[0] = chunks[first]!.subarray(start);
    out[out.length - 1] = chunks[last]!.subarray(0, end);
  }
  return out;
}

export class FrontHttpTransport implements RelayTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined;

  private readonly sdk: NodeStreamableHTTPServerTransport;
  private readonly streams = new Map<string, RequestStream>();
  private readonly rawMethods: ReadonlySet<string>;
  private closed = false;

  constructor(options: FrontHttpOptions) {
    const { rawMethods, ...sdkOptions } = options;
    this.rawMethods = rawMethods;
    this.sdk = new NodeStreamableHTTPServerTransport(sdkOptions);
  }

  get sessionId(): string | undefined {
    return this.sdk.sessionId;
  }

  async start(): Promise<void> {
    this.sdk.onmessage = (m, extra) => this.onmessage?.(m, extra);
    this.sdk.onerror = (e) => this.onerror?.(e);
    this.sdk.onclose = () => {
      this.closed = true;
      for (const s of [...this.streams.values()]) s.end();
      this.onclose?.();
    };
    await this.sdk.start();
  }

  close(): Promise<void> {
    return this.sdk.close();
  }

  /** Handles one HTTP request of the session (`parsedBody`: a POST's JSON body, parsed). */
  async handleRequest(
    req: IncomingMessage & { auth?: AuthInfo },
    res: ServerResponse,
    parsedBody?: unknown,
  ): Promise<void> {
    const request = this.ownRequest(req, parsedBody);
    if (request === undefined) {
      await this.sdk.handleRequest(req, res, parsedBody);
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    // Sent now, before the answer: the client sets up its reading of the stream (an SSE parser)
    // while the call runs upstream, as with the SDK transport.
    res.writeHead(200, headers);
    res.flushHeaders();
    const key = keyOf(request.id);
    const stream = new RequestStream(res, () => {
      if (this.streams.get(key) === stream) this.streams.delete(key);
    });
    this.streams.set(key, stream);
    const requestInfo = {
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
      ) as Record<string, string>,
      url: new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`),
    };
    this.onmessage?.(request, { authInfo: req.auth, requestInfo } as MessageExtraInfo);
  }

  /**
   * The request a POST carries when it is one request of `rawMethods` the SDK transport would
   * accept as it is; undefined: the SDK transport handles the POST (and answers any error).
   */
  private ownRequest(req: IncomingMessage, body: unknown): JSONRPCRequest | undefined {
    if (req.method !== 'POST' || this.closed || this.sessionId === undefined) return undefined;
    if (body === undefined || Array.isArray(body)) return undefined;
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return undefined;
    }
    if (!isJsonContentType(req.headers['content-type'])) return undefined;
    if (!isJSONRPCRequest(body)) return undefined;
    if (!this.rawMethods.has(body.method)) return undefined;
    if (req.headers['mcp-session-id'] !== this.sessionId) return undefined;
    const version = req.headers['mcp-protocol-version'];
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(String(version))) {
      return undefined;
    }
    // The same id twice in flight: the SDK transport's behavior, whatever it is.
    if (this.streams.has(keyOf(body.id))) return undefined;
    return body;
  }

  private streamFor(message: JSONRPCMessage, options?: TransportSendOptions) {
    const id =
      isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)
        ? message.id
        : options?.relatedRequestId;
    return id === undefined ? undefined : this.streams.get(keyOf(id));
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const stream = this.streamFor(message, options);
    if (!stream) {
      const related = options?.relatedRequestId;
      await this.sdk.send(
        message,
        related !== undefined ? { relatedRequestId: related } : undefined,
      );
      return;
    }
    stream.write(message);
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) stream.end();
  }

  /** Sends a response as the bytes the upstream server sent. */
  async sendRaw(response: RawResponse): Promise<void> {
    const stream = this.streams.get(keyOf(response.id));
    if (!stream) {
      // Not a request this transport answers: the SDK transport's, as a message.
      await this.sdk.send(response.message());
      return;
    }
    await stream.writeRaw(response);
  }
}
