/**
 * What a transport may offer the relay beyond the MCP SDK's `Transport`. Every member is
 * optional, as the SDK's own optional members (`sessionId`, `setProtocolVersion`) are: the relay
 * sets the hooks on any transport and uses `sendRaw` where it exists, so it never asks which
 * class a transport is. A transport that offers none of them (e.g. `InMemoryTransport`) relays
 * parsed messages only.
 */
import type { Transport } from '@modelcontextprotocol/server';
import type { RequestId } from '@modelcontextprotocol/server';
import type { RawResponse } from './scan.js';

export interface RelayTransport extends Transport {
  /** Set by the relay: a message that is not JSON, with the request id read from it, if any. */
  onmalformed?: ((line: string, error: Error, id: RequestId | null) => void) | undefined;
  /**
   * Set by the relay on the server side: offered each answer to an intercepted request as the
   * bytes it came in (summarized); returns true when taken, and the answer is then not parsed.
   */
  onrawresponse?: ((response: RawResponse) => boolean) | undefined;
  /** Set by the relay: an answer to this request was malformed and could not be parsed (why). */
  onbadanswer?: ((id: RequestId, reason: string) => void) | undefined;
  /**
   * Each request travels on its own stream, and closing it cancels the request (Streamable HTTP
   * in revision 2026-07-28): the relay cancels a forwarded modern request by aborting the
   * `requestSignal` it sent it with, instead of sending `notifications/cancelled`.
   */
  readonly hasPerRequestStream?: boolean;
  /** Sends an answer as the bytes the server sent (else the relay sends its parsed message). */
  sendRaw?(response: RawResponse): Promise<void>;
}
