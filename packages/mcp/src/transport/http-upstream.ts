/**
 * The proxy's side of an upstream Streamable HTTP server: the official SDK's
 * `StreamableHTTPClientTransport`, with one change. The SDK transport does every HTTP exchange
 * itself (session id, protocol version, auth, redirects, the GET stream, reconnection, DELETE);
 * only the body of the answer to a POST carrying one request of `rawMethods` (the interceptor's
 * `tools/call`, `resources/read`, `prompts/get`) is read here, through the `fetch` the SDK
 * transport is given, instead of by the SDK transport — which would read it into a string,
 * `JSON.parse` it and validate it. The body's bytes are scanned as they arrive (`scan.ts`: the
 * syntax checked, the envelope read, the `result` hashed); a response `onrawresponse` takes is
 * handed over as those bytes (`RawResponse`), never decoded. Everything else reaches the SDK
 * transport as the server sent it:
 *
 * - an `application/json` answer: the SDK transport gets `202 Accepted` when the body was taken
 *   (it reads nothing more), else the body's bytes, to parse as before;
 * - a `text/event-stream` answer: every event but the taken response passes to the SDK transport
 *   byte for byte (progress, server requests, keep-alives); the response is replaced by a small
 *   stand-in event of the same kind (`{"result":{"_meta":{"io.provenant/raw":N}}}`, or an error
 *   with that `data`; with the event's `id` and `retry`), so the SDK transport knows the request
 *   was answered and where the stream stands.
 *   The taken response is handed over only when the SDK transport delivers that stand-in, so it
 *   reaches the relay after every message the server sent before it, as it would have.
 *
 * An answer that is not JSON and over a megabyte is not handed to the SDK transport to parse
 * again: `onbadanswer` reports it with the id of the request it answers.
 *
 * The POST of an intercepted request is sent with `node:http` (or `node:https`, keep-alive, the
 * global agent) rather than the global `fetch`, unless the options give a `fetch` of their own:
 * its answer is read here anyway, and `fetch`'s request, headers, response and body streams cost
 * several times the CPU of `node:http` for the same exchange (issue 16's benchmark). What the
 * SDK transport gets back is the same `Response` either way.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { StreamableHTTPClientTransport, parseJSONRPCMessage } from '@modelcontextprotocol/client';
import type {
  FetchLike,
  JSONRPCMessage,
  MessageExtraInfo,
  RequestId,
  StreamableHTTPClientTransportOptions,
  TransportSendOptions,
} from '@modelcontextprotocol/client';
import { envelopeVersion } from '../era.js';
import { LineScanner } from './scan.js';
import type { RelayTransport } from './capabilities.js';
import type { RawResponse } from './scan.js';

const keyOf = (id: RequestId): string => `${typeof id}:${id}`;

/** A malformed answer larger than this is not handed to the SDK transport to parse again. */
const REPARSE_LIMIT = 1 << 20;
/** How long an intercepted request waits at most for the session's GET stream to open. */
const OPENING_WAIT_MS = 1000;
/** The `_meta` key of the stand-in for a taken SSE response. */
export const RAW_MARK = 'io.provenant/raw';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');
const FIELD_LIMIT = 16;
const VALUE_LIMIT = 1024;

/**
 * The intercepted request an upstream transport's SDK transport is sending in this async context,
 * if any. One store for every transport, never one each: on Node 20 and 22 an AsyncLocalStorage
 * that has run stays in a list that every new promise and async resource of the process walks
 * (nothing takes it out but `disable()`), so a store per transport — one per 2026-07-28 request —
 * made each promise of the proxy slower with every request it had served (issue 16: 47–59 ms
 * added per call after two thousand requests).
 */
const sending = new AsyncLocalStorage<{
  readonly by: UpstreamHttpTransport;
  readonly id: RequestId;
}>();

export interface UpstreamHttpOptions {
  /** The request methods whose answers may be taken as bytes (the interceptor's). */
  readonly rawMethods: ReadonlySet<string>;
  /** Passed to the SDK transport (`fetch` is wrapped, not replaced). */
  readonly transport?: StreamableHTTPClientTransportOptions;
}

