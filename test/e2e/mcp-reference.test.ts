import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { scenario, tempDir } from '../support/mcp.js';
import { PROXY, events, proxyWorld } from '../support/mcp.js';
import { CLI } from './process.js';

// The official reference servers, run as their users run them: real stdio processes.
const require = createRequire(import.meta.url);
const EVERYTHING = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const FILESYSTEM = require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js');
const MEMORY = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');

let tmp: ReturnType<typeof tempDir>;
let c: RunningCollector;
let who: Awaited<ReturnType<typeof scenario>>;
let identityFile: string;
let files: string;

beforeAll(async () => {
  ({ tmp, c, who, identityFile } = await proxyWorld('reference'));
  files = join(tmp.dir, 'files');
  mkdirSync(files);
  writeFileSync(join(files, 'README.md'), '# payments\n\nThe payments service.\n');
}, 60_000);

afterAll(async () => {
  await c.close();
  tmp.remove();
});

function config(name: string, tools: Record<string, unknown>): string {
  const file = join(tmp.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ server: name, tools }));
  return file;
}

/** The server directly and through the proxy (`env`: each side's server environment). */
async function open(
  server: string[],
  configFile?: string,
  env: { direct?: Record<string, string>; proxied?: Record<string, string> } = {},
) {
  const direct = new Client({ name: 'direct', version: '1.0.0' });
  await direct.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: server,
      stderr: 'ignore',
      ...(env.direct ? { env: { ...(process.env as Record<string, string>), ...env.direct } } : {}),
    }),
  );
  const proxied = new Client({ name: 'proxied', version: '1.0.0' });
  await proxied.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [
        CLI,
        'mcp-proxy',
        '--identity',
        identityFile,
        '--collector',
        c.url,
        ...(configFile !== undefined ? ['--config', configFile] : []),
        '--',
        process.execPath,
        ...server,
      ],
      env: {
        ...(process.env as Record<string, string>),
        ...env.proxied,
        PROVENANT_INITIATOR_TOKEN: who.alice,
      },
      stderr: 'ignore',
    }),
  );
  return { direct, proxied, close: () => Promise.all([direct.close(), proxied.close()]) };
}

/** A final record of a tool's calls (the proxy records intent first for risky calls). */
async function finalRecord(tool: string, status?: string) {
  for (let i = 0; i < 80; i++) {
    const got = (await events(c.url, { initiator: 'user:alice', type: 'tool.called' })).filter(
      (e) =>
        e.action.tool?.name === tool &&
        e.outcome?.status !== 'pending' &&
        (status === undefined || e.outcome?.status === status),
    );
    if (got.length > 0) return got.at(-1)!;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`no final record for ${tool}`);
}

