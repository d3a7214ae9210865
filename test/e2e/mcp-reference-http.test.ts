/**
 * `provenant mcp-proxy --listen … --upstream …` in front of the official reference server
 * `@modelcontextprotocol/server-everything` over Streamable HTTP, every side a real process:
 * the reference server as its users run it (`streamableHttp`, a session per client), the proxy
 * as the CLI starts it, and the official 1.x SDK client (the revisions that server speaks).
 * (`server-memory` and `server-filesystem` speak stdio only: see mcp-reference.test.ts.)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { scenario, tempDir } from '../support/mcp.js';
import { PROXY, events, proxyWorld } from '../support/mcp.js';
import { CLI } from './process.js';

const require = createRequire(import.meta.url);
const EVERYTHING = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');

let tmp: ReturnType<typeof tempDir>;
let c: RunningCollector;
let who: Awaited<ReturnType<typeof scenario>>;
const children: ChildProcess[] = [];
let upstream: string;
let proxyUrl: string;

/** A child process that prints where it listens; resolves with what `pattern` captures. */
function started(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<string> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return new Promise<string>((resolve, reject) => {
    let seen = '';
    // Read to the end: server-everything logs every request on stdout.
    const look = (d: Buffer) => {
      if (seen.length < 64_000) seen += d.toString();
      const m = pattern.exec(seen);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}): ${seen}`)));
  });
}

/** A free loopback port (server-everything takes its port from PORT). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

beforeAll(async () => {
  let identityFile: string;
  ({ tmp, c, who, identityFile } = await proxyWorld('reference-http'));
  const configFile = join(tmp.dir, 'everything.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      server: 'everything',
      tools: {
        echo: { action: 'github.get_file', resource: 'repo:acme/payments' },
        'get-sum': { action: 'github.get_file', resource: 'repo:acme/payments' },
        'trigger-long-running-operation': { action: 'github.get_file', resource: 'repo:acme/long' },
      },
      resources: { action: 'github.get_file', resource: 'repo:acme/docs' },
      prompts: { action: 'github.get_file', resource: 'repo:acme/prompts' },
    }),
  );
  const port = await freePort();
  await started([EVERYTHING, 'streamableHttp'], { PORT: String(port) }, /listening on port (\d+)/);
  upstream = `http://127.0.0.1:${port}/mcp`;
  proxyUrl = await started(
    [
      CLI,
      'mcp-proxy',
      '--identity',
      identityFile,
      '--collector',
      c.url,
      '--config',
      configFile,
      '--listen',
      '127.0.0.1:0',
      '--upstream',
      upstream,
    ],
    {},
    /listening on (\S+)/,
  );
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill();
  await c?.close();
  tmp?.remove();
});

async function connect(url: string, token?: string) {
  const transport = new StreamableHTTPClientTransport(
    new URL(url),
    token !== undefined ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {},
  );
  const client = new Client({ name: 'reference-http', version: '1.2.3' });
  await client.connect(transport);
  return { client, transport };
}

/** The final tool.called records of alice's calls of `name`, once there is one. */
async function finalRecords(name: string, status?: string) {
  return vi.waitFor(
    async () => {
      const got = (await events(c.url, { initiator: 'user:alice', type: 'tool.called' })).filter(
        (e) =>
          e.action.tool?.name === name &&
          e.outcome.status !== 'pending' &&
          (status === undefined || e.outcome.status === status),
      );
      expect(got.length).toBeGreaterThan(0);
      return got;
    },
    { timeout: 15_000, interval: 100 },
  );
}