export class UpstreamHttpTransport implements RelayTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined;
  /** Offered each answer to a request of `rawMethods` as its bytes; true: taken, not parsed. */
  onrawresponse?: ((response: RawResponse) => boolean) | undefined;
  /** An answer to this request was malformed and too large to parse again (why). */
  onbadanswer?: ((id: RequestId, reason: string) => void) | undefined;

  /** A modern request is cancelled by closing its stream (`requestSignal`). */
  readonly hasPerRequestStream = true;
  private readonly sdk: StreamableHTTPClientTransport;
  /** Taken SSE responses, waiting for their stand-ins to come through the SDK transport. */
  private readonly held = new Map<number, RawResponse>();
  /** Stand-ins whose responses were handed over without them (their stream failed). */
  private readonly settled = new Set<number>();
  private nextMark = 1;
  /** Intercepted requests go by `node:http` (no `fetch` of the caller's to honour). */
  private readonly direct: boolean;
  /**
   * The session's GET stream being opened (the SDK transport opens it after `initialized`,
   * without waiting): an intercepted request waits for its answer's head, so that the server has
   * the stream before the call that may send requests on it (a sampling request the server
   * sends on no request's stream is lost without one). `fetch` keeps that order on its own: one
   * pool, requests dispatched in turn.
   */
  private opening: Promise<unknown> = Promise.resolve();
  /** The HTTP statuses of error answers (a 2026-07-28 server's 400 and 404), by request. */
  private readonly statuses = new Map<string, number>();
  /**
   * The last notification's POST. Each message is its own POST, so without this a request could
   * overtake the notification before it (the first request overtaking `initialized`).
   */
  private notified: Promise<unknown> = Promise.resolve();

  constructor(
    url: URL,
    private readonly o: UpstreamHttpOptions,
  ) {
    this.direct = o.transport?.fetch === undefined;
    const base: FetchLike = o.transport?.fetch ?? ((u, init) => fetch(u, init));
    this.sdk = new StreamableHTTPClientTransport(url, {
      ...o.transport,
      fetch: (u, init) => this.fetch(base, u, init),
    });
  }

  get sessionId(): string | undefined {
    return this.sdk.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.sdk.setProtocolVersion(version);
  }

  async start(): Promise<void> {
    this.sdk.onmessage = (m) => this.fromSdk(m);
    this.sdk.onerror = (e) => this.onerror?.(e);
    this.sdk.onclose = () => {
      this.held.clear();
      this.settled.clear();
      this.onclose?.();
    };
    await this.sdk.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    // The SDK transport reads only the options it knows (resumption).
    const send = () =>
      this.sdk.send(message, options as Parameters<StreamableHTTPClientTransport['send']>[1]);
    const { method, id } = message as { method?: unknown; id?: RequestId };
    const raw =
      this.onrawresponse !== undefined &&
      typeof method === 'string' &&
      this.o.rawMethods.has(method) &&
      id !== undefined;
    // The SDK transport's POST of it (in this async context) is the one whose answer is read here.
    const post = () => (raw ? sending.run({ by: this, id }, send) : send());
    const sent = this.notified.then(post, post);
    if (id === undefined && typeof method === 'string') this.notified = sent.catch(() => {});
    return sent;
  }

  /** Ends the upstream session (HTTP DELETE). */
  terminateSession(): Promise<void> {
    return this.sdk.terminateSession();
  }

  close(): Promise<void> {
    return this.sdk.close();
  }

  private fromSdk(m: JSONRPCMessage): void {
    const r = m as { result?: { _meta?: Record<string, unknown> }; error?: { data?: unknown } };
    const data = r.error?.data as Record<string, unknown> | undefined;
    const mark = r.result ? r.result._meta?.[RAW_MARK] : data?.[RAW_MARK];
    const raw = typeof mark === 'number' ? this.held.get(mark) : undefined;
    if (raw === undefined) {
      if (typeof mark === 'number' && this.settled.delete(mark)) return;
      this.onmessage?.(m);
      return;
    }
    this.held.delete(mark as number);
    this.deliver(raw);
  }

  private deliver(raw: RawResponse): void {
    if (this.onrawresponse?.(raw)) return;
    // Not taken after all (e.g. cancelled meanwhile): parsed, as the SDK transport would have.
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(raw.message());
    } catch (e) {
      this.onerror?.(e as Error);
      return;
    }
    this.onmessage?.(message);
  }

  /** The SDK transport's fetch: answers to intercepted requests are read here. */
  private async fetch(base: FetchLike, url: string | URL, init?: RequestInit): Promise<Response> {
    const store = sending.getStore();
    const id =
      init?.method === 'POST' && typeof init.body === 'string' && store?.by === this
        ? store.id
        : undefined;
    let response: Response;
    if (id !== undefined && this.direct && init?.redirect === 'manual' && isHttp(url)) {
      await this.opening;
      const res = await post(url, init);
      const type = mediaTypeEssence(header(res, 'content-type'));
      if (res.statusCode === 200 && (type === 'application/json' || type === 'text/event-stream')) {
        const head = { status: 200, statusText: res.statusMessage ?? '', headers: headersOf(res) };
        const reader = nodeReader(res);
        return type === 'application/json'
          ? this.takeJson(head, reader, id)
          : this.takeSse(head, reader, id);
      }
      response = webResponse(res);
    } else {
      const pending = base(url, init);
      if ((init?.method ?? 'GET') === 'GET') {
        // Its head, or a second at most (a server that never answers holds nothing up).
        let timer: NodeJS.Timeout | undefined;
        this.opening = Promise.race([
          pending.catch(() => {}),
          new Promise((ok) => (timer = setTimeout(ok, OPENING_WAIT_MS).unref())),
        ]).finally(() => clearTimeout(timer));
      }
      response = await pending;
    }
    if (!response.ok && response.status !== 401 && typeof init?.body === 'string') {
      const answered = await this.errorAnswer(response, init.body);
      if (answered) return answered;
    }
    if (id === undefined || response.status !== 200 || !response.body) return response;
    // The media type read as the SDK transport reads it.
    const type = mediaTypeEssence(response.headers.get('content-type'));
    if (type === 'application/json') return this.takeJson(response, response.body.getReader(), id);
    if (type === 'text/event-stream') return this.takeSse(response, response.body.getReader(), id);
    return response;
  }

  /**
   * A 2026-07-28 server answers some JSON-RPC errors with an HTTP status (400 for -32020, -32022
   * or -32602, 404 for -32601): the SDK transport would report those as transport failures, not
   * as the answer they are. Such a body, addressed to the request sent, goes to the SDK transport
   * as a plain JSON answer, and its status is kept for the client (`statusOf`).
   */
  private async errorAnswer(response: Response, sent: string): Promise<Response | undefined> {
    let id: unknown;
    try {
      const m = JSON.parse(sent) as { id?: unknown; params?: unknown };
      if (envelopeVersion(m) === undefined) return undefined;
      id = m.id;
    } catch {
      return undefined;
    }
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    const text = await response.text().catch(() => '');
    let body: { id?: unknown; error?: { code?: unknown } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.id !== id || typeof body.error?.code !== 'number') {
      // Not an answer: the SDK transport reports the status as before.
      return new Response(text, { status: response.status, headers: response.headers });
    }
    this.statuses.set(keyOf(id), response.status);
    return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
  }

  /** The HTTP status an upstream answered this request's error with, when it was not 200. */
  statusOf(id: RequestId): number | undefined {
    return this.statuses.get(keyOf(id));
  }

  private async takeJson(response: Head, reader: BodyReader, id: RequestId): Promise<Response> {
    const scanner = new LineScanner();
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      scanner.feed(b);
      chunks.push(b);
      bytes += b.length;
    }
    scanner.finish();
    const accepted = () =>
      new Response(null, { status: 202, statusText: 'Accepted', headers: response.headers });
    const raw = scanner.response(chunks, bytes);
    if (raw && this.onrawresponse?.(raw)) return accepted();
    if (scanner.invalid !== undefined && bytes > REPARSE_LIMIT) {
      // The body answers this request, whatever id it may have lost.
      this.onbadanswer?.(id, `not JSON: ${scanner.invalid}`);
      return accepted();
    }
    // Anything else is the SDK transport's to read, as the server sent it.
    return new Response(streamOf(chunks), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  private takeSse(response: Head, reader: BodyReader, id: RequestId): Response {
    let out!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        out = c;
      },
      cancel: (reason) => reader.cancel(reason),
    });
    let answered = false;
    let dropped: string | undefined;
    const marks: number[] = [];
    const events = new SseEvents({
      pass: (pieces) => {
        for (const p of pieces) out.enqueue(p);
      },
      event: (e) => {
        if (e.scanner === undefined || (e.type !== undefined && e.type !== 'message')) {
          return false;
        }
        const raw = e.scanner.response(e.data, e.dataBytes);
        if (raw) {
          if (raw.id === id) answered = true;
          const mark = this.nextMark++;
          this.held.set(mark, raw);
          marks.push(mark);
          out.enqueue(standIn(raw, mark, e.id, e.retry));
          return true;
        }
        if (e.scanner.invalid !== undefined && e.dataBytes > REPARSE_LIMIT) {
          // Not handed on to be parsed again: reported for the request it answers.
          const reason = `not JSON: ${e.scanner.invalid}`;
          const about = e.scanner.id;
          if (about !== undefined) {
            if (about === id) answered = true;
            this.onbadanswer?.(about, reason);
          } else {
            this.onerror?.(new Error(`malformed event from the server: ${reason}`));
            dropped = reason;
          }
          return true;
        }
        return false;
      },
    });
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          events.feed(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        }
        events.end();
        // A malformed answer whose id was lost: the stream ended, nothing else answered it.
        if (dropped !== undefined && !answered) this.onbadanswer?.(id, dropped);
        out.close();
      } catch (e) {
        try {
          out.error(e);
        } catch {
          // Already cancelled.
        }
        // The SDK transport may drop what it had not read yet: a response already read is
        // handed over now (its stand-in, should it still come, is dropped).
        for (const mark of marks) {
          const raw = this.held.get(mark);
          if (raw === undefined) continue;
          this.held.delete(mark);
          this.settled.add(mark);
          this.deliver(raw);
        }
      }
    })();
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }
}

