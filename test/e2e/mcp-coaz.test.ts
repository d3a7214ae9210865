// The MCP proxy as a COAZ-MCP PEP: the official SDK's client and server joined by the proxy's
// relay, every request mapped by the binding's default mapping and decided by a real collector's
// AuthZEN facade (Cedar, test/e2e/fixtures/coaz-policies). A deny is JSON-RPC -32001 and never
// reaches the server; the collector records each decision under the PEP's X-Request-ID.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { COAZ_ERROR, createCoazPep, createRelay, tokenValidator } from '@provenant/mcp';
import type { Relay } from '@provenant/mcp';
import { startCollector } from '@provenant/server';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, ADMIN_HEADERS, devLogin, register } from '../support/collector.js';

const POLICIES = fileURLToPath(new URL('./fixtures/coaz-policies/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'provenant-coaz-'));
let collector: RunningCollector;
let alice: string;
beforeAll(async () => {
  collector = await startCollector({
    dataDir: root,
    host: '127.0.0.1',
    port: 0,
    policiesDir: POLICIES,
    identity: { devLogin: true },
    adminToken: ADMIN,
  });
  await register(collector.url, { id: 'user:alice', kind: 'human' });
  alice = await devLogin(collector.url, 'alice', 'repo:read');
});
afterAll(async () => {
  await collector.close();
  rmSync(root, { recursive: true, force: true });
});

/** A real MCP server with two plain tools and one that declares a COAZ mapping. */
function mcpServer(called: string[]): Server {
  const server = new Server({ name: 'files', version: '1.0.0' }, { capabilities: { tools: {} } });
  const schema = { type: 'object' as const, properties: { path: { type: 'string' } } };
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: 'read_file', inputSchema: schema },
      { name: 'delete_repo', inputSchema: schema },
      {
        name: 'copy_object',
        inputSchema: {
          ...schema,
          'x-authzen-mapping': {
            evaluation: {
              subject: { type: 'identity', id: '$token.sub' },
              action: { name: 'copy' },
              resource: { type: 'storage_object', id: '$params.arguments.path' },
            },
          },
        },
      },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    called.push(req.params.name);
    return { content: [{ type: 'text', text: `did ${req.params.name}` }] };
  });
  return server;
}

async function rig(pdp: string) {
  const called: string[] = [];
  const decisions: { requestId: string; decision: boolean; action: string }[] = [];
  const validate = tokenValidator({
    jwks: `${collector.url}/.well-known/jwks.json`,
    issuer: collector.url,
    audience: 'provenant',
  });
  const pep = createCoazPep({
    pdp,
    credential: async () => ({ token: alice, claims: await validate(alice) }),
    onDecision: (d) =>
      decisions.push({
        requestId: d.requestId,
        decision: d.decision.decision,
        action: `${d.request.action.name} ${d.request.resource.type}:${d.request.resource.id}`,
      }),
  });
  const [clientEnd, front] = InMemoryTransport.createLinkedPair();
  const [back, serverEnd] = InMemoryTransport.createLinkedPair();
  await mcpServer(called).connect(serverEnd);
  const relay: Relay = createRelay({ client: front, server: back, interceptor: pep });
  await relay.start();
  return { clientEnd, relay, called, decisions };
}

async function recordOf(requestId: string) {
  const res = await fetch(`${collector.url}/v1/events?type=policy.decision&limit=200`, {
    headers: ADMIN_HEADERS,
  });
  const { events } = (await res.json()) as {
    events: {
      action: { name: string; resource: string };
      policy: { authzen?: { request_id?: string } };
    }[];
  };
  return events.find((e) => e.policy.authzen?.request_id === requestId);
}

describe('the MCP proxy as a COAZ-MCP PEP', () => {
  it('forwards what the PDP permits and answers a deny with -32001, recorded at the PDP', async () => {
    const r = await rig(collector.url);
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(r.clientEnd); // initialize: decided (mcp_server:provenant) and permitted
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('read_file');
    const ok = await client.callTool({ name: 'read_file', arguments: { path: 'README.md' } });
    expect(ok.content).toEqual([{ type: 'text', text: 'did read_file' }]);

    const denied = await client.callTool({ name: 'delete_repo', arguments: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(denied).toMatchObject({ code: COAZ_ERROR.denied });
    expect(String((denied as Error).message)).toMatch(
      /Access denied: tools\/call on tool delete_repo/,
    );
    // The server never saw the denied call.
    expect(r.called).toEqual(['read_file']);
    expect(r.decisions.map((d) => [d.action, d.decision])).toEqual([
      ['initialize mcp_server:provenant', true],
      ['tools/list mcp_server:provenant', true],
      ['tools/call tool:read_file', true],
      ['tools/call tool:delete_repo', false],
    ]);
    // The PDP's record of the deny carries the PEP's request id, subject checked by credential.
    const deny = r.decisions.at(-1)!;
    const rec = await recordOf(deny.requestId);
    expect(rec).toMatchObject({
      action: { name: 'tools/call', resource: 'tool:delete_repo' },
      policy: { decision: 'deny', authzen: { request_id: deny.requestId, subject: 'credential' } },
    });

    // A tool that declares a mapping (CEL) is refused as a mapping error, not defaulted.
    const declared = await client.callTool({ name: 'copy_object', arguments: { path: 'a' } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(declared).toMatchObject({ code: COAZ_ERROR.mapping });
    expect(r.called).toEqual(['read_file']);
    await client.close();
    await r.relay.close();
  });

  it('passes ping, denies an unknown method unasked, and fails closed without a PDP', async () => {
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((res) => closed.close(res));
    const r = await rig(`http://127.0.0.1:${port}`);
    const got: JSONRPCMessage[] = [];
    r.clientEnd.onmessage = (m) => void got.push(m);
    await r.clientEnd.start();
    await r.clientEnd.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await r.clientEnd.send({ jsonrpc: '2.0', id: 2, method: 'vendor/exfiltrate', params: {} });
    await r.clientEnd.send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'read_file', arguments: {} },
    });
    await expect.poll(() => got.length).toBe(3);
    const byId = new Map(got.map((m) => [(m as { id: number }).id, m]));
    expect(byId.get(1)).toMatchObject({ result: {} });
    expect(byId.get(2)).toMatchObject({ error: { code: COAZ_ERROR.denied } });
    expect(byId.get(3)).toMatchObject({
      error: { code: COAZ_ERROR.pdp, message: expect.stringMatching(/unreachable/) },
    });
    expect(r.called).toEqual([]);
    expect(r.decisions).toEqual([]);
    await r.relay.close();
  });
});
