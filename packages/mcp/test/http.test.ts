import { createHash, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolResultSchema, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { TXN_TOKEN_TYP, TxnTokenVerifier } from '@provenant/identity';
import { createRecorder } from '@provenant/sdk';
import type { Recorder } from '@provenant/sdk';
import { InMemoryRecordExporter } from '@provenant/sdk/testing';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WIRE_ERROR, parseConfig, resultDigest, startHttpProxy } from '../src/index.js';
import type { RunningHttpProxy } from '../src/index.js';
import { PROXY, createFixtureServer, fixtureClient, memoryWorld } from './helpers.js';
import type { ProxyWorld } from './helpers.js';

/** Where the proxy's protected-resource metadata sends clients for credentials. */
const COLLECTOR = 'http://collector.invalid';

/** The fixture server over Streamable HTTP (stateful: one MCP server per session). */
async function upstreamServer(): Promise<{
  url: string;
  ended: string[];
  /** Every request header the server was sent, by name (lowercase). */
  headerNames: Set<string>;
  close(): Promise<void>;
}> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const ended: string[] = [];
  const headerNames = new Set<string>();
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      for (const name of Object.keys(req.headers)) headerNames.add(name);
      const sid = req.headers['mcp-session-id'];
      let t = typeof sid === 'string' ? transports.get(sid) : undefined;
      if (!t) {
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, transport),
          onsessionclosed: (id) => void ended.push(id),
        });
        await createFixtureServer().connect(transport);
        t = transport;
      }
      await t.handleRequest(req, res);
    })();
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    ended,
    headerNames,
    close: async () => {
      for (const t of transports.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}

/** A result with line breaks between its tokens (JSON whitespace), as a server may write it. */
const RAW_RESULT = '{"content": [{"type": "text",\n  "text": "line\\nbreak \u00e9"}]}';

/** What the raw upstream answers `tools/call` with: pretty JSON, or SSE data lines. */
function rawAnswer(id: number, sse: boolean): string {
  return sse
    ? `{"result":${RAW_RESULT},\n"jsonrpc":"2.0","id":${id}}`
    : `{\r\n  "jsonrpc": "2.0",\r\n  "id": ${id},\r\n  "result": ${RAW_RESULT}\r\n}\r\n`;
}

/**
 * A bare Streamable HTTP server (stateless, no SDK) answering `tools/call` with `rawAnswer`.
 * `dropEvery`: the `tools/call` that is the nth request on its keep-alive connection is not
 * answered, the connection closed instead (a server ending an idle connection as it is reused).
 */
async function rawUpstream(
  o: { dropEvery?: number } = {},
): Promise<{ url: string; dropped(): number; close(): Promise<void> }> {
  const served = new WeakMap<object, number>();
  let dropped = 0;
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const m = JSON.parse(Buffer.concat(chunks).toString()) as {
        id?: number;
        method: string;
        params?: { arguments?: { sse?: boolean }; _meta?: { progressToken?: string } };
      };
      if (m.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const nth = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, nth);
      if (m.method === 'tools/call' && o.dropEvery !== undefined && nth % o.dropEvery === 0) {
        dropped++;
        req.socket.destroy();
        return;
      }
      const json = (result: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
      };
      if (m.method === 'initialize') {
        json({
          protocolVersion: '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'raw', version: '1' },
        });
      } else if (m.method === 'tools/list') {
        json({ tools: [{ name: 'raw', inputSchema: { type: 'object' } }] });
      } else if (m.params?.arguments?.sse) {
        // Its lines as data lines, with and without the optional space, CRLF and LF.
        const data = rawAnswer(m.id, true)
          .split('\n')
          .map((l) => (l.startsWith('"jsonrpc"') ? `data:${l}\n` : `data: ${l}\r\n`))
          .join('');
        const token = m.params._meta?.progressToken;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        // Written in small pieces: a CRLF and the data lines split between writes.
        const progress = JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progressToken: token, progress: 1 },
        });
        const text =
          (token !== undefined ? `id: 1\r\nretry: 3000\r\ndata: ${progress}\r\n\r\n` : '') +
          `: a comment\n\nid: 2\nevent: message\n${data}\n`;
        for (let at = 0; at < text.length; at += 7) {
          res.write(text.slice(at, at + 7));
          await new Promise((ok) => setImmediate(ok));
        }
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(rawAnswer(m.id, false));
      }
    })();
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    dropped: () => dropped,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}