/** What `takeJson` and `takeSse` read of an answer: its head, and its body as a reader. */
interface Head {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
}
interface BodyReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

function isHttp(url: string | URL): boolean {
  const protocol = new URL(url).protocol;
  return protocol === 'http:' || protocol === 'https:';
}

/**
 * The POST `fetch` would make, by `node:http(s)` on the global keep-alive agent: the SDK
 * transport's headers, its body (a string), its signal. A request that fails on a reused
 * keep-alive connection before any answer (the server closed it meanwhile) is sent once more on
 * a new one, as Node's documentation advises; other failures reject as `fetch` does
 * (`TypeError: fetch failed` with the cause, or the signal's `AbortError`).
 */
function post(url: string | URL, init: RequestInit): Promise<IncomingMessage> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => (headers[k] = v));
  const body = init.body as string;
  headers['content-length'] = String(Buffer.byteLength(body));
  const signal = init.signal ?? undefined;
  const attempt = (again: boolean): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      let answered = false;
      const req = send(
        target,
        { method: 'POST', headers, ...(signal ? { signal } : {}) },
        (res) => {
          answered = true;
          resolve(res);
        },
      );
      req.once('error', (e: NodeJS.ErrnoException) => {
        if (answered) return; // the body's reader reports it
        if (again && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          resolve(attempt(false));
        } else if (e.name === 'AbortError') reject(e);
        else reject(new TypeError('fetch failed', { cause: e }));
      });
      req.end(body);
    });
  return attempt(true);
}

