// `provenant mcp-proxy --authzen-pdp` (stdio, real processes): the proxy is a COAZ-MCP PEP at a
// collector's AuthZEN facade, then gates and records as usual. A deny is JSON-RPC -32001 and the
// server never sees the call.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startCollector } from '@provenant/server';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN } from '../support/collector.js';
import { events, scenario } from '../support/mcp.js';
import { CLI } from './process.js';

const POLICIES = fileURLToPath(new URL('./fixtures/coaz-policies/', import.meta.url));
const FIXTURE = fileURLToPath(
  new URL('../../packages/mcp/test/fixtures/stdio-server.js', import.meta.url),
);
const root = mkdtempSync(join(tmpdir(), 'provenant-coaz-stdio-'));
let c: RunningCollector;
let who: Awaited<ReturnType<typeof scenario>>;
let identityFile: string;
beforeAll(async () => {
  c = await startCollector({
    dataDir: join(root, 'data'),
    host: '127.0.0.1',
    port: 0,
    policiesDir: POLICIES,
    identity: { devLogin: true },
    adminToken: ADMIN,
  });
  who = await scenario(c.url);
  identityFile = join(root, 'proxy.key.json');
  writeFileSync(identityFile, JSON.stringify(who.proxy), { mode: 0o600 });
});
afterAll(async () => {
  await c.close();
  rmSync(root, { recursive: true, force: true });
});

describe('provenant mcp-proxy --authzen-pdp (stdio)', () => {
  it('forwards what the PDP permits, answers -32001 to what it denies, and records both', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        CLI,
        'mcp-proxy',
        '--identity',
        identityFile,
        '--collector',
        c.url,
        '--authzen-pdp',
        c.url,
        '--',
        process.execPath,
        FIXTURE,
      ],
      env: { ...(process.env as Record<string, string>), PROVENANT_INITIATOR_TOKEN: who.alice },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    try {
      const ok = await client.callTool({ name: 'read_file', arguments: { repo: 'acme/x' } });
      expect(ok.isError).not.toBe(true);
      await expect(client.callTool({ name: 'delete_repo', arguments: {} })).rejects.toMatchObject({
        code: -32001,
      });
    } finally {
      await client.close();
    }
    const decisions = await events(c.url, { type: 'policy.decision' });
    const facade = decisions.filter((d) => d.policy?.authzen?.subject === 'credential');
    expect(facade.map((d) => [d.action?.name, d.action?.resource, d.policy?.decision])).toEqual(
      expect.arrayContaining([
        ['initialize', 'mcp_server:provenant', 'allow'],
        ['tools/call', 'tool:read_file', 'allow'],
        ['tools/call', 'tool:delete_repo', 'deny'],
      ]),
    );
    // The gate recorded the permitted call only: the denied one never reached it or the server.
    for (let i = 0; i < 50; i++) {
      const calls = await events(c.url, { type: 'tool.called' });
      if (calls.some((e) => e.outcome?.status === 'success')) {
        expect(calls.map((e) => e.action?.tool?.name)).not.toContain('delete_repo');
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no tool.called record for read_file');
  });
});