/** A raw client of the proxy: each answer's content type and its SSE events' data. */
function rawHttpClient(url: string, token: string) {
  let session: string | undefined;
  const post = async (message: unknown) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
      },
      body: JSON.stringify(message),
    });
    session ??= res.headers.get('mcp-session-id') ?? undefined;
    const text = await res.text();
    const events = text
      .split('\n\n')
      .map((block) =>
        block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
          .join('\n'),
      )
      .filter((d) => d !== '');
    return { contentType: res.headers.get('content-type'), events };
  };
  return {
    post,
    async initialize() {
      await post({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    },
  };
}

let who: ProxyWorld;
let recorder: Recorder;
let upstream: Awaited<ReturnType<typeof upstreamServer>>;
let proxy: RunningHttpProxy;

beforeAll(async () => {
  who = await memoryWorld();
  recorder = who.recorder();
  upstream = await upstreamServer();
  proxy = await startHttpProxy({
    collectorUrl: COLLECTOR,
    recorder,
    upstream: upstream.url,
    log: () => {},
    config: parseConfig({
      server: 'github-mcp',
      tools: {
        read_file: { action: 'github.get_file', resource: 'repo:{repo}' },
        delete_repo: { action: 'github.delete_repo', resource: 'repo:{repo}' },
        ask_model: { action: 'github.get_file', resource: 'repo:acme/model' },
        slow: { action: 'github.get_file', resource: 'repo:acme/slow' },
        fail: { action: 'github.get_file', resource: 'repo:acme/fail' },
        boom: { action: 'github.get_file', resource: 'repo:acme/boom' },
        raw: { action: 'github.get_file', resource: 'repo:acme/raw' },
      },
      resources: { action: 'github.get_file', resource: 'repo:acme/docs' },
      prompts: { action: 'github.get_file', resource: 'repo:acme/prompts' },
    }),
  });
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
  await recorder.close();
});

async function connect(token: string) {
  const client = fixtureClient();
  await client.connect(
    new StreamableHTTPClientTransport(new URL(proxy.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** A POST to the proxy with these headers, by node:http (which lets a test set Host). */
function postWith(headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      proxy.url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.once('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
  });
}

describe('Streamable HTTP mode: Host and Origin', () => {
  it('refuses a rebound name (Host: evil.example) with 403, before the credential', async () => {
    const port = new URL(proxy.url).port;
    for (const host of ['evil.example', `evil.example:${port}`]) {
      const res = await postWith({ host, authorization: 'Bearer not.a.credential' });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error).toMatchObject({
        code: WIRE_ERROR.host_not_allowed,
        data: { code: 'host_not_allowed' },
      });
    }
  });

  it('refuses a cross-site Origin with 403, and answers its own origin', async () => {
    const refused = await postWith({ origin: 'http://evil.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.data.code).toBe('origin_not_allowed');
    // Its own origin passes the check and meets the credential check next.
    const own = await postWith({ origin: new URL(proxy.url).origin });
    expect(own.status).toBe(401);
  });

  it('answers the names and origins it is configured with', async () => {
    const p = await startHttpProxy({
      collectorUrl: COLLECTOR,
      recorder,
      upstream: upstream.url,
      log: () => {},
      allowedHosts: ['mcp.acme.example'],
      allowedOrigins: ['https://app.acme.example'],
    });
    try {
      const res = await fetch(p.url, {
        method: 'POST',
        headers: { origin: 'https://app.acme.example', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(401);
      await expect(
        startHttpProxy({
          collectorUrl: COLLECTOR,
          recorder,
          upstream: upstream.url,
          allowedOrigins: ['x'],
        }),
      ).rejects.toMatchObject({ code: 'invalid_config' });
    } finally {
      await p.close();
    }
  });
});

describe('Streamable HTTP mode', () => {
  it('serves the protected-resource metadata', async () => {
    const base = new URL(proxy.url).origin;
    const res = await fetch(`${base}/.well-known/oauth-protected-resource`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      resource: proxy.url,
      authorization_servers: [COLLECTOR],
      bearer_methods_supported: ['header'],
      resource_name: 'Provenant MCP attribution proxy',
    });
  });

  it('refuses a request without a credential: 401 with WWW-Authenticate resource_metadata', async () => {
    const base = new URL(proxy.url).origin;
    const res = await fetch(proxy.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource"`,
    );
  });

  it('refuses a credential the issuer does not accept: 401 invalid_token', async () => {
    const res = await fetch(proxy.url, {
      method: 'POST',
      headers: {
        authorization: 'Bearer not.a.credential',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('attributes each call to the credential that made it, and decides it', async () => {
    const alice = await connect(who.alice);
    const bob = await connect(who.bob);
    await alice.listTools();
    await bob.listTools();
    const res = await alice.callTool({ name: 'delete_repo', arguments: { repo: 'acme/old' } });
    expect(res.content).toEqual([{ type: 'text', text: 'deleted acme/old' }]);
    await expect(
      bob.callTool({ name: 'delete_repo', arguments: { repo: 'acme/old' } }),
    ).rejects.toMatchObject({ code: WIRE_ERROR.policy_denied });
    expect(await recorder.drain(5_000)).toBe(true);
    const recs = who.toolCalls().filter((e) => e.action?.tool?.name === 'delete_repo');
    expect(recs.map((e) => [e.initiator?.id, e.outcome?.status, e.actor?.id])).toEqual([
      ['user:alice', 'pending', PROXY],
      ['user:alice', 'success', PROXY],
      ['user:bob', 'denied', PROXY],
    ]);
    await alice.close();
    await bob.close();
  });

  it('relays sampling requests and progress on the request stream', async () => {
    const alice = await connect(who.alice);
    const s = await alice.callTool({ name: 'ask_model', arguments: {} });
    expect(s.content).toEqual([{ type: 'text', text: 'model said: hi' }]);
    const progress: number[] = [];
    await alice.callTool({ name: 'slow', arguments: { ms: 50 } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    await alice.close();
  });

  it('relays tool errors, JSON-RPC errors, resources, prompts and a cancellation', async () => {
    const alice = await connect(who.alice);
    await alice.listTools();
    expect(await alice.callTool({ name: 'fail', arguments: {} })).toEqual({
      content: [{ type: 'text', text: 'the tool failed' }],
      isError: true,
    });
    await expect(alice.callTool({ name: 'boom', arguments: {} })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('boom: bad arguments'),
    });
    expect(await alice.readResource({ uri: 'file:///readme.md' })).toEqual({
      contents: [{ uri: 'file:///readme.md', mimeType: 'text/markdown', text: '# readme' }],
    });
    expect(await alice.getPrompt({ name: 'greet', arguments: { who: 'Ann' } })).toEqual({
      messages: [{ role: 'user', content: { type: 'text', text: 'Hello, Ann!' } }],
    });
    // Cancelled at its first progress notification.
    const abort = new AbortController();
    await expect(
      alice.callTool({ name: 'slow', arguments: { ms: 1000 } }, CallToolResultSchema, {
        signal: abort.signal,
        onprogress: () => abort.abort('enough'),
      }),
    ).rejects.toThrow(/enough/);
    expect(
      (await alice.callTool({ name: 'read_file', arguments: { repo: 'acme/x', path: 'a' } }))
        .content,
    ).toEqual([{ type: 'text', text: 'contents of acme/x/a' }]);
    expect(await recorder.drain(5_000)).toBe(true);
    const outcome = async (name: string) => {
      for (let i = 0; i < 50; i++) {
        const got = who
          .toolCalls()
          .filter((e) => e.action?.tool?.name === name && e.outcome?.status !== 'pending');
        if (got.length > 0) return got[got.length - 1]!.outcome;
        await new Promise((ok) => setTimeout(ok, 100));
      }
      throw new Error(`no record of ${name}`);
    };
    expect(await outcome('fail')).toMatchObject({ status: 'error', error: { code: 'tool_error' } });
    expect(await outcome('boom')).toMatchObject({
      status: 'error',
      error: { code: 'upstream_error' },
    });
    expect(await outcome('slow')).toMatchObject({
      status: 'error',
      error: { code: 'call_cancelled' },
    });
    await alice.close();
  });

  it('relays JSON and SSE answers as the server wrote them: line breaks, multi-line data, progress', async () => {
    const up = await rawUpstream();
    const px = await startHttpProxy({
      collectorUrl: COLLECTOR,
      recorder,
      upstream: up.url,
      log: () => {},
      config: parseConfig({
        server: 'raw',
        tools: { raw: { action: 'github.get_file', resource: 'repo:acme/raw' } },
      }),
    });
    try {
      const client = rawHttpClient(px.url, who.alice);
      await client.initialize();
      for (const sse of [false, true]) {
        const id = sse ? 502 : 501;
        const { events: got, contentType } = await client.post({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'raw', arguments: { sse }, _meta: { progressToken: 'p' } },
        });
        expect(contentType).toBe('text/event-stream');
        const sent = rawAnswer(id, sse);
        // JSON allows line breaks between tokens only: each is a `data:` line, which SSE joins
        // with a line feed again (a CRLF arrives as LF); the rest is byte for byte.
        expect(got[got.length - 1]).toBe(sent.trim().replace(/\r\n?/g, '\n'));
        if (sse) {
          expect(got.slice(0, -1).map((e) => JSON.parse(e) as unknown)).toEqual([
            {
              jsonrpc: '2.0',
              method: 'notifications/progress',
              params: { progressToken: 'p', progress: 1 },
            },
          ]);
        } else expect(got).toHaveLength(1);
        expect(await recorder.drain(5_000)).toBe(true);
        const rec = who
          .toolCalls()
          .find((e) => e.action?.tool?.call_id === String(id) && e.outcome?.status !== 'pending');
        const result = Buffer.from(RAW_RESULT);
        expect(rec?.outcome).toMatchObject({
          status: 'success',
          result_digest: resultDigest({
            bytes: result.length,
            sha256: createHash('sha256').update(result).digest('hex'),
          }),
        });
      }
      // The official client reads those answers, progress included.
      const alice = fixtureClient();
      await alice.connect(
        new StreamableHTTPClientTransport(new URL(px.url), {
          requestInit: { headers: { authorization: `Bearer ${who.alice}` } },
        }),
      );
      for (const sse of [false, true]) {
        const progress: number[] = [];
        const r = await alice.callTool({ name: 'raw', arguments: { sse } }, CallToolResultSchema, {
          onprogress: (p) => progress.push(p.progress),
        });
        expect(r).toEqual(JSON.parse(RAW_RESULT));
        expect(progress).toEqual(sse ? [1] : []);
      }
      await alice.close();
    } finally {
      await px.close();
      await up.close();
    }
  });

  it('sends a call once more on a new connection when the server closed the reused one unanswered', async () => {
    // Every second request on a connection is dropped: the proxy's keep-alive connection is
    // closed under the second call, which goes again on a new one and is answered once.
    const up = await rawUpstream({ dropEvery: 2 });
    const px = await startHttpProxy({
      collectorUrl: COLLECTOR,
      recorder,
      upstream: up.url,
      log: () => {},
      config: parseConfig({
        server: 'raw',
        tools: { raw: { action: 'github.get_file', resource: 'repo:acme/raw' } },
      }),
    });
    try {
      const client = rawHttpClient(px.url, who.alice);
      await client.initialize();
      for (const id of [601, 602, 603]) {
        const { events } = await client.post({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'raw', arguments: { sse: false } },
        });
        expect(events[events.length - 1]).toBe(rawAnswer(id, false).trim().replace(/\r\n?/g, '\n'));
      }
      expect(up.dropped()).toBeGreaterThan(0);
    } finally {
      await px.close();
      await up.close();
    }
  });

  it('ends the upstream session when the client ends its session', async () => {
    const client = fixtureClient();
    const transport = new StreamableHTTPClientTransport(new URL(proxy.url), {
      requestInit: { headers: { authorization: `Bearer ${who.alice}` } },
    });
    await client.connect(transport);
    const before = proxy.sessions();
    const endedBefore = upstream.ended.length;
    await transport.terminateSession();
    await client.close();
    await new Promise((ok) => setTimeout(ok, 50));
    expect(proxy.sessions()).toBe(before - 1);
    expect(upstream.ended.length).toBe(endedBefore + 1);
  });
});

describe('Streamable HTTP mode: the Txn-Token header', () => {
  const TD = 'acme.example';
  const TTS = 'https://tts.acme.example';
  let keys: JWK[] = [];
  let sign: (over?: Record<string, unknown>, typ?: string) => Promise<string>;
  let exporter: InMemoryRecordExporter;
  let txnRecorder: Recorder;
  let txnProxy: RunningHttpProxy;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    keys = [{ ...(await exportJWK(publicKey)), kid: 'tts-1' }];
    sign = (over = {}, typ = TXN_TOKEN_TYP) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: TTS,
        iat: now,
        aud: TD,
        exp: now + 60,
        txn: '97053963-771d-49cc-a4e3-20aad399c312',
        sub: 'user:alice',
        scope: 'repo:read',
        req_wl: 'spiffe://acme.example/gateway',
        tctx: { repo: 'acme/site' },
        ...over,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'tts-1', typ })
        .sign(privateKey);
    };
    exporter = new InMemoryRecordExporter();
    txnRecorder = createRecorder({
      identity: who.proxy,
      issuer: who.issuer,
      pdp: who.decisions,
      exporter,
    });
    txnProxy = await startHttpProxy({
      collectorUrl: COLLECTOR,
      recorder: txnRecorder,
      upstream: upstream.url,
      log: () => {},
      config: parseConfig({
        server: 'github-mcp',
        tools: { read_file: { action: 'github.get_file', resource: 'repo:{repo}' } },
      }),
      txnTokens: new TxnTokenVerifier({
        trustDomain: TD,
        services: [
          {
            iss: TTS,
            keys: (h, t) => createLocalJWKSet({ keys })(h, t),
            has: (kid) => keys.some((k) => k.kid === kid),
          },
        ],
      }),
    });
  });
  afterAll(async () => {
    await txnProxy.close();
    await txnRecorder.close();
  });

  const ping = (headers: Record<string, string>) =>
    fetch(txnProxy.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });

  it("sends a verified Txn-Token with the call's decision and records, never upstream", async () => {
    const txn = await sign();
    const client = fixtureClient();
    await client.connect(
      new StreamableHTTPClientTransport(new URL(txnProxy.url), {
        requestInit: { headers: { authorization: `Bearer ${who.alice}`, 'txn-token': txn } },
      }),
    );
    const asked = who.decisions.made.length;
    const res = await client.callTool({ name: 'read_file', arguments: { repo: 'acme/site' } });
    expect(res.isError).not.toBe(true);
    const calls = exporter.getExported().filter((e) => e.record.type === 'tool.called');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((e) => e.txnToken === txn)).toBe(true);
    expect(who.decisions.made.slice(asked).map((d) => d.request.txnToken)).toEqual([txn]);
    expect(upstream.headerNames.has('txn-token')).toBe(false);
    await client.close();
  });

  const attacks: [string, () => Promise<string>, string][] = [
    ['a typ other than txntoken+jwt', () => sign({}, 'JWT'), 'wrong_typ'],
    ['another trust domain', () => sign({ aud: 'other.example' }), 'wrong_audience'],
    ['an expired token', () => sign({ exp: Math.floor(Date.now() / 1000) - 120 }), 'expired'],
    ['an unconfigured TTS', () => sign({ iss: 'https://evil.example' }), 'wrong_issuer'],
    ['two tokens in one header', async () => `${await sign()}, ${await sign()}`, 'malformed_token'],
  ];
  for (const [name, make, code] of attacks) {
    it(`refuses ${name} with 401 ${code}, before the credential, forwarding nothing`, async () => {
      const before = exporter.getExported().length;
      const res = await ping({ authorization: `Bearer ${who.alice}`, 'txn-token': await make() });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain(`error_description="${code}"`);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(exporter.getExported().length).toBe(before);
    });
  }

  it('refuses a Txn-Token whose key was rotated out, though it verified before', async () => {
    const txn = await sign({ txn: 'rotated' });
    // Accepted (a ping outside a session then meets the session check: 400, not 401).
    expect((await ping({ authorization: `Bearer ${who.alice}`, 'txn-token': txn })).status).toBe(
      400,
    );
    const kept = keys;
    keys = [{ ...kept[0]!, kid: 'tts-2' }];
    try {
      const res = await ping({ authorization: `Bearer ${who.alice}`, 'txn-token': txn });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_kid');
    } finally {
      keys = kept;
    }
  });

  it('refuses a Txn-Token presented as the credential (txn_token_misplaced)', async () => {
    const res = await ping({ authorization: `Bearer ${await sign()}` });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'txn_token_misplaced',
    );
  });

  it('does not read the header when no verifier is configured', async () => {
    const res = await fetch(proxy.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${who.alice}`,
        'txn-token': 'not.a.token',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(400);
  });
});

describe('Streamable HTTP mode, upstream down', () => {
  it('answers the client with an upstream_closed error when the server cannot be reached', async () => {
    const down = await startHttpProxy({
      collectorUrl: COLLECTOR,
      recorder,
      upstream: 'http://127.0.0.1:9/mcp',
      log: () => {},
    });
    try {
      const client = fixtureClient();
      await expect(
        client.connect(
          new StreamableHTTPClientTransport(new URL(down.url), {
            requestInit: { headers: { authorization: `Bearer ${who.alice}` } },
          }),
        ),
      ).rejects.toThrow(/Could not reach the MCP server/);
    } finally {
      await down.close();
    }
  });
});