function header(res: IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}

function headersOf(res: IncomingMessage): Headers {
  const h = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
  return h;
}

/** A Node response's body as a reader (`read` rejects when the response fails or is aborted). */
function nodeReader(res: IncomingMessage): BodyReader {
  const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return {
    read: async () => {
      const r = await it.next();
      return r.done ? { done: true } : { done: false, value: r.value };
    },
    cancel: async () => {
      res.destroy();
    },
  };
}

/** A Node response as `fetch` would have given it (no body for the statuses that have none). */
function webResponse(res: IncomingMessage): Response {
  const status = res.statusCode ?? 502;
  const init = { status, statusText: res.statusMessage ?? '', headers: headersOf(res) };
  if (status === 204 || status === 205 || status === 304) {
    res.resume();
    return new Response(null, init);
  }
  return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, init);
}

function streamOf(chunks: Buffer[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (i < chunks.length) c.enqueue(chunks[i++]!);
      else c.close();
    },
  });
}

/** The event the SDK transport gets for a taken response: of the same kind, with its mark. */
function standIn(
  raw: RawResponse,
  mark: number,
  eventId: string | undefined,
  retry: string | undefined,
): Buffer {
  const { id } = raw;
  const message = raw.error
    ? {
        jsonrpc: '2.0',
        id,
        error: { code: -32603, message: '', data: { [RAW_MARK]: mark } },
      }
    : { jsonrpc: '2.0', id, result: { _meta: { [RAW_MARK]: mark } } };
  return Buffer.from(
    `${eventId !== undefined ? `id: ${eventId}\n` : ''}${retry !== undefined ? `retry: ${retry}\n` : ''}data: ${JSON.stringify(message)}\n\n`,
  );
}

