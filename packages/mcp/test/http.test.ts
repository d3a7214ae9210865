import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { createRecorder } from '@provenant/sdk';
import type { Recorder } from '@provenant/sdk';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WIRE_ERROR, parseConfig, startHttpProxy } from '../src/index.js';
import type { RunningHttpProxy } from '../src/index.js';
import {
  PROXY,
  collector,
  createFixtureServer,
  events,
  fixtureClient,
  scenario,
  tempDir,
} from './helpers.js';

/** The fixture server over Streamable HTTP (stateful: one MCP server per session). */
async function upstreamServer(): Promise<{
  url: string;
  ended: string[];
  close(): Promise<void>;
}> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const ended: string[] = [];
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
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
    close: async () => {
      for (const t of transports.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}

let tmp: ReturnType<typeof tempDir>;
let c: RunningCollector;
let who: Awaited<ReturnType<typeof scenario>>;
let recorder: Recorder;
let upstream: Awaited<ReturnType<typeof upstreamServer>>;
let proxy: RunningHttpProxy;

beforeAll(async () => {
  tmp = tempDir('http');
  c = await collector(tmp.dir);
  who = await scenario(c.url);
  recorder = createRecorder({
    collectorUrl: c.url,
    identity: who.proxy,
    spool: false,
    batch: { maxDelayMs: 5 },
  });
  upstream = await upstreamServer();
  proxy = await startHttpProxy({
    collectorUrl: c.url,
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
      },
    }),
  });
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
  await recorder.close();
  await c.close();
  tmp.remove();
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

describe('Streamable HTTP mode', () => {
  it('serves the protected-resource metadata', async () => {
    const base = new URL(proxy.url).origin;
    const res = await fetch(`${base}/.well-known/oauth-protected-resource`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      resource: proxy.url,
      authorization_servers: [c.url],
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
    const recs = (await events(c.url, { type: 'tool.called' })).filter(
      (e) => e.action.tool?.name === 'delete_repo',
    );
    expect(recs.map((e) => [e.initiator?.id, e.outcome.status, e.actor?.id])).toEqual([
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

describe('Streamable HTTP mode, upstream down', () => {
  it('answers the client with an upstream_closed error when the server cannot be reached', async () => {
    const down = await startHttpProxy({
      collectorUrl: c.url,
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
