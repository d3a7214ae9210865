/**
 * Streamable HTTP mode: the proxy is an MCP server at `http://HOST:PORT/mcp` in front of an
 * upstream Streamable HTTP MCP server. Each request's `Authorization: Bearer` credential (a
 * Provenant credential) names the initiator its calls are made for; without a valid one the
 * proxy answers 401 with `WWW-Authenticate: Bearer resource_metadata="…"`, and serves that
 * protected-resource metadata (RFC 9728) at `/.well-known/oauth-protected-resource`, as the MCP
 * authorization specification describes. The credential is never passed upstream.
 *
 * With `txnTokens`, a request's `Txn-Token` header (draft-ietf-oauth-transaction-tokens-10) is
 * verified before its credential is looked at: one that fails is answered 401 with the
 * verifier's code and nothing is forwarded; a verified one goes with the call's decision and
 * records to the collector (which verifies it again and records its `txn`), never upstream. A
 * Txn-Token sent as the credential is `txn_token_misplaced`.
 *
 * Both sides are the official SDK's Streamable HTTP transports, except that the answer to an
 * intercepted request travels from one to the other as the bytes the server sent, read once
 * (`transport/http-upstream.ts`, `transport/http-front.ts`).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { AuthInfo, InboundModernRoute, JSONRPCRequest } from '@modelcontextprotocol/server';
import {
  bearerToken,
  hostRefusal,
  listenerHosts,
  parseAllowedHost,
  parseAllowedOrigin,
} from '@provenant/core/vocabulary';
import type { HostRule } from '@provenant/core/vocabulary';
import { CredentialError, TXN_TOKEN_HEADER, TXN_TOKEN_TYP } from '@provenant/identity';
import type { TxnTokenVerifier } from '@provenant/identity';
import { remotePdp } from '@provenant/sdk';
import { decodeProtectedHeader } from 'jose';
import { createPolicyGate } from '../policy/gate.js';
import type { ProxyConfig } from '../policy/config.js';
import { createRelay } from '../relay/relay.js';
import type { Relay } from '../relay/relay.js';
import { MODERN_VERSIONS, checkStandardHeaders, envelopeVersion } from '../era.js';
import type { HeaderMismatch } from '../era.js';
import { FrontHttpTransport } from '../transport/http-front.js';
import { ModernExchangeTransport } from '../transport/http-modern.js';
import { UpstreamHttpTransport } from '../transport/http-upstream.js';
import { audienceRefusal } from './audience.js';
import { receiptsFor, recorderFor } from './recording.js';
import { wireError } from '../wire.js';
import { InvalidConfigError } from '../errors.js';
import type { RecordingOptions } from './recording.js';

export interface HttpProxyOptions extends RecordingOptions {
  /** Where to listen (default 127.0.0.1, port 0: any free port). */
  readonly host?: string;
  readonly port?: number;
  /** The upstream MCP server's Streamable HTTP endpoint. */
  readonly upstream: string | URL;
  readonly config?: ProxyConfig;
  readonly filterTools?: boolean;
  /** The proxy's public base URL, if it differs from where it listens (e.g. behind TLS). */
  readonly publicUrl?: string;
  /**
   * Host names answered besides the proxy's own (the loopback names, the bound address and the
   * public URL's host, on their port): `name` (any port) or `name:port`. Any other Host, and an
   * Origin that is not the proxy's own or one of `allowedOrigins`, is answered 403.
   */
  readonly allowedHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
  /**
   * Verifies each request's `Txn-Token` header against the Txn-Token Services of its trust
   * domain (the collector's own and any other it trusts). Without it the header is not read.
   */
  readonly txnTokens?: TxnTokenVerifier;
  readonly log?: (line: string) => void;
}

export interface RunningHttpProxy {
  /** The MCP endpoint, e.g. http://127.0.0.1:8931/mcp. */
  readonly url: string;
  /** Active MCP sessions (earlier revisions: the 2026-07-28 revision has none). */
  sessions(): number;
  /** 2026-07-28 requests in flight (each its own exchange), answered or cancelled when done. */
  exchanges(): number;
  close(): Promise<void>;
}

export const MCP_PATH = '/mcp';
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