/** One SSE event as read: its `data` as bytes (scanned), and the fields the stand-in keeps. */
export interface SseEvent {
  readonly type: string | undefined;
  readonly id: string | undefined;
  readonly retry: string | undefined;
  /** The data lines' values joined by line feeds (pieces of the buffers read). */
  readonly data: readonly Buffer[];
  readonly dataBytes: number;
  /** The data, scanned as JSON (finished); undefined: the event has no data. */
  readonly scanner: LineScanner | undefined;
}

const enum Phase {
  LineStart,
  Name,
  Value,
}

/**
 * Reads a `text/event-stream` body a byte at a time where it must (field names, line ends) and
 * a piece at a time elsewhere: `data` values go to the event's scanner and its list of pieces
 * (subarrays of the buffers read, no copies); every byte of an event is kept too, as pieces, so
 * an event nobody takes passes on exactly as it came.
 */
export class SseEvents {
  private raw: Buffer[] = [];
  private phase = Phase.LineStart;
  private afterCr = false;
  private name: number[] = [];
  private field: 'data' | 'event' | 'id' | 'retry' | 'other' = 'other';
  private skipSpace = false;
  private value: number[] = [];
  private data: Buffer[] = [];
  private dataBytes = 0;
  private dataLines = 0;
  private scanner: LineScanner | undefined;
  private type: string | undefined;
  private id: string | undefined;
  private retry: string | undefined;

  constructor(
    private readonly sink: {
      /** Bytes to pass on as they came. */
      pass(pieces: readonly Buffer[]): void;
      /** A whole event; true: taken (its bytes are not passed on). */
      event(e: SseEvent): boolean;
    },
  ) {}

