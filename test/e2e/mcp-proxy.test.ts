import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { digestOf } from '@provenant/core';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { scenario, tempDir } from '../support/mcp.js';
import { PROXY, events, proxyWorld } from '../support/mcp.js';
import { CLI } from './process.js';

const FIXTURE = fileURLToPath(
  new URL('../../packages/mcp/test/fixtures/stdio-server.js', import.meta.url),
);

let tmp: ReturnType<typeof tempDir>;
let c: RunningCollector;
let who: Awaited<ReturnType<typeof scenario>>;
let identityFile: string;
let configFile: string;

beforeAll(async () => {
  ({ tmp, c, who, identityFile } = await proxyWorld('e2e'));
  configFile = join(tmp.dir, 'mcp-proxy.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      server: 'github-mcp',
      tools: {
        read_file: { action: 'github.get_file', resource: 'repo:{repo}' },
        delete_repo: { action: 'github.delete_repo', resource: 'repo:{repo}' },
        fail: { action: 'github.search_code', resource: 'repo:acme/payments' },
        crash: { action: 'github.get_file', resource: 'repo:acme/crash' },
      },
    }),
  );
});

afterAll(async () => {
  await c.close();
  tmp.remove();
});

function proxyArgs(serverArgs: string[] = []): string[] {
  return [
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
    ...serverArgs,
  ];
}

async function connect(
  args: string[],
  token: string,
): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env: { ...(process.env as Record<string, string>), PROVENANT_INITIATOR_TOKEN: token },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err };
}

async function records(initiator: string, tool: string) {
  // The proxy flushes as it goes; give the collector a moment.
  for (let i = 0; i < 50; i++) {
    const got = (await events(c.url, { initiator, type: 'tool.called' })).filter(
      (e) => e.action.tool?.name === tool,
    );
    if (got.some((e) => e.outcome.status !== 'pending')) return got;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`no final record for ${tool}`);
}