describe('mcp-proxy over Streamable HTTP in front of server-everything (real processes)', () => {
  it('answers tools, resources and prompts as the server does, and records them verified', async () => {
    const direct = await connect(upstream);
    const via = await connect(proxyUrl, who.alice);
    try {
      expect(via.client.getServerVersion()).toEqual(direct.client.getServerVersion());
      expect((await via.client.listTools()).tools.map((t) => t.name)).toEqual(
        (await direct.client.listTools()).tools.map((t) => t.name),
      );
      const echo = { name: 'echo', arguments: { message: 'hello through the proxy' } };
      expect(JSON.stringify(await via.client.callTool(echo))).toBe(
        JSON.stringify(await direct.client.callTool(echo)),
      );
      const sum = { name: 'get-sum', arguments: { a: 2, b: 40 } };
      const got = await via.client.callTool(sum);
      expect(got).toEqual(await direct.client.callTool(sum));
      expect(JSON.stringify(got)).toContain('42');

      const { resources } = await direct.client.listResources();
      expect((await via.client.listResources()).resources).toEqual(resources);
      const uri = resources[0]!.uri;
      expect(await via.client.readResource({ uri })).toEqual(
        await direct.client.readResource({ uri }),
      );
      const prompt = { name: 'simple-prompt' };
      expect(await via.client.getPrompt(prompt)).toEqual(await direct.client.getPrompt(prompt));
    } finally {
      await via.client.close();
      await direct.client.close();
    }

    const version = direct.transport.protocolVersion;
    const [rec] = await finalRecords('echo');
    expect(rec).toMatchObject({
      initiator: { id: 'user:alice' },
      actor: { id: PROXY },
      attribution: { level: 'verified' },
      delegation: [{ from: 'user:alice', to: PROXY }],
      action: {
        name: 'github.get_file',
        resource: 'repo:acme/payments',
        tool: {
          server: 'everything',
          name: 'echo',
          method: 'tools/call',
          ...(version !== undefined ? { protocol_version: version } : {}),
          client: { name: 'reference-http', version: '1.2.3' },
        },
      },
      policy: { decision: 'allow' },
      outcome: { status: 'success' },
    });
    const reads = (await events(c.url, { initiator: 'user:alice', type: 'tool.called' })).map(
      (e) => e.action.tool?.method,
    );
    expect(reads).toEqual(expect.arrayContaining(['resources/read', 'prompts/get']));
  }, 60_000);

  it('refuses what policy does not permit, and records a forwarded call the client cancelled as cancelled', async () => {
    const { client } = await connect(proxyUrl, who.alice);
    try {
      // get-env is not in the config: its default action has no permit.
      await expect(client.callTool({ name: 'get-env', arguments: {} })).rejects.toThrow(
        /Denied by policy: .*\(decision [0-9a-f-]{36}\)/,
      );
      const ac = new AbortController();
      await expect(
        client.callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
          undefined,
          { signal: ac.signal, onprogress: () => ac.abort('stop') },
        ),
      ).rejects.toThrow();
      // Recorded cancelled long before the server would have answered (30 s). The client sends
      // its notifications/cancelled without waiting: it stays open until the proxy has it.
      expect((await finalRecords('trigger-long-running-operation')).at(-1)!.outcome).toMatchObject({
        status: 'error',
        error: { code: 'call_cancelled' },
      });
    } finally {
      await client.close();
    }
    expect((await finalRecords('get-env', 'denied')).at(-1)).toMatchObject({
      policy: { decision: 'deny' },
      outcome: { status: 'denied' },
    });
  }, 60_000);

  it("keeps a session its opener's, and refuses a foreign Origin (403)", async () => {
    const { client, transport } = await connect(proxyUrl, who.alice);
    const call = (headers: Record<string, string>) =>
      fetch(proxyUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': transport.sessionId!,
          ...(transport.protocolVersion !== undefined
            ? { 'mcp-protocol-version': transport.protocolVersion }
            : {}),
          ...headers,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: 'not yours' } },
        }),
      });
    try {
      const foreign = await call({ authorization: `Bearer ${who.bob}` });
      expect(foreign.status).toBe(403);
      expect(await foreign.json()).toMatchObject({
        error: { data: { code: 'session_not_owned' } },
      });
      const evil = await call({
        authorization: `Bearer ${who.alice}`,
        origin: 'http://evil.example',
      });
      expect(evil.status).toBe(403);
      expect(await evil.json()).toMatchObject({ error: { data: { code: 'origin_not_allowed' } } });
      // Its owner still uses it.
      const ok = await client.callTool({ name: 'echo', arguments: { message: 'mine' } });
      expect(JSON.stringify(ok)).toContain('mine');
    } finally {
      await client.close();
    }
    const bobs = await events(c.url, { initiator: 'user:bob', type: 'tool.called' });
    expect(bobs.filter((e) => e.action.tool?.server === 'everything')).toEqual([]);
  }, 60_000);
});
