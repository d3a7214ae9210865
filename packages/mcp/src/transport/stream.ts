/**
 * An MCP `Transport` over a pair of byte streams, one JSON-RPC message per line (the MCP stdio
 * framing). Unlike the SDK's stdio transports it hands on whatever JSON it reads, unvalidated,
 * and reports a line that is not JSON through `onmalformed`: the relay answers both with
 * JSON-RPC errors instead of dropping them.
 *
 * With `onrawresponse` set, each line is scanned as its bytes arrive (`scan.ts`): a response the
 * hook takes is handed over as the bytes read (`RawResponse`), never decoded into a string or an
 * object, and `sendRaw` writes such bytes out unchanged. Everything else is parsed as before.
 */
import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import { LineScanner } from './scan.js';
import type { RelayTransport } from './capabilities.js';
import type { RawResponse } from './scan.js';

/** A line larger than this that the scanner found malformed is not handed to JSON.parse too. */
const REPARSE_LIMIT = 1 << 20;
/** How much of a large malformed line `onmalformed` gets. */
const PREVIEW = 1024;
/** A last piece of a raw line up to this size is written together with the line break. */
const JOIN_LIMIT = 64 * 1024;
const NEWLINE = Buffer.from('\n');

export class StreamTransport implements RelayTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;
  /**
   * A line that is not JSON (the relay answers it with a parse error): the line (its first
   * kilobyte and `…` when it is over a megabyte), why, and its `id` when that could be read.
   */
  onmalformed?: ((line: string, error: Error, id: RequestId | null) => void) | undefined;
  /** Offered each well-formed JSON-RPC response as its bytes; true: taken, not parsed. */
  onrawresponse?: ((response: RawResponse) => boolean) | undefined;

  private chunks: Buffer[] = [];
  private size = 0;
  private scanner: LineScanner | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: {
      /** Runs once when the transport closes (e.g. stop a child process). */
      readonly onClosing?: () => void;
      /** Close when the input ends (default true). */
      readonly closeOnEnd?: boolean;
    } = {},
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('StreamTransport already started.');
    this.started = true;
    this.input.on('data', this.onData);
    if (this.options.closeOnEnd !== false) this.input.on('end', this.onEnd);
    this.input.on('error', this.onStreamError);
    this.output.on('error', this.onStreamError);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let nl = buf.indexOf(0x0a);
    while (nl !== -1) {
      this.take(buf.subarray(0, nl));
      const { chunks, size, scanner } = this;
      this.chunks = [];
      this.size = 0;
      this.scanner = undefined;
      buf = buf.subarray(nl + 1);
      this.endLine(chunks, size, scanner);
      if (this.closed) return;
      nl = buf.indexOf(0x0a);
    }
    this.take(buf);
  };

  /** A piece of the current line: kept, and scanned when responses may be taken raw. */
  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.chunks.length === 0 && this.onrawresponse) this.scanner = new LineScanner();
    this.scanner?.feed(piece);
    this.chunks.push(piece);
    this.size += piece.length;
  }

  private endLine(chunks: Buffer[], size: number, scanner: LineScanner | undefined): void {
    if (size === 0) return;
    // CRLF framing: the CR is not part of the message.
    const last = chunks[chunks.length - 1]!;
    if (last[last.length - 1] === 0x0d) {
      if (last.length === 1) chunks.pop();
      else chunks[chunks.length - 1] = last.subarray(0, -1);
      size--;
    }
    if (scanner) {
      scanner.finish();
      if (scanner.empty) return;
      const raw = scanner.response(chunks, size);
      if (raw && this.onrawresponse?.(raw)) return;
      if (scanner.invalid !== undefined && size > REPARSE_LIMIT) {
        const head = chunks[0]!.subarray(0, PREVIEW).toString('utf8');
        this.onmalformed?.(`${head}…`, new Error(scanner.invalid), scanner.id ?? null);
        return;
      }
    }
    const line = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
    this.deliver(line, scanner?.id ?? null);
  }

  private deliver(line: string, id: RequestId | null): void {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      this.onmalformed?.(line, e as Error, id);
      return;
    }
    this.onmessage?.(value as JSONRPCMessage);
  }

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onStreamError = (e: Error): void => {
    this.onerror?.(e);
  };

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('StreamTransport is closed.'));
    return new Promise((resolve, reject) => {
      const ok = this.output.write(`${JSON.stringify(message)}\n`, (e) => {
        if (e) reject(e);
      });
      if (ok) resolve();
      else this.output.once('drain', resolve);
    });
  }

  /** Writes a response exactly as the server sent it (its bytes, then a line break). */
  sendRaw(response: RawResponse): Promise<void> {
    if (this.closed) return Promise.reject(new Error('StreamTransport is closed.'));
    return new Promise((resolve, reject) => {
      // The line's own buffers are written: no copy is made (a pipe stdout writes at once),
      // except of a small last piece, which takes the line break along (one write, one read).
      const { chunks } = response;
      const last = chunks[chunks.length - 1];
      const joinLast = last !== undefined && last.length <= JOIN_LIMIT;
      const n = joinLast ? chunks.length - 1 : chunks.length;
      for (let i = 0; i < n; i++) this.output.write(chunks[i]);
      const end = joinLast ? Buffer.concat([last, NEWLINE]) : NEWLINE;
      const ok = this.output.write(end, (e) => {
        if (e) reject(e);
      });
      if (ok) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.chunks = [];
    this.size = 0;
    this.scanner = undefined;
    this.options.onClosing?.();
    this.onclose?.();
  }
}
