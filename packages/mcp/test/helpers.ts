import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { EventRecord } from '@provenant/core';
import type { AgentIdentity } from '@provenant/sdk';
// @ts-expect-error -- a plain-JS fixture without type declarations
import { createFixtureServer as createFixture } from './fixtures/server.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { createRelay } from '../src/index.js';
import type { Interceptor, Relay } from '../src/index.js';
import {
  ADMIN,
  POLICIES,
  devLogin,
  makeIdentity,
  register,
  testCollector as collector,
} from '../../../test/support/collector.js';
export { ADMIN, POLICIES, collector, devLogin, makeIdentity, register };

export const createFixtureServer = createFixture as (o?: { onCrash?: () => void }) => Server;
export const PROXY = 'spiffe://acme.test/agent/mcp-proxy/instance/p1';

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `provenant-mcp-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Registers alice, bob and the proxy's agent instance; alice may write, bob only read. */
export async function scenario(
  url: string,
): Promise<{ proxy: AgentIdentity; alice: string; bob: string }> {
  const proxy = await makeIdentity(PROXY);
  await register(url, { id: 'user:alice', kind: 'human' });
  await register(url, { id: 'user:bob', kind: 'human' });
  await register(url, {
    id: PROXY,
    kind: 'agent_instance',
    agent: 'mcp-proxy',
    publicJwks: [proxy.publicJwk],
  });
  return {
    proxy: proxy.identity,
    alice: await devLogin(url, 'alice', 'repo:read repo:write'),
    bob: await devLogin(url, 'bob', 'repo:read'),
  };
}

/**
 * The set-up of the proxy's end-to-end tests: a temp folder, a collector in it, the scenario,
 * and the proxy's identity written to a 0600 key file (as `mcp-proxy --identity` reads it).
 */
export async function proxyWorld(prefix: string) {
  const tmp = tempDir(prefix);
  const c = await collector(join(tmp.dir, 'data'));
  const who = await scenario(c.url);
  const identityFile = join(tmp.dir, 'proxy.key.json');
  writeFileSync(identityFile, JSON.stringify(who.proxy), { mode: 0o600 });
  return { tmp, c, who, identityFile };
}

export type Stored = EventRecord & { attribution: { level: string } };

export async function events(url: string, query: Record<string, string>): Promise<Stored[]> {
  const res = await fetch(`${url}/v1/events?${new URLSearchParams({ ...query, limit: '1000' })}`);
  return ((await res.json()) as { events: Stored[] }).events;
}

/** A client that answers sampling, elicitation and roots requests from the server. */
export function fixtureClient(): Client {
  const client = new Client(
    { name: 'test-client', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'hi' },
    model: 'test-model',
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: 'file:///work', name: 'work' }],
  }));
  return client;
}

export interface Rig {
  client: Client;
  server: Server;
  relay: Relay;
  /** The relay's two transports' far ends, for sending raw messages. */
  rawClientSide: InMemoryTransport;
  close(): Promise<void>;
}

/** Client ⇄ relay ⇄ fixture server, over in-memory transports. */
export async function rig(interceptor?: Interceptor, connectClient = true): Promise<Rig> {
  const [clientEnd, proxyClientSide] = InMemoryTransport.createLinkedPair();
  const [proxyServerSide, serverEnd] = InMemoryTransport.createLinkedPair();
  const server = createFixtureServer({ onCrash: () => void serverEnd.close() });
  await server.connect(serverEnd);
  const relay = createRelay({
    client: proxyClientSide,
    server: proxyServerSide,
    ...(interceptor ? { interceptor } : {}),
  });
  await relay.start();
  const client = fixtureClient();
  if (connectClient) await client.connect(clientEnd);
  return {
    client,
    server,
    relay,
    rawClientSide: clientEnd,
    close: async () => {
      await client.close();
      await relay.close();
      await server.close();
    },
  };
}