describe('mcp-proxy in front of the official reference servers', () => {
  it('server-everything without a config: a valid default action name, decided, and the refusal says why', async () => {
    const { proxied, close } = await open([EVERYTHING, 'stdio']);
    try {
      await proxied.listTools();
      // The server calls itself mcp-servers/everything; the example Cedar schema declares no
      // action of it, so the engine cannot evaluate it: denied, and the error says so.
      await expect(
        proxied.callTool({ name: 'echo', arguments: { message: 'hi' } }),
      ).rejects.toThrow(
        /Denied by policy: mcp-servers_everything\.echo on mcp:mcp-servers\/everything\/echo: the policy engine could not evaluate it \(engine_error.*\(decision [0-9a-f-]{36}\)/,
      );
      const rec = await finalRecord('echo', 'denied');
      expect(rec.action).toMatchObject({
        name: 'mcp-servers_everything.echo',
        resource: 'mcp:mcp-servers/everything/echo',
        tool: { server: 'mcp-servers/everything', name: 'echo' },
      });
      expect(rec.policy).toMatchObject({ decision: 'deny', reason: 'engine_error' });
    } finally {
      await close();
    }
  });

  it('server-everything: byte-identical results, a denial, a cancelled long call, all recorded', async () => {
    const cfg = config('everything', {
      echo: { action: 'github.get_file', resource: 'repo:acme/payments' },
      'trigger-long-running-operation': { action: 'github.get_file', resource: 'repo:acme/long' },
    });
    const { direct, proxied, close } = await open([EVERYTHING, 'stdio'], cfg);
    try {
      expect((await proxied.listTools()).tools.map((t) => t.name)).toEqual(
        (await direct.listTools()).tools.map((t) => t.name),
      );
      const call = { name: 'echo', arguments: { message: 'hello through the proxy' } };
      const via = await proxied.callTool(call);
      expect(JSON.stringify(via)).toBe(JSON.stringify(await direct.callTool(call)));

      // Not in the config: its action has no permit, so policy denies it.
      await expect(proxied.callTool({ name: 'get-env', arguments: {} })).rejects.toThrow(
        /Denied by policy: .*\(decision [0-9a-f-]{36}\)/,
      );

      const abort = new AbortController();
      setTimeout(() => abort.abort(), 500);
      await expect(
        proxied.callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 5 } },
          undefined,
          { signal: abort.signal },
        ),
      ).rejects.toThrow();

      const echo = await finalRecord('echo');
      expect(echo).toMatchObject({
        initiator: { id: 'user:alice' },
        actor: { id: PROXY },
        attribution: { level: 'verified' },
        delegation: [{ from: 'user:alice', to: PROXY }],
        policy: { decision: 'allow', decision_id: expect.stringMatching(/^[0-9a-f-]{36}$/) },
        outcome: { status: 'success' },
      });
      expect((await finalRecord('get-env')).outcome.status).toBe('denied');
      expect((await finalRecord('trigger-long-running-operation')).outcome).toMatchObject({
        status: 'error',
      });
    } finally {
      await close();
    }
  }, 60_000);

  it('server-filesystem: a byte-identical read and a tool error, recorded', async () => {
    const cfg = config('filesystem', {
      read_text_file: { action: 'github.get_file', resource: 'repo:acme/payments' },
    });
    const { direct, proxied, close } = await open([FILESYSTEM, files], cfg);
    try {
      const read = { name: 'read_text_file', arguments: { path: join(files, 'README.md') } };
      const via = await proxied.callTool(read);
      expect(JSON.stringify(via)).toBe(JSON.stringify(await direct.callTool(read)));
      expect(JSON.stringify(via)).toContain('The payments service.');
      const outside = await proxied.callTool({
        name: 'read_text_file',
        arguments: { path: '/etc/hostname' },
      });
      expect(outside.isError).toBe(true);
      expect(await finalRecord('read_text_file', 'success')).toMatchObject({
        outcome: { status: 'success' },
      });
      const last = await finalRecord('read_text_file', 'error');
      expect(last).toMatchObject({
        actor: { id: PROXY },
        outcome: { status: 'error', error: { code: 'tool_error' } },
      });
    } finally {
      await close();
    }
  }, 60_000);

  it('server-memory: the same graph as direct, a denied delete never reaches it, all recorded', async () => {
    const cfg = config('memory', {
      create_entities: { action: 'github.get_file', resource: 'repo:acme/memory' },
      read_graph: { action: 'github.get_file', resource: 'repo:acme/memory' },
    });
    // Each side its own memory file (server-memory keeps the graph in MEMORY_FILE_PATH).
    const { direct, proxied, close } = await open([MEMORY], cfg, {
      direct: { MEMORY_FILE_PATH: join(tmp.dir, 'memory-direct.jsonl') },
      proxied: { MEMORY_FILE_PATH: join(tmp.dir, 'memory-proxied.jsonl') },
    });
    try {
      expect((await proxied.listTools()).tools).toEqual((await direct.listTools()).tools);
      const create = {
        name: 'create_entities',
        arguments: {
          entities: [{ name: 'payments', entityType: 'service', observations: ['owned by alice'] }],
        },
      };
      expect(JSON.stringify(await proxied.callTool(create))).toBe(
        JSON.stringify(await direct.callTool(create)),
      );
      // Not in the config: its default action has no permit.
      await expect(
        proxied.callTool({ name: 'delete_entities', arguments: { entityNames: ['payments'] } }),
      ).rejects.toThrow(/Denied by policy: .*\(decision [0-9a-f-]{36}\)/);
      const read = { name: 'read_graph', arguments: {} };
      const graph = await proxied.callTool(read);
      expect(JSON.stringify(graph)).toBe(JSON.stringify(await direct.callTool(read)));
      expect(JSON.stringify(graph)).toContain('owned by alice');
    } finally {
      await close();
    }
    expect(await finalRecord('create_entities', 'success')).toMatchObject({
      initiator: { id: 'user:alice' },
      actor: { id: PROXY },
      attribution: { level: 'verified' },
      action: { name: 'github.get_file', tool: { name: 'create_entities' } },
    });
    expect((await finalRecord('delete_entities', 'denied')).policy).toMatchObject({
      decision: 'deny',
    });
  }, 60_000);
});
