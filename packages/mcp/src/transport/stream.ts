/**
 * An MCP `Transport` over a pair of byte streams, one JSON-RPC message per line (the MCP stdio
 * framing). Unlike the SDK's stdio transports it hands on whatever JSON it reads, unvalidated,
 * and reports a line that is not JSON through `onmalformed`: the relay answers both with
 * JSON-RPC errors instead of dropping them.
 */
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export class StreamTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;
  /** A line that is not JSON (the relay answers it with a parse error). */
  onmalformed?: ((line: string, error: Error) => void) | undefined;

  private chunks: Buffer[] = [];
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
      const head = buf.subarray(0, nl);
      const line = (this.chunks.length > 0 ? Buffer.concat([...this.chunks, head]) : head).toString(
        'utf8',
      );
      this.chunks = [];
      buf = buf.subarray(nl + 1);
      this.deliver(line.endsWith('\r') ? line.slice(0, -1) : line);
      if (this.closed) return;
      nl = buf.indexOf(0x0a);
    }
    if (buf.length > 0) this.chunks.push(buf);
  };

  private deliver(line: string): void {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      this.onmalformed?.(line, e as Error);
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.chunks = [];
    this.options.onClosing?.();
    this.onclose?.();
  }
}
