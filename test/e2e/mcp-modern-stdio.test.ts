/**
 * Revision 2026-07-28 over stdio, every side a real process: the official v2 SDK client (pinned
 * to it, so every request carries its `_meta` envelope and nothing is initialized), `provenant
 * mcp-proxy` spawned by it, and a v2 SDK server spawned by the proxy; a real collector records.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { scenario, tempDir } from '../support/mcp.js';
import { PROXY, events, proxyWorld } from '../support/mcp.js';
import { CLI } from './process.js';

const FIXTURE = fileURLToPath(
  new URL('../../packages/mcp/test/fixtures/modern-server.js', import.meta.url),
);
const MODERN = '2026-07-28';

let tmp: ReturnType<typeof tempDir>;
let c: RunningCollector;
let who: Awaited<ReturnType<typeof scenario>>;
let identityFile: string;
let configFile: string;

beforeAll(async () => {
  ({ tmp, c, who, identityFile } = await proxyWorld('modern-stdio'));
  configFile = join(tmp.dir, 'mcp-proxy.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      server: 'github-mcp',
      tools: {
        read_file: { action: 'github.get_file', resource: 'repo:{repo}' },
        fail: { action: 'github.search_code', resource: 'repo:acme/payments' },
        slow: { action: 'github.get_file', resource: 'repo:acme/slow' },
        started: { action: 'github.get_file', resource: 'repo:acme/slow' },
        confirm: { action: 'github.get_file', resource: 'repo:acme/confirm' },
        echo_meta: { action: 'github.get_file', resource: 'repo:acme/meta' },
      },
    }),
  );
}, 60_000);

afterAll(async () => {
  await c?.close();
  tmp?.remove();
});

const proxyArgs = () => [
  CLI,
  'mcp-proxy',
  '--identity',
  identityFile,
  '--collector',
  c.url,
  '--config',
  configFile,
  '--',
  process.execPath,
  FIXTURE,
  'stdio',
];

/** A v2 SDK client pinned to 2026-07-28 (it answers elicitations), over a process's stdio. */
async function modernClient(args: string[], token?: string): Promise<Client> {
  const client = new Client(
    { name: 'modern-stdio-test', version: '2.7.1' },
    { versionNegotiation: { mode: { pin: MODERN } }, capabilities: { elicitation: {} } },
  );
  client.setRequestHandler('elicitation/create', async () => ({
    action: 'accept',
    content: { ok: true },
  }));
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args,
      ...(token !== undefined
        ? { env: { ...(process.env as Record<string, string>), PROVENANT_INITIATOR_TOKEN: token } }
        : {}),
      stderr: 'ignore',
    }),
  );
  return client;
}

