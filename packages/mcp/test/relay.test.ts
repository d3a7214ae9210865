import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  CallToolResultSchema,
  LATEST_PROTOCOL_VERSION,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RawResponse, WIRE_ERROR, createRelay } from '../src/index.js';
import type { Interceptor, RelayTransport } from '../src/index.js';
import { createFixtureServer, fixtureClient, rig } from './helpers.js';
import type { Rig } from './helpers.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

/** The same calls directly against the fixture server, for comparison. */
async function direct<T>(fn: (c: ReturnType<typeof fixtureClient>) => Promise<T>): Promise<T> {
  const [a, b] = InMemoryTransport.createLinkedPair();
  const server = createFixtureServer();
  await server.connect(b);
  const client = fixtureClient();
  await client.connect(a);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('relay (no interceptor)', () => {
  it('negotiates the latest protocol version and passes the server capabilities through', async () => {
    r = await rig();
    expect(r.client.getServerVersion()).toEqual({ name: 'fixture', version: '1.0.0' });
    expect(r.client.getServerCapabilities()).toEqual(
      await direct(async (c) => c.getServerCapabilities()),
    );
    // Newer SDKs expose the negotiated version; this one does not declare it.
    const client = r.client as { getNegotiatedProtocolVersion?: () => string };
    expect(client.getNegotiatedProtocolVersion?.() ?? LATEST_PROTOCOL_VERSION).toBe(
      LATEST_PROTOCOL_VERSION,
    );
  });

  it('relays lists, tool calls, resources and prompts byte-identically', async () => {
    r = await rig();
    const c = r.client;
    const through = [
      await c.listTools(),
      await c.callTool({ name: 'read_file', arguments: { repo: 'acme/payments', path: 'README' } }),
      await c.callTool({ name: 'fail', arguments: {} }),
      await c.listResources(),
      await c.readResource({ uri: 'file:///readme.md' }),
      await c.listPrompts(),
      await c.getPrompt({ name: 'greet', arguments: { who: 'alice' } }),
    ];
    const straight = await direct(async (d) => [
      await d.listTools(),
      await d.callTool({ name: 'read_file', arguments: { repo: 'acme/payments', path: 'README' } }),
      await d.callTool({ name: 'fail', arguments: {} }),
      await d.listResources(),
      await d.readResource({ uri: 'file:///readme.md' }),
      await d.listPrompts(),
      await d.getPrompt({ name: 'greet', arguments: { who: 'alice' } }),
    ]);
    expect(JSON.stringify(through)).toBe(JSON.stringify(straight));
  });

  it('relays JSON-RPC errors from the server unchanged', async () => {
    r = await rig();
    await expect(r.client.callTool({ name: 'boom', arguments: {} })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('boom: bad arguments'),
    });
  });

  it('relays server-to-client requests: sampling, roots and elicitation', async () => {
    r = await rig();
    const s = await r.client.callTool({ name: 'ask_model', arguments: {} });
    expect(s.content).toEqual([{ type: 'text', text: 'model said: hi' }]);
    const roots = await r.client.callTool({ name: 'list_roots', arguments: {} });
    expect(roots.content).toEqual([{ type: 'text', text: 'file:///work' }]);
    const e = await r.client.callTool({ name: 'elicit', arguments: {} });
    expect(e.content).toEqual([{ type: 'text', text: 'user: decline' }]);
  });

  it('relays client notifications to the server', async () => {
    r = await rig();
    await r.client.sendRootsListChanged();
    await r.client.sendRootsListChanged();
    const n = await r.client.callTool({ name: 'roots_changed', arguments: {} });
    expect(n.content).toEqual([{ type: 'text', text: '2' }]);
  });

  it('relays progress notifications and server notifications', async () => {
    r = await rig();
    const progress: number[] = [];
    const res = await r.client.callTool(
      { name: 'slow', arguments: { ms: 50 } },
      CallToolResultSchema,
      {
        onprogress: (p) => progress.push(p.progress),
      },
    );
    expect(res.content).toEqual([{ type: 'text', text: 'slept 50 ms' }]);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const logs: unknown[] = [];
    r.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params.data);
    });
    await r.server.sendLoggingMessage({ level: 'info', data: 'hello' });
    await new Promise((ok) => setTimeout(ok, 20));
    expect(logs).toEqual(['hello']);
  });

  it('relays cancellation: the server stops and the client gets its abort', async () => {
    r = await rig();
    const ac = new AbortController();
    const call = r.client.callTool(
      { name: 'slow', arguments: { ms: 5_000 } },
      CallToolResultSchema,
      {
        signal: ac.signal,
      },
    );
    setTimeout(() => ac.abort('user pressed stop'), 50);
    await expect(call).rejects.toThrow(/user pressed stop|abort/i);
    // The connection still works.
    const ok = await r.client.callTool({ name: 'read_file', arguments: { repo: 'a', path: 'b' } });
    expect(ok.isError).toBeUndefined();
  });

  it('answers malformed messages with JSON-RPC errors and keeps relaying', async () => {
    r = await rig(undefined, false);
    const got: JSONRPCMessage[] = [];
    r.rawClientSide.onmessage = (m) => got.push(m);
    await r.rawClientSide.start();
    const send = (m: unknown) => r!.rawClientSide.send(m as JSONRPCMessage);
    await send({ jsonrpc: '1.0', id: 1, method: 'ping' });
    await send({ jsonrpc: '2.0', id: 2, method: 42 });
    await send('not an object');
    await send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    await new Promise((ok) => setTimeout(ok, 20));
    expect(got).toEqual([
      {
        jsonrpc: '2.0',
        id: 1,
        error: expect.objectContaining({ code: WIRE_ERROR.invalid_request }),
      },
      {
        jsonrpc: '2.0',
        id: 2,
        error: expect.objectContaining({ code: WIRE_ERROR.invalid_request }),
      },
      {
        jsonrpc: '2.0',
        id: null,
        error: expect.objectContaining({ code: WIRE_ERROR.invalid_request }),
      },
      { jsonrpc: '2.0', id: 3, result: {} },
    ]);
  });

  it('answers in-flight requests with an error when the server goes away', async () => {
    r = await rig();
    const call = r.client.callTool({ name: 'crash', arguments: {} });
    await expect(call).rejects.toMatchObject({ code: WIRE_ERROR.upstream_closed });
    await r.relay.closed;
  });

  it('closes the server side when the client goes away', async () => {
    const [clientEnd, a] = InMemoryTransport.createLinkedPair();
    const [b, serverEnd] = InMemoryTransport.createLinkedPair();
    let serverClosed = false;
    serverEnd.onclose = () => (serverClosed = true);
    await serverEnd.start();
    const relay = createRelay({ client: a, server: b });
    await relay.start();
    await clientEnd.close();
    await relay.closed;
    expect(serverClosed).toBe(true);
  });
});