export async function startHttpProxy(o: HttpProxyOptions): Promise<RunningHttpProxy> {
  // Checked before anything starts: an entry that is not a name is a configuration mistake.
  const extraHosts = configured(() => (o.allowedHosts ?? []).map(parseAllowedHost));
  const extraOrigins = configured(() => new Set((o.allowedOrigins ?? []).map(parseAllowedOrigin)));
  // Known once listening (the port may be picked then); no request arrives before.
  let hosts: HostRule = { hosts: [], origins: extraOrigins, scheme: 'http' };
  const log = o.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const { recorder, owned } = recorderFor(o);
  const receipts = receiptsFor(o);
  const gate = createPolicyGate({
    recorder,
    ...(receipts ? { receipts } : {}),
    initiatorToken: (extra) => extra?.authInfo?.token,
    txnToken: (extra) => {
      const t = extra?.authInfo?.extra?.[AUTH_TXN_TOKEN];
      return typeof t === 'string' ? t : undefined;
    },
    ...(o.config ? { config: o.config } : {}),
    ...(o.filterTools ? { filterTools: true, pdp: remotePdp(o.collectorUrl, fetch) } : {}),
  });
  const upstream = new URL(o.upstream);
  /** Sessions of the earlier revisions, each with the credential subject that opened it. */
  const sessions = new Map<
    string,
    { transport: FrontHttpTransport; relay: Relay; owner: string }
  >();
  /** The modern exchanges in flight (one relay each), closed with the proxy. */
  const exchanges = new Set<Relay>();
  let base = '';
  const metadataUrl = () => `${base}${RESOURCE_METADATA_PATH}`;

  const unauthorized = (res: ServerResponse, error?: string, description?: string) => {
    const params = [`resource_metadata="${metadataUrl()}"`];
    if (error) params.push(`error="${error}"`);
    if (description) params.push(`error_description="${description.replace(/["\\]/g, "'")}"`);
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer ${params.join(', ')}`,
    });
    res.end(
      JSON.stringify({
        error: {
          code: error ?? 'unauthenticated',
          message: description ?? 'A Provenant credential is required (Authorization: Bearer).',
        },
      }),
    );
  };

  /** A refused Txn-Token (or one sent as the credential): 401 with the verifier's code. */
  const txnRefused = (res: ServerResponse, code: string, message: string) => {
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer resource_metadata="${metadataUrl()}", error="invalid_token", error_description="${code}"`,
    });
    res.end(JSON.stringify({ error: { code, message } }));
  };

  /**
   * The request's `Txn-Token` header verified: its value, null when there is none (or no
   * verifier: the header is then not read), undefined when refused (answered 401).
   */
  const txnTokenOf = async (
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<string | null | undefined> => {
    const verifier = o.txnTokens;
    const value = req.headers[TXN_TOKEN_HEADER];
    if (verifier === undefined || value === undefined) return null;
    if (typeof value !== 'string' || value.includes(',') || value.trim() === '') {
      txnRefused(res, 'malformed_token', 'The Txn-Token header holds exactly one token.');
      return undefined;
    }
    try {
      await verifier.verify(value.trim());
      return value.trim();
    } catch (e) {
      if (!(e instanceof CredentialError)) throw e;
      txnRefused(res, e.code, `Txn-Token: ${e.message}`);
      return undefined;
    }
  };

  const jsonRpcError = (res: ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
  };

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text === '' ? undefined : JSON.parse(text);
  };

  const newSession = async (owner: string): Promise<FrontHttpTransport> => {
    // The SDK's Streamable HTTP transports on both sides; the answers to intercepted requests
    // go from one to the other as the server's bytes (see transport/http-*.ts).
    const client = new FrontHttpTransport({
      rawMethods: gate.methods,
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, { transport: client, relay, owner }),
    });
    const server = new UpstreamHttpTransport(upstream, { rawMethods: gate.methods });
    // Ending the client's session ends the upstream one too (DELETE, as the spec describes).
    const closeUpstream = server.close.bind(server);
    server.close = async () => {
      await server.terminateSession().catch(() => {});
      await closeUpstream();
    };
    const relay = createRelay({
      client,
      server,
      interceptor: gate,
      onError: (side, e) => log(`mcp-proxy: ${side}: ${e.message}`),
    });
    await relay.start();
    void relay.closed.then(() => {
      if (client.sessionId !== undefined) sessions.delete(client.sessionId);
    });
    return client;
  };

  /** The request's credential checked (the session it opens); undefined: answered 401. */
  const authenticate = async (
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<AuthInfo | undefined> => {
    const bearer = bearerToken(req.headers.authorization);
    if (bearer === undefined) {
      unauthorized(res);
      return undefined;
    }
    const token = bearer;
    // Draft-ietf-oauth-transaction-tokens-10: a Txn-Token is never a bearer credential.
    if (isTxnToken(token)) {
      txnRefused(
        res,
        'txn_token_misplaced',
        'A Txn-Token is not a credential: send it in the Txn-Token header, not Authorization.',
      );
      return undefined;
    }
    // RFC 8707: never a credential bound to another resource (the MCP authorization spec's
    // audience validation), before the collector is asked anything about it.
    const notForUs = audienceRefusal(token, `${base}${MCP_PATH}`);
    if (notForUs !== undefined) {
      unauthorized(res, 'invalid_token', notForUs);
      return undefined;
    }
    const txnToken = await txnTokenOf(req, res);
    if (txnToken === undefined) return undefined;
    try {
      const session = await gate.authenticate(token);
      const c = session.context.credential;
      return {
        token,
        clientId: session.context.initiator.id,
        scopes: [...c.scope],
        expiresAt: c.exp,
        ...(txnToken !== null ? { extra: { [AUTH_TXN_TOKEN]: txnToken } } : {}),
      };
    } catch (e) {
      unauthorized(res, 'invalid_token', (e as Error).message);
      return undefined;
    }
  };

  const refuse = (res: ServerResponse, status: number, answer: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  };

  /**
   * A request of the 2026-07-28 revision: no session; its version and standard headers checked
   * first (before its credential), then it goes through a relay of its own to one upstream
   * exchange, the answer's stream being the request's (its closing, the cancellation).
   */
  const modern = async (req: IncomingMessage, res: ServerResponse, route: InboundModernRoute) => {
    if (route.messageKind === 'notification') {
      // This revision defines no client notifications over HTTP (closing a stream cancels).
      res.writeHead(202).end();
      return;
    }
    const request = route.message;
    const version = envelopeVersion(request);
    if (version === undefined || !MODERN_VERSIONS.includes(version)) {
      refuse(
        res,
        400,
        wireError(request.id, 'unsupported_protocol_version', 'Unsupported protocol version', {
          supported: MODERN_VERSIONS,
          requested: version ?? null,
        }),
      );
      return;
    }
    const mismatch = checkStandardHeaders(
      {
        protocolVersion: header(req, 'mcp-protocol-version'),
        method: header(req, 'mcp-method'),
        name: header(req, 'mcp-name'),
      },
      request,
    );
    if (mismatch) {
      refuse(res, 400, headerMismatch(request, mismatch));
      void recordMismatch(req, request, mismatch);
      return;
    }
    const auth = await authenticate(req, res);
    if (!auth) return;
    const client = new ModernExchangeTransport(req, res, request, auth);
    const server = new UpstreamHttpTransport(upstream, {
      rawMethods: gate.methods,
      // Mcp-Param-* headers are the server's to check: passed on as they came.
      transport: { requestInit: { headers: paramHeaders(req) } },
    });
    client.statusOf = (id) => server.statusOf(id);
    const relay = createRelay({
      client,
      server,
      interceptor: gate,
      onError: (side, e) => log(`mcp-proxy: ${side}: ${e.message}`),
    });
    exchanges.add(relay);
    try {
      await relay.start();
      await client.done;
    } finally {
      await relay.close();
      exchanges.delete(relay);
    }
  };

  /**
   * A header mismatch is refused before the credential is looked at; when the request carries
   * one the issuer accepts, the refusal is recorded for that initiator too.
   */
  const recordMismatch = async (
    req: IncomingMessage,
    request: JSONRPCRequest,
    mismatch: HeaderMismatch,
  ) => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) {
      log(`mcp-proxy: refused a request with no credential: header mismatch: ${mismatch.message}`);
      return;
    }
    try {
      await gate.refuseUnforwarded(token, request, {
        code: 'header_mismatch',
        message: `Header mismatch: ${mismatch.message}.`,
      });
    } catch (e) {
      log(`mcp-proxy: a header mismatch could not be recorded: ${(e as Error).message}`);
    }
  };

  /** A request of an earlier revision: the session its `initialize` opened, owner checked. */
  const legacy = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
    const auth = await authenticate(req, res);
    if (!auth) return;
    const sid = req.headers['mcp-session-id'];
    let transport: FrontHttpTransport | undefined;
    if (typeof sid === 'string') {
      const session = sessions.get(sid);
      if (!session) {
        jsonRpcError(res, 404, 'Session not found.');
        return;
      }
      // A session is its opener's: another subject's valid credential does not reach it.
      if (session.owner !== auth.clientId) {
        refuse(
          res,
          403,
          wireError(
            null,
            'session_not_owned',
            'This session was opened with another credential subject; start your own.',
          ),
        );
        return;
      }
      transport = session.transport;
    } else if (req.method === 'POST' && isInitialize(body)) {
      transport = await newSession(auth.clientId!);
    } else {
      jsonRpcError(res, 400, 'No valid session id; start with initialize.');
      return;
    }
    await transport.handleRequest(Object.assign(req, { auth }), res, body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // First, before the path, the credential or any byte of the body (DNS rebinding, CSRF).
    const refusal = hostRefusal(hosts, req.headers.host, req.headers.origin);
    if (refusal) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          wireError(
            null,
            refusal,
            refusal === 'host_not_allowed'
              ? 'The Host header is not a name this proxy answers to (see --allowed-hosts).'
              : 'The Origin header is not one that may call this proxy (see --allowed-origins).',
          ),
        ),
      );
      return;
    }
    const url = new URL(req.url ?? '/', base);
    if (
      url.pathname === RESOURCE_METADATA_PATH ||
      url.pathname === `${RESOURCE_METADATA_PATH}${MCP_PATH}`
    ) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          resource: `${base}${MCP_PATH}`,
          authorization_servers: [o.collectorUrl.replace(/\/+$/, '')],
          bearer_methods_supported: ['header'],
          resource_name: 'Provenant MCP attribution proxy',
        }),
      );
      return;
    }
    if (url.pathname !== MCP_PATH) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'Not found.' } }));
      return;
    }
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readBody(req);
      } catch {
        refuse(res, 400, {
          jsonrpc: '2.0',
          id: null,
          error: { code: -32700, message: 'Parse error' },
        });
        return;
      }
    }
    // The era, per request, as revision 2026-07-28 says: a modern `_meta` envelope is served
    // statelessly, anything else (initialize, a session's traffic) by the session it belongs to.
    const route = classifyInboundRequest({
      httpMethod: req.method ?? 'GET',
      ...optional('protocolVersionHeader', header(req, 'mcp-protocol-version')),
      ...optional('mcpMethodHeader', header(req, 'mcp-method')),
      ...optional('mcpNameHeader', header(req, 'mcp-name')),
      body,
    });
    if (route.kind === 'reject') {
      // Header and version mismatches first (a transport check); any other malformed request
      // only to a client with a credential.
      if (route.code !== -32020 && route.code !== -32022 && !(await authenticate(req, res))) return;
      const id = idOf(body);
      refuse(res, route.httpStatus, {
        jsonrpc: '2.0',
        id,
        error: {
          code: route.code,
          message: route.message,
          ...(route.data !== undefined ? { data: route.data } : {}),
        },
      });
      if (route.code === -32020 && isRequest(body)) {
        void recordMismatch(req, body, { header: 'MCP-Protocol-Version', message: route.message });
      }
      return;
    }
    if (route.kind === 'modern') await modern(req, res, route);
    else await legacy(req, res, body);
  };

  // No Nagle delay: an SSE answer is written in pieces (headers, then events).
  const http: HttpServer = createServer({ noDelay: true }, (req, res) => {
    handle(req, res).catch((e: Error) => {
      log(`mcp-proxy: http: ${e.message}`);
      if (!res.headersSent) jsonRpcError(res, 500, 'Internal error.');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = http.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  base = (o.publicUrl ?? `http://${host}:${addr.port}`).replace(/\/+$/, '');
  hosts = {
    hosts: [...listenerHosts(addr.address, addr.port, [base]), ...extraHosts],
    origins: extraOrigins,
    scheme: 'http',
  };

  return {
    url: `${base}${MCP_PATH}`,
    sessions: () => sessions.size,
    exchanges: () => exchanges.size,
    close: async () => {
      for (const s of [...sessions.values()]) await s.relay.close();
      sessions.clear();
      for (const relay of [...exchanges]) await relay.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await recorder.flush();
      if (owned) await recorder.close();
    },
  };
}

/** Where a request's verified Txn-Token travels to the gate: its `AuthInfo.extra`. */
const AUTH_TXN_TOKEN = 'txnToken';

/** Whether a bearer token is a Txn-Token (its `typ`); unverified, it only picks the refusal. */
function isTxnToken(token: string): boolean {
  try {
    return decodeProtectedHeader(token).typ === TXN_TOKEN_TYP;
  } catch {
    return false;
  }
}

/** Core's `config_invalid` as this package's `invalid_config`. */
function configured<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new InvalidConfigError((e as Error).message);
  }
}

function isInitialize(body: unknown): boolean {
  const msgs = Array.isArray(body) ? body : [body];
  return msgs.some(
    (m) =>
      typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize',
  );
}

/** One header's value (a repeated one joined, as Node does). */
function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

const optional = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

/** The `Mcp-Param-*` headers of a request, to pass on upstream unchanged. */
function paramHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('mcp-param-') && v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function headerMismatch(request: JSONRPCRequest, m: HeaderMismatch) {
  return wireError(request.id, 'header_mismatch', `Header mismatch: ${m.message}`, {
    header: m.header,
    ...(m.value !== undefined ? { value: m.value } : {}),
    ...(m.body !== undefined ? { body: m.body } : {}),
  });
}

function idOf(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function isRequest(body: unknown): body is JSONRPCRequest {
  const b = body as { method?: unknown; id?: unknown } | undefined;
  return typeof b?.method === 'string' && (typeof b.id === 'string' || typeof b.id === 'number');
}