/** The collector's final tool.called records of a tool for alice, once there are `n`. */
async function finalRecords(tool: string, n = 1, callId?: string) {
  return vi.waitFor(
    async () => {
      const got = (await events(c.url, { initiator: 'user:alice', type: 'tool.called' })).filter(
        (e) =>
          e.action.tool?.name === tool &&
          e.outcome.status !== 'pending' &&
          (callId === undefined || e.action.tool?.call_id === callId),
      );
      expect(got.length).toBeGreaterThanOrEqual(n);
      return got;
    },
    { timeout: 15_000, interval: 100 },
  );
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

describe('provenant mcp-proxy over stdio, revision 2026-07-28 (real processes)', () => {
  it('serves a pinned v2 client statelessly: results as direct, records with the envelope, one trace per input_required call', async () => {
    const direct = await modernClient([FIXTURE, 'stdio']);
    const via = await modernClient(proxyArgs(), who.alice);
    try {
      expect(via.getProtocolEra()).toBe('modern');
      expect(await via.listTools()).toEqual(await direct.listTools());
      const call = { name: 'read_file', arguments: { repo: 'acme/payments', path: 'README.md' } };
      expect(await via.callTool(call)).toEqual(await direct.callTool(call));
      const fail = { name: 'fail', arguments: {} };
      expect(await via.callTool(fail)).toEqual(await direct.callTool(fail));
      // An input_required round: the client answers the elicitation and retries.
      const confirm = { name: 'confirm', arguments: { what: 'deploy' } };
      expect(await via.callTool(confirm)).toEqual(await direct.callTool(confirm));
      // The client's traceparent reaches the server as it sent it.
      const traceparent = `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`;
      const seen = JSON.parse(
        text(await via.callTool({ name: 'echo_meta', arguments: {}, _meta: { traceparent } })),
      ) as { meta: Record<string, unknown> };
      expect(seen.meta['traceparent']).toBe(traceparent);
    } finally {
      await via.close();
      await direct.close();
    }

    const [read] = await finalRecords('read_file');
    expect(read).toMatchObject({
      initiator: { id: 'user:alice' },
      actor: { id: PROXY },
      attribution: { level: 'verified' },
      delegation: [{ from: 'user:alice', to: PROXY }],
      action: {
        name: 'github.get_file',
        resource: 'repo:acme/payments',
        tool: {
          name: 'read_file',
          method: 'tools/call',
          protocol_version: MODERN,
          client: { name: 'modern-stdio-test', version: '2.7.1' },
        },
      },
      policy: { decision: 'allow' },
      outcome: { status: 'success' },
    });
    expect((await finalRecords('fail')).at(-1)!.outcome).toMatchObject({
      status: 'error',
      error: { code: 'tool_error' },
    });
    const rounds = await finalRecords('confirm', 2);
    expect(rounds.length).toBe(2);
    expect(new Set(rounds.map((r) => r.trace?.trace_id)).size).toBe(1);
    const [meta] = await finalRecords('echo_meta');
    expect(meta!.trace?.trace_id).toBe('c'.repeat(32));
  }, 60_000);

  it('refuses a tool policy does not permit, and cancels a forwarded call upstream', async () => {
    const via = await modernClient(proxyArgs(), who.alice);
    try {
      // delete_repo is not in the config: its default action name has no permit.
      await expect(
        via.callTool({ name: 'delete_repo', arguments: { repo: 'acme/payments' } }),
      ).rejects.toThrow(/Denied by policy: github-mcp\.delete_repo .*\(decision [0-9a-f-]{36}\)/);
      const ac = new AbortController();
      await expect(
        via.callTool(
          { name: 'slow', arguments: { ms: 20_000, tag: 'late' } },
          { signal: ac.signal, onprogress: () => ac.abort('stop') },
        ),
      ).rejects.toThrow(/stop|abort/i);
      // The server (the proxy's child) saw the call start and its cancellation.
      await vi.waitFor(
        async () =>
          expect(
            JSON.parse(text(await via.callTool({ name: 'started', arguments: { tag: 'late' } }))),
          ).toEqual({ started: 1, aborted: 1 }),
        { timeout: 10_000, interval: 100 },
      );
    } finally {
      await via.close();
    }
    expect((await finalRecords('delete_repo')).at(-1)).toMatchObject({
      policy: { decision: 'deny' },
      outcome: { status: 'denied' },
    });
    const [slow] = await finalRecords('slow');
    expect(slow!.outcome).toMatchObject({ status: 'error', error: { code: 'call_cancelled' } });
  }, 60_000);

  it('never forwards a call cancelled before its decision, and never answers it', async () => {
    // A raw line client: the request and its cancellation in one write, so the cancellation
    // arrives while the proxy is still attributing and deciding the call.
    const child = spawn(process.execPath, proxyArgs(), {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, PROVENANT_INITIATOR_TOKEN: who.alice },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const answers = () =>
      out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { id?: unknown; result?: unknown; error?: unknown });
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'raw-stdio', version: '1' },
    };
    const line = (m: unknown) => `${JSON.stringify({ jsonrpc: '2.0', ...(m as object) })}\n`;
    try {
      child.stdin.write(
        line({
          id: 'early',
          method: 'tools/call',
          params: { name: 'slow', arguments: { ms: 10, tag: 'early' }, _meta: envelope },
        }) +
          line({
            method: 'notifications/cancelled',
            params: { requestId: 'early', reason: 'changed my mind', _meta: envelope },
          }),
      );
      const [record] = await finalRecords('slow', 1, 'early');
      expect(record!.outcome).toMatchObject({
        status: 'error',
        error: {
          code: 'call_cancelled',
          message: expect.stringContaining('before it was forwarded'),
        },
      });
      // The server never saw it; the proxy keeps serving.
      child.stdin.write(
        line({
          id: 'count',
          method: 'tools/call',
          params: { name: 'started', arguments: { tag: 'early' }, _meta: envelope },
        }),
      );
      const count = await vi.waitFor(
        () => {
          const a = answers().find((m) => m.id === 'count');
          expect(a).toBeDefined();
          return a!;
        },
        { timeout: 15_000, interval: 50 },
      );
      expect(JSON.parse(text(count.result))).toEqual({ started: 0, aborted: 0 });
      expect(answers().map((m) => m.id)).toEqual(['count']);
    } finally {
      child.kill();
    }
  }, 60_000);
});