describe('relay, large results', () => {
  it('relays a 4 MB result intact', async () => {
    r = await rig();
    const res = await r.client.callTool({ name: 'big', arguments: { kb: 4096 } });
    expect((res.content as { text: string }[])[0]!.text.length).toBe(4096 * 1024);
  });
});

describe('relay transport capabilities', () => {
  /** A server side of no class of ours: it answers each request with bytes, as a raw answer. */
  function rawServer(): RelayTransport & { offered: boolean[] } {
    const t: RelayTransport & { offered: boolean[] } = {
      offered: [],
      async start() {},
      async close() {
        t.onclose?.();
      },
      async send(m) {
        if (!('method' in m) || !('id' in m)) return;
        const text = JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { content: [] } });
        const raw = new RawResponse(m.id, [Buffer.from(text)], text.length, undefined, undefined);
        t.offered.push(t.onrawresponse?.(raw) === true);
      },
    };
    return t;
  }
  const forwardAll: Interceptor = {
    methods: new Set(['tools/call']),
    handle: async (request, upstream) => {
      const answer = await upstream.forward(request);
      return answer.kind === 'raw' ? answer.response : null;
    },
  };

  it.each([
    ['sends the bytes through a client transport that offers sendRaw', true],
    ['sends the parsed message through one that does not', false],
  ])('takes raw answers from any transport with the hook and %s', async (_title, withSendRaw) => {
    const [clientEnd, proxyClientSide] = InMemoryTransport.createLinkedPair();
    const client = proxyClientSide as InMemoryTransport & RelayTransport;
    const sentRaw: RawResponse[] = [];
    if (withSendRaw) {
      client.sendRaw = (response) => {
        sentRaw.push(response);
        return proxyClientSide.send(response.message());
      };
    }
    const server = rawServer();
    const relay = createRelay({ client, server, interceptor: forwardAll });
    await relay.start();
    const got: JSONRPCMessage[] = [];
    clientEnd.onmessage = (m) => got.push(m);
    await clientEnd.start();
    await clientEnd.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'x' } });
    await expect.poll(() => got).toHaveLength(1);
    expect(got[0]).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [] } });
    expect(server.offered).toEqual([true]);
    expect(sentRaw.map((r) => r.id)).toEqual(withSendRaw ? [7] : []);
    await relay.close();
  });
});