describe('provenant mcp-proxy (stdio, real processes)', () => {
  it('relays an allowed call byte-identically, refuses a denied one, and records both', async () => {
    const direct = new Client({ name: 'e2e', version: '1.0.0' });
    await direct.connect(new StdioClientTransport({ command: process.execPath, args: [FIXTURE] }));
    const { client } = await connect(proxyArgs(), who.alice);
    try {
      expect(await client.listTools()).toEqual(await direct.listTools());
      const call = { name: 'read_file', arguments: { repo: 'acme/payments', path: 'README.md' } };
      const via = await client.callTool(call);
      expect(JSON.stringify(via)).toBe(JSON.stringify(await direct.callTool(call)));
      const failed = await client.callTool({ name: 'fail', arguments: {} });
      expect(failed.isError).toBe(true);
      await expect(client.callTool({ name: 'ask_model', arguments: {} })).rejects.toThrow(
        /Denied by policy: github-mcp\.ask_model .*\(decision [0-9a-f-]{36}\)/,
      );

      const [read] = await records('user:alice', 'read_file');
      expect(read).toMatchObject({
        actor: { id: PROXY },
        attribution: { level: 'verified' },
        action: { name: 'github.get_file', resource: 'repo:acme/payments' },
        policy: { decision: 'allow' },
        // The digest of the result's bytes as the server sent them (its SDK: JSON.stringify).
        outcome: {
          status: 'success',
          result_digest: digestOf({
            bytes: Buffer.byteLength(JSON.stringify(via)),
            sha256: createHash('sha256').update(JSON.stringify(via)).digest('hex'),
          }),
        },
      });
      const denied = await records('user:alice', 'ask_model');
      expect(denied.at(-1)).toMatchObject({
        policy: { decision: 'deny' },
        outcome: { status: 'denied' },
      });
      expect((await records('user:alice', 'fail')).at(-1)!.outcome).toMatchObject({
        status: 'error',
        error: { code: 'tool_error' },
      });
    } finally {
      await client.close();
      await direct.close();
    }
  });

  it('reports the server process dying as an error and records an error outcome', async () => {
    const { client, stderr } = await connect(proxyArgs(), who.bob);
    const closed = new Promise<void>((ok) => (client.onclose = ok));
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(
      /MCP server is gone: the process exited with code 3/,
    );
    await closed;
    const final = (await records('user:bob', 'crash')).at(-1)!;
    expect(final.outcome).toMatchObject({
      status: 'error',
      error: { code: 'UpstreamClosedError' },
    });
    expect(stderr()).toContain('the MCP server stopped: the process exited with code 3');
  });

  it('answers malformed JSON-RPC from either side with an error and keeps running', async () => {
    const child = spawn(process.execPath, proxyArgs(['--garbage']), {
      env: { ...process.env, PROVENANT_INITIATOR_TOKEN: who.alice },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const lines = async (n: number) => {
      for (let i = 0; i < 100 && out.split('\n').filter(Boolean).length < n; i++) {
        await new Promise((ok) => setTimeout(ok, 50));
      }
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    child.stdin.write('{not json\n');
    child.stdin.write('{"jsonrpc":"2.0","id":7,"method":12}\n');
    child.stdin.write(
      `${JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      })}\n`,
    );
    const got = await lines(3);
    expect(got[0]).toMatchObject({ id: null, error: { code: -32700 } });
    expect(got[1]).toMatchObject({ id: 7, error: { code: -32600 } });
    expect(got[2]).toMatchObject({
      id: 1,
      result: { protocolVersion: '2025-06-18', serverInfo: { name: 'fixture' } },
    });
    // The server's garbage line was answered to the server and logged, never sent to us.
    expect(err).toContain('malformed message from the server');
    child.stdin.end();
    const code = await new Promise<number | null>((ok) => child.on('exit', ok));
    expect(code).toBe(0);
  });
});

describe('provenant mcp-proxy (Streamable HTTP, real process)', () => {
  it('listens, serves the resource metadata and refuses a request without a credential', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'mcp-proxy',
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        'http://127.0.0.1:9/mcp',
        '--identity',
        identityFile,
        '--collector',
        c.url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((ok, fail) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (\S+)/.exec(out);
          if (m) ok(m[1]!);
        });
        child.on('exit', (code) => fail(new Error(`exited ${code}`)));
      });
      const base = new URL(url).origin;
      const meta = (await (await fetch(`${base}/.well-known/oauth-protected-resource`)).json()) as {
        resource: string;
      };
      expect(meta.resource).toBe(url);
      const res = await fetch(url, { method: 'POST', body: '{}' });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain(
        `resource_metadata="${base}/.well-known/oauth-protected-resource"`,
      );
    } finally {
      child.kill('SIGTERM');
      expect(await new Promise((ok) => child.on('exit', ok))).toBe(0);
    }
  });
});

describe('provenant mcp-proxy (stdio), lifecycle', () => {
  it('reports a server command that cannot start and exits', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'mcp-proxy',
        '--identity',
        identityFile,
        '--collector',
        c.url,
        '--',
        join(tmp.dir, 'no-such-server'),
      ],
      { env: { ...process.env, PROVENANT_INITIATOR_TOKEN: who.alice } },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((ok) => child.on('exit', ok));
    expect(code).toBe(0);
    expect(err).toMatch(
      /the MCP server stopped: could not start .*no-such-server: spawn .* ENOENT/,
    );
  });

  it('stops the server and flushes its records on SIGTERM', async () => {
    const { client, stderr } = await connect(proxyArgs(), who.alice);
    const pid = (client.transport as StdioClientTransport).pid!;
    await client.listTools();
    await client.callTool({ name: 'read_file', arguments: { repo: 'acme/sigterm', path: 'x' } });
    const closed = new Promise<void>((ok) => (client.onclose = ok));
    process.kill(pid, 'SIGTERM');
    await closed;
    expect(stderr()).toMatch(/the MCP server stopped: the process (exited|was killed)/);
    const recs = (await records('user:alice', 'read_file')).filter(
      (e) => e.action.resource === 'repo:acme/sigterm',
    );
    expect(recs.map((e) => e.outcome.status)).toEqual(['success']);
  });
});