  feed(buf: Buffer): void {
    let from = 0; // where this buffer's bytes not yet kept in `raw` start
    let i = 0;
    const n = buf.length;
    while (i < n) {
      const b = buf[i]!;
      if (this.afterCr) {
        this.afterCr = false;
        if (b === LF) {
          i++;
          continue;
        }
      }
      if (this.phase === Phase.Value && this.field === 'data') {
        // The bulk of a large event: find the line's end, hand on what comes before it.
        if (this.skipSpace) {
          this.skipSpace = false;
          if (b === SPACE) {
            i++;
            continue;
          }
        }
        let end = buf.indexOf(LF, i);
        if (end === -1) end = n;
        const cr = buf.subarray(i, end).indexOf(CR);
        if (cr !== -1) end = i + cr;
        if (end > i) this.dataPiece(buf.subarray(i, end));
        i = end;
        if (i === n) break;
      }
      const c = buf[i]!;
      if (c === LF || c === CR) {
        this.afterCr = c === CR;
        i++;
        if (this.phase === Phase.LineStart) {
          this.raw.push(buf.subarray(from, i));
          from = i;
          this.dispatch();
        } else this.endLine();
        continue;
      }
      if (this.phase === Phase.LineStart) {
        this.phase = Phase.Name;
        this.name = [];
      }
      if (this.phase === Phase.Name) {
        if (c === COLON) this.beginValue();
        else if (this.name.length <= FIELD_LIMIT) this.name.push(c);
      } else if (this.skipSpace && c === SPACE) {
        this.skipSpace = false;
      } else {
        this.skipSpace = false;
        if (this.value.length <= VALUE_LIMIT) this.value.push(c);
      }
      i++;
    }
    if (from < n) this.raw.push(buf.subarray(from));
  }

  /** The body ended: an unfinished event passes on as it came (the SDK drops it). */
  end(): void {
    if (this.phase !== Phase.LineStart) this.endLine();
    if (this.scanner !== undefined) {
      this.scanner.finish();
      // A large unfinished event is not passed on to be parsed again: it is reported.
      if (this.dataBytes > REPARSE_LIMIT && this.scanner.invalid !== undefined) {
        this.sink.event(this.event());
        this.reset();
        return;
      }
    }
    if (this.raw.length > 0) this.sink.pass(this.raw);
    this.reset();
  }

  private beginValue(): void {
    const name = Buffer.from(this.name).toString('utf8');
    this.field =
      name === 'data' || name === 'event' || name === 'id' || name === 'retry' ? name : 'other';
    this.phase = Phase.Value;
    this.skipSpace = true;
    this.value = [];
    if (this.field === 'data') this.beginData();
  }

  private beginData(): void {
    if (this.dataLines++ > 0) this.dataPiece(NEWLINE);
    else this.scanner = new LineScanner();
  }

  private dataPiece(piece: Buffer): void {
    this.scanner!.feed(piece);
    this.data.push(piece);
    this.dataBytes += piece.length;
  }

  private endLine(): void {
    if (this.phase === Phase.Name) {
      // A line without a colon: the whole line names the field, its value is empty.
      const name = Buffer.from(this.name).toString('utf8');
      if (name === 'data') this.beginData();
      else if (name === 'event') this.type = '';
      else if (name === 'id') this.id = '';
    } else if (this.field !== 'data' && this.value.length <= VALUE_LIMIT) {
      const v = Buffer.from(this.value).toString('utf8');
      if (this.field === 'event') this.type = v;
      else if (this.field === 'id' && !v.includes('\u0000')) this.id = v;
      else if (this.field === 'retry' && /^\d+$/.test(v)) this.retry = v;
    }
    this.phase = Phase.LineStart;
    this.field = 'other';
  }

  private event(): SseEvent {
    return {
      type: this.type === '' ? undefined : this.type,
      id: this.id,
      retry: this.retry,
      data: this.data,
      dataBytes: this.dataBytes,
      scanner: this.scanner,
    };
  }

  private dispatch(): void {
    if (this.scanner !== undefined) {
      this.scanner.finish();
      if (this.sink.event(this.event())) {
        this.reset();
        return;
      }
    }
    this.sink.pass(this.raw);
    this.reset();
  }

  private reset(): void {
    this.raw = [];
    this.data = [];
    this.dataBytes = 0;
    this.dataLines = 0;
    this.scanner = undefined;
    this.type = undefined;
    this.id = undefined;
    this.retry = undefined;
  }
}

/** A media type without its parameters, lower-cased (`text/event-stream; charset=utf-8`). */
function mediaTypeEssence(value: string | null): string | undefined {
  if (value === null) return undefined;
  const essence = value.split(';', 1)[0]!.trim().toLowerCase();
  return essence === '' ? undefined : essence;
}
