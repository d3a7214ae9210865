/**
 * stdio mode: the MCP client launches the proxy as if it were the server; the proxy launches
 * the real server as a child process and relays between the two. Our stdout carries only the
 * protocol; everything else goes to the log (stderr).
 */
import type { Readable, Writable } from 'node:stream';
import { remotePdp } from '@provenant/sdk';
import { createCoazPep } from '../coaz/pep.js';
import { collectorCredential } from '../coaz/token.js';
import { createPolicyGate } from '../policy/gate.js';
import type { ProxyConfig } from '../policy/config.js';
import { createRelay } from '../relay/relay.js';
import { spawnServer } from '../transport/process.js';
import { StreamTransport } from '../transport/stream.js';
import { receiptsFor, recorderFor } from './recording.js';
import type { RecordingOptions } from './recording.js';

export interface StdioProxyOptions extends RecordingOptions {
  /** The real MCP server: a command and its arguments. */
  readonly command: string;
  readonly args: readonly string[];
  /** The initiator's Provenant credential: whom every call is made for. */
  readonly initiatorToken: string;
  readonly config?: ProxyConfig;
  /** Answer `tools/list` with only the tools policy allows the initiator. */
  readonly filterTools?: boolean;
  readonly input?: Readable;
  readonly output?: Writable;
  /** Log lines (default: stderr). */
  readonly log?: (line: string) => void;
  /** The server process's environment (default: ours). */
  readonly env?: NodeJS.ProcessEnv;
  /** Stops the proxy (and the server) as if the client had gone away; records are flushed. */
  readonly signal?: AbortSignal;
  /**
   * Also be a COAZ-MCP PEP at this AuthZEN PDP (its base URL): every request is authorized
   * there first, with the initiator's credential; a permitted call then goes through the gate.
   */
  readonly authzenPdp?: string;
}

export interface StdioProxyResult {
  /** How the server process ended. */
  readonly serverExit: string;
  /** Whether every record reached the collector (or the spool) before the proxy stopped. */
  readonly drained: boolean;
}

/** Runs until the client or the server goes away. */
export async function runStdioProxy(o: StdioProxyOptions): Promise<StdioProxyResult> {
  const log = o.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const { recorder, owned } = recorderFor(o);
  const server = spawnServer(o.command, o.args, o.env ? { env: o.env } : {});
  const input = o.input ?? process.stdin;
  const client = new StreamTransport(input, o.output ?? process.stdout, {
    onClosing: () => input.pause(),
  });
  const receipts = receiptsFor(o);
  const gate = createPolicyGate({
    recorder,
    ...(receipts ? { receipts } : {}),
    initiatorToken: o.initiatorToken,
    ...(o.config ? { config: o.config } : {}),
    ...(o.filterTools ? { filterTools: true, pdp: remotePdp(o.collectorUrl, fetch) } : {}),
  });
  const interceptor = o.authzenPdp
    ? createCoazPep({
        pdp: o.authzenPdp,
        credential: collectorCredential(o.collectorUrl, o.initiatorToken),
        next: gate,
      })
    : gate;
  const relay = createRelay({
    client,
    server: server.transport,
    interceptor,
    upstreamCloseReason: () => server.exitReason(),
    onError: (side, e) => log(`mcp-proxy: ${side}: ${e.message}`),
  });
  await relay.start();
  const stop = () => void relay.close();
  if (o.signal?.aborted) stop();
  o.signal?.addEventListener('abort', stop, { once: true });
  await relay.closed;
  o.signal?.removeEventListener('abort', stop);
  const serverExit = await server.exited;
  log(`mcp-proxy: the MCP server stopped: ${serverExit}`);
  await recorder.flush();
  const drained = await recorder.drain(5_000);
  if (owned) await recorder.close();
  return { serverExit, drained };
}
