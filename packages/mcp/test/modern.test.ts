/**
 * Streamable HTTP in both eras from one proxy: revision 2026-07-28 per request (the official v2
 * SDK's client and server, pinned to it) and the earlier revisions by session (the 1.x SDK's
 * client), against one v2 server process that serves both.
 */
import { executionAsyncResource } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Transport1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { EventRecord } from '@provenant/core';
import type { Pdp, Recorder } from '@provenant/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WIRE_ERROR, parseConfig, startHttpProxy } from '../src/index.js';
import type { RunningHttpProxy } from '../src/index.js';
import { memoryWorld } from './helpers.js';
import type { ProxyWorld } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/modern-server.js', import.meta.url));
const COLLECTOR = 'http://collector.invalid';
const MODERN = '2026-07-28';
const CONFIG = parseConfig({
  server: 'github-mcp',
  tools: {
    read_file: { action: 'github.get_file', resource: 'repo:{repo}' },
    delete_repo: { action: 'github.delete_repo', resource: 'repo:{repo}' },
    fail: { action: 'github.search_code', resource: 'repo:acme/payments' },
    slow: { action: 'github.get_file', resource: 'repo:acme/slow' },
    started: { action: 'github.get_file', resource: 'repo:acme/slow' },
    confirm: { action: 'github.get_file', resource: 'repo:acme/confirm' },
    echo_meta: { action: 'github.get_file', resource: 'repo:acme/meta' },
  },
});

let who: ProxyWorld;
let recorder: Recorder;
let server: ChildProcess;
let upstream: string;
let proxy: RunningHttpProxy;

/** The decision point, held while `hold` is set (to cancel a call before it is decided). */
let hold: Promise<void> | undefined;
let asked: (() => void) | undefined;

beforeAll(async () => {
  who = await memoryWorld();
  const pdp: Pdp = {
    decide: async (request) => {
      asked?.();
      if (hold) await hold;
      return who.decisions.decide(request);
    },
  };
  recorder = who.recorder({ pdp });
  server = spawn(process.execPath, [FIXTURE, 'http'], { stdio: ['ignore', 'pipe', 'inherit'] });
  upstream = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`the fixture server exited (${code})`)));
  });
  proxy = await startHttpProxy({
    collectorUrl: COLLECTOR,
    recorder,
    upstream,
    config: CONFIG,
    log: () => {},
  });
});

afterAll(async () => {
  await proxy?.close();
  await recorder?.close();
  server?.kill();
});

/** A v2 SDK client pinned to revision 2026-07-28, with this credential. */
async function modernClient(url: string, token?: string): Promise<Client> {
  const client = new Client(
    { name: 'modern-test', version: '3.1.4' },
    { versionNegotiation: { mode: { pin: MODERN } }, capabilities: { elicitation: {} } },
  );
  client.setRequestHandler('elicitation/create', async () => ({
    action: 'accept',
    content: { ok: true },
  }));
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
  await client.connect(transport);
  return client;
}

/** The proxy's tool.called records of a tool, once the last one is final. */
async function recordsOf(tool: string, n = 1): Promise<EventRecord[]> {
  return vi.waitFor(
    async () => {
      await recorder.flush();
      const recs = who.toolCalls().filter((r) => r.action?.tool?.name === tool);
      const final = recs.filter((r) => r.outcome?.status !== 'pending');
      expect(final.length).toBeGreaterThanOrEqual(n);
      return recs;
    },
    { timeout: 10_000, interval: 20 },
  );
}

const envelope = (v = MODERN) => ({
  'io.modelcontextprotocol/protocolVersion': v,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw-test', version: '1' },
});

/** A raw modern POST: the body, with the standard headers (overridable). */
function post(
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  const params = body['params'] as { name?: string; uri?: string } | undefined;
  return fetch(proxy.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': String(body['method']),
      ...(params?.name !== undefined ? { 'mcp-name': params.name } : {}),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', ...body }),
    ...(signal ? { signal } : {}),
  });
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

