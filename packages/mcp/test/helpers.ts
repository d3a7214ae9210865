import { mkdtempSync, rmSync } from 'node:fs';
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
import { createRecorder } from '@provenant/sdk';
import type { AgentIdentity, Recorder, RecorderOptions } from '@provenant/sdk';
import { InMemoryRecordExporter, memoryDecisions, memoryIssuer } from '@provenant/sdk/testing';
import type { DecisionRule, MemoryDecisions, MemoryIssuer } from '@provenant/sdk/testing';
import { exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error -- a plain-JS fixture without type declarations
import { createFixtureServer as createFixture } from './fixtures/server.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { createRelay } from '../src/index.js';
import type { Interceptor, Relay } from '../src/index.js';

export const createFixtureServer = createFixture as (o?: { onCrash?: () => void }) => Server;
export const PROXY = 'spiffe://acme.test/agent/mcp-proxy/instance/p1';

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `provenant-mcp-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const READS = new Set(['github.get_file', 'github.search_code', 'github.list_issues']);
const WRITES = new Set(['github.delete_repo']);

/**
 * What the example policies decide for the proxy tests: the schema's GitHub reads with
 * `repo:read`, its writes with `repo:write`; any action the schema does not know is denied.
 */
export const examplePolicy: DecisionRule = ({ action }, { scope }) =>
  (READS.has(action.name) && scope.includes('repo:read')) ||
  (WRITES.has(action.name) && scope.includes('repo:write'))
    ? 'allow'
    : 'deny';

/** The proxy's world without a collector: credentials, decisions and records in memory. */
export interface ProxyWorld {
  readonly proxy: AgentIdentity;
  readonly issuer: MemoryIssuer;
  readonly decisions: MemoryDecisions;
  /** alice may write, bob only read. */
  readonly alice: string;
  readonly bob: string;
  /**
   * A recorder of the proxy's with an in-memory exporter of its own, or over HTTP when
   * `collectorUrl` is given (with a fake `fetch`); options override the rest.
   */
  recorder(options?: Partial<RecorderOptions>): Recorder;
  /** The tool.called records every recorder of this world exported, in order. */
  toolCalls(): EventRecord[];
}

export async function memoryWorld(): Promise<ProxyWorld> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const proxy = { principal: PROXY, jwk: { ...(await exportJWK(privateKey)), alg: 'EdDSA' } };
  const issuer = memoryIssuer();
  const decisions = memoryDecisions(examplePolicy);
  const exporters: InMemoryRecordExporter[] = [];
  return {
    proxy,
    issuer,
    decisions,
    alice: issuer.initiator('user:alice', { scope: ['repo:read', 'repo:write'] }),
    bob: issuer.initiator('user:bob', { scope: ['repo:read'] }),
    recorder(options = {}) {
      const base = { identity: proxy, issuer, pdp: decisions };
      if (options.collectorUrl !== undefined) return createRecorder({ ...base, ...options });
      const exporter = new InMemoryRecordExporter();
      exporters.push(exporter);
      return createRecorder({ ...base, exporter, ...options });
    },
    toolCalls: () =>
      exporters.flatMap((x) => x.getFinishedRecords()).filter((r) => r.type === 'tool.called'),
  };
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
  /** Every message the relay sent the server, in order. */
  serverSaw: unknown[];
  close(): Promise<void>;
}

/** Client ⇄ relay ⇄ fixture server, over in-memory transports. */
export async function rig(interceptor?: Interceptor, connectClient = true): Promise<Rig> {
  const [clientEnd, proxyClientSide] = InMemoryTransport.createLinkedPair();
  const [proxyServerSide, serverEnd] = InMemoryTransport.createLinkedPair();
  const server = createFixtureServer({ onCrash: () => void serverEnd.close() });
  await server.connect(serverEnd);
  const serverSaw: unknown[] = [];
  const send = proxyServerSide.send.bind(proxyServerSide);
  proxyServerSide.send = (message, options) => {
    serverSaw.push(message);
    return send(message, options);
  };
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
    serverSaw,
    close: async () => {
      await client.close();
      await relay.close();
      await server.close();
    },
  };
}