describe('Streamable HTTP, revision 2026-07-28 (stateless) beside the earlier ones', () => {
  it('serves a v2 client in 2026-07-28 mode: the same results as direct, no session', async () => {
    const direct = await modernClient(upstream);
    const via = await modernClient(proxy.url, who.alice);
    try {
      expect(via.getProtocolEra()).toBe('modern');
      expect(await via.listTools()).toEqual(await direct.listTools());
      const call = { name: 'read_file', arguments: { repo: 'acme/payments', path: 'README' } };
      expect(await via.callTool(call)).toEqual(await direct.callTool(call));
      expect(await via.callTool({ name: 'fail', arguments: {} })).toEqual(
        await direct.callTool({ name: 'fail', arguments: {} }),
      );
      // An input_required round: the client answers and retries; the same answer as direct.
      const confirm = { name: 'confirm', arguments: { what: 'deploy' } };
      expect(await via.callTool(confirm)).toEqual(await direct.callTool(confirm));
      expect(proxy.sessions()).toBe(0);
    } finally {
      await via.close();
      await direct.close();
    }
    const [read] = await recordsOf('read_file');
    expect(read).toMatchObject({
      initiator: { id: 'user:alice' },
      action: {
        name: 'github.get_file',
        resource: 'repo:acme/payments',
        tool: {
          name: 'read_file',
          method: 'tools/call',
          protocol_version: MODERN,
          client: { name: 'modern-test', version: '3.1.4' },
        },
      },
      outcome: { status: 'success' },
    });
    const [failed] = (await recordsOf('fail')).slice(-1);
    expect(failed!.outcome).toMatchObject({ status: 'error', error: { code: 'tool_error' } });
    // Both rounds of the input_required call, recorded in one trace.
    const rounds = (await recordsOf('confirm', 2)).filter((r) => r.outcome?.status !== 'pending');
    expect(rounds.length).toBe(2);
    expect(new Set(rounds.map((r) => r.trace?.trace_id)).size).toBe(1);
  });

  it('never passes the client credential upstream, and keeps the client traceparent', async () => {
    const traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const res = await post(
      {
        id: 7,
        method: 'tools/call',
        params: { name: 'echo_meta', arguments: {}, _meta: { ...envelope(), traceparent } },
      },
      { authorization: `Bearer ${who.alice}` },
    );
    expect(res.status).toBe(200);
    const answer = (await answerOf(res)) as { result: unknown };
    const seen = JSON.parse(text(answer.result)) as {
      meta: { traceparent?: string };
      authorization: string | null;
    };
    expect(seen.authorization).toBeNull();
    expect(seen.meta.traceparent).toBe(traceparent);
    const recs = await recordsOf('echo_meta');
    expect(recs.some((r) => r.trace?.trace_id === 'a'.repeat(32))).toBe(true);
  });

  it('keeps the rounds of an input_required call in one trace, whatever the retry carries', async () => {
    const traceOf = (t: string) => `00-${t.repeat(32)}-${'1'.repeat(16)}-01`;
    const auth = { authorization: `Bearer ${who.alice}` };
    const elicits = { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };
    const first = await post(
      {
        id: 'r1',
        method: 'tools/call',
        params: {
          name: 'confirm',
          arguments: { what: 'rounds' },
          _meta: { ...envelope(), ...elicits, traceparent: traceOf('e') },
        },
      },
      auth,
    );
    const round = (await answerOf(first)) as {
      result: { resultType: string; requestState: string };
    };
    expect(round.result.resultType).toBe('input_required');
    // The retry: a new id, the echoed state, and a traceparent of another trace.
    const retry = await post(
      {
        id: 'r2',
        method: 'tools/call',
        params: {
          name: 'confirm',
          arguments: { what: 'rounds' },
          inputResponses: { ok: { action: 'accept', content: { ok: true } } },
          requestState: round.result.requestState,
          _meta: { ...envelope(), ...elicits, traceparent: traceOf('f') },
        },
      },
      auth,
    );
    expect(text(((await answerOf(retry)) as { result: unknown }).result)).toContain('rounds');
    const rounds = await vi.waitFor(
      async () => {
        await recorder.flush();
        const r = who
          .toolCalls()
          .filter((e) => ['r1', 'r2'].includes(e.action?.tool?.call_id ?? ''))
          .filter((e) => e.outcome?.status !== 'pending');
        expect(r.length).toBe(2);
        return r;
      },
      { timeout: 10_000 },
    );
    expect(rounds.map((r) => r.trace?.trace_id)).toEqual(['e'.repeat(32), 'e'.repeat(32)]);
  });

  it('leaves no async context store behind per request (each would slow every later promise)', async () => {
    // On Node 20 and 22 every AsyncLocalStorage that has run stamps each new async resource of
    // the process, for good: a store made per request made each call slower than the last.
    const stamps = () =>
      new Promise<number>((resolve) =>
        setImmediate(() => resolve(Object.getOwnPropertySymbols(executionAsyncResource()).length)),
      );
    const client = await modernClient(proxy.url, who.alice);
    try {
      const call = { name: 'read_file', arguments: { repo: 'acme/payments', path: 'README' } };
      await client.callTool(call);
      const before = await stamps();
      for (let i = 0; i < 20; i++) await client.callTool(call);
      expect((await stamps()) - before).toBeLessThan(5);
    } finally {
      await client.close();
    }
  });

  it('serves a 1.x SDK client (2025-11-25, a session) from the same proxy at the same time', async () => {
    const client = new Client1({ name: 'legacy-test', version: '1.0.0' });
    await client.connect(
      new Transport1(new URL(proxy.url), {
        requestInit: { headers: { authorization: `Bearer ${who.bob}` } },
      }),
    );
    const modern = await modernClient(proxy.url, who.alice);
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'modern-fixture' });
      expect(proxy.sessions()).toBe(1);
      const call = { name: 'read_file', arguments: { repo: 'acme/docs', path: 'a' } };
      const [legacy, current] = await Promise.all([client.callTool(call), modern.callTool(call)]);
      expect((legacy as { content: unknown }).content).toEqual(current.content);
      expect(proxy.sessions()).toBe(1);
    } finally {
      await modern.close();
      await client.close();
    }
    const recs = await recordsOf('read_file');
    // The session's revision and clientInfo, from its initialize.
    expect(recs.find((r) => r.initiator?.id === 'user:bob')?.action?.tool).toMatchObject({
      method: 'tools/call',
      protocol_version: '2025-11-25',
      client: { name: 'legacy-test', version: '1.0.0' },
    });
  });

  it("refuses a second user's valid credential on the first user's session (403)", async () => {
    const transport = new Transport1(new URL(proxy.url), {
      requestInit: { headers: { authorization: `Bearer ${who.alice}` } },
    });
    const client = new Client1({ name: 'legacy-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const sid = transport.sessionId!;
      const res = await fetch(proxy.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sid,
          'mcp-protocol-version': '2025-11-25',
          authorization: `Bearer ${who.bob}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'delete_repo', arguments: { repo: 'acme/payments' } },
        }),
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        error: { code: WIRE_ERROR.session_not_owned, data: { code: 'session_not_owned' } },
      });
      // Its owner still uses it.
      const ok = await client.callTool({ name: 'read_file', arguments: { repo: 'a', path: 'b' } });
      expect(text(ok)).toBe('a/b: hello');
    } finally {
      await client.close();
    }
    const deletes = who.toolCalls().filter((r) => r.action?.tool?.name === 'delete_repo');
    expect(deletes).toEqual([]);
  });

  it('refuses a header mismatch with -32020 before the credential, and records it', async () => {
    const body = {
      id: 'mm',
      method: 'tools/call',
      params: { name: 'delete_repo', arguments: { repo: 'acme/payments' }, _meta: envelope() },
    };
    // No credential at all: the mismatch is answered first.
    const anonymous = await post(body, { 'mcp-name': 'read_file' });
    expect(anonymous.status).toBe(400);
    expect(await anonymous.json()).toMatchObject({
      id: 'mm',
      error: { code: -32020, data: { code: 'header_mismatch', header: 'Mcp-Name' } },
    });
    const missing = await post(body, { 'mcp-method': '' });
    expect(missing.status).toBe(400);
    // With alice's credential: refused the same way, and recorded as hers.
    const res = await post(body, {
      'mcp-name': 'read_file',
      authorization: `Bearer ${who.alice}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: -32020 } });
    const [refused] = await recordsOf('delete_repo');
    expect(refused).toMatchObject({
      initiator: { id: 'user:alice' },
      action: { name: 'github.delete_repo' },
      outcome: { status: 'denied', error: { code: 'header_mismatch' } },
    });
    expect(refused!.policy).toBeUndefined();
  });

  it('refuses an unknown revision with -32022, naming the ones it serves', async () => {
    const res = await post(
      { id: 9, method: 'tools/list', params: { _meta: envelope('2099-01-01') } },
      { 'mcp-protocol-version': '2099-01-01' },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      id: 9,
      error: {
        code: -32022,
        data: {
          requested: '2099-01-01',
          supported: [MODERN],
        },
      },
    });
    // server/discover through the proxy lists only revisions the proxy serves.
    const discover = await post(
      { id: 10, method: 'server/discover', params: { _meta: envelope() } },
      { authorization: `Bearer ${who.alice}` },
    );
    const found = (await answerOf(discover)) as { result: { supportedVersions: string[] } };
    expect(found.result.supportedVersions).toContain(MODERN);
  });

  it('never forwards a call whose stream closed before its decision; records it cancelled', async () => {
    let release!: () => void;
    hold = new Promise<void>((resolve) => (release = resolve));
    const decided = new Promise<void>((resolve) => (asked = resolve));
    const ac = new AbortController();
    const call = post(
      {
        id: 'c1',
        method: 'tools/call',
        params: { name: 'slow', arguments: { ms: 50, tag: 'early' }, _meta: envelope() },
      },
      { authorization: `Bearer ${who.alice}` },
      ac.signal,
    );
    // Nothing is written before the answer: the response itself is what the abort ends.
    const reading = call.then((r) => r.text()).catch(() => 'aborted');
    await decided;
    expect(proxy.exchanges()).toBe(1);
    ac.abort();
    expect(await reading).toBe('aborted');
    // The proxy has taken the closed stream as the cancellation once the exchange is over.
    await vi.waitFor(() => expect(proxy.exchanges()).toBe(0), { timeout: 10_000 });
    asked = undefined;
    hold = undefined;
    release();
    const recs = await vi.waitFor(
      async () => {
        await recorder.flush();
        const r = who
          .toolCalls()
          .filter((e) => e.action?.tool?.name === 'slow' && e.outcome?.status === 'error');
        expect(r.length).toBeGreaterThan(0);
        return r;
      },
      { timeout: 10_000 },
    );
    expect(recs.at(-1)!.outcome).toMatchObject({
      error: {
        code: 'call_cancelled',
        message: expect.stringContaining('before it was forwarded'),
      },
    });
    const counts = await startedCount('early');
    expect(counts).toEqual({ started: 0, aborted: 0 });
  });

  it('cancels a forwarded call upstream when the client closes its stream', async () => {
    const client = await modernClient(proxy.url, who.alice);
    try {
      const ac = new AbortController();
      const call = client.callTool(
        { name: 'slow', arguments: { ms: 20_000, tag: 'late' } },
        { signal: ac.signal, onprogress: () => ac.abort('stop') },
      );
      await expect(call).rejects.toThrow(/stop|abort/i);
      await vi.waitFor(
        async () => expect(await startedCount('late')).toEqual({ started: 1, aborted: 1 }),
        {
          timeout: 10_000,
          interval: 50,
        },
      );
    } finally {
      await client.close();
    }
    const recs = await vi.waitFor(
      async () => {
        await recorder.flush();
        const r = who
          .toolCalls()
          .filter(
            (e) =>
              e.action?.tool?.name === 'slow' &&
              e.outcome?.error?.code === 'call_cancelled' &&
              !e.outcome.error.message?.includes('before'),
          );
        expect(r.length).toBe(1);
        return r;
      },
      { timeout: 10_000 },
    );
    expect(recs[0]!.outcome?.status).toBe('error');
  });
});

/** The JSON-RPC answer of a response: its JSON body, or the last `event: message` of its SSE. */
async function answerOf(res: Response): Promise<unknown> {
  const body = await res.text();
  if (res.headers.get('content-type')?.startsWith('application/json')) return JSON.parse(body);
  const events = body
    .split('\n\n')
    .map((e) =>
      e
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n'),
    )
    .filter((d) => d !== '');
  return JSON.parse(events.at(-1)!);
}

/** How many slow calls with this tag the server started and saw cancelled (asked directly). */
async function startedCount(tag: string): Promise<{ started: number; aborted: number }> {
  const direct = await modernClient(upstream);
  try {
    return JSON.parse(text(await direct.callTool({ name: 'started', arguments: { tag } }))) as {
      started: number;
      aborted: number;
    };
  } finally {
    await direct.close();
  }
}
