/**
 * The signed receipt in a gated call's result (`_meta["io.provenant/receipt"]`), end to end: a
 * real collector, the HTTP proxy with `receipts`, a v2 SDK server serving both eras; a client
 * of each era gets a receipt, checks its promise against the proxy's key, fetches the inclusion
 * proof of the record it names and verifies it against the log's signed checkpoint.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Transport1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  decodeBase64,
  openLogCheckpoint,
  parseVerifierKey,
  verifyInclusion,
} from '@provenant/core/verify';
import { RECEIPT_META_KEY, parseConfig, startHttpProxy } from '@provenant/mcp';
import type { Receipt, RunningHttpProxy } from '@provenant/mcp';
import type { RunningCollector } from '@provenant/server';
import { compactVerify, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_HEADERS } from '../support/collector.js';
import type { scenario, tempDir } from '../support/mcp.js';
import { PROXY, proxyWorld } from '../support/mcp.js';

const FIXTURE = fileURLToPath(
  new URL('../../packages/mcp/test/fixtures/modern-server.js', import.meta.url),
);

let tmp: ReturnType<typeof tempDir>;
let c: RunningCollector;
let who: Awaited<ReturnType<typeof scenario>>;
let server: ChildProcess;
let proxy: RunningHttpProxy;

beforeAll(async () => {
  let identityFile: string;
  ({ tmp, c, who, identityFile } = await proxyWorld('receipt'));
  server = spawn(process.execPath, [FIXTURE, 'http'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const upstream = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`the fixture exited (${code})`)));
  });
  proxy = await startHttpProxy({
    collectorUrl: c.url,
    identity: identityFile,
    upstream,
    receipts: true,
    config: parseConfig({
      server: 'github-mcp',
      tools: { read_file: { action: 'github.get_file', resource: 'repo:{repo}' } },
    }),
    log: () => {},
  });
});

afterAll(async () => {
  await proxy?.close();
  server?.kill();
  await c?.close();
  tmp?.remove();
});

const get = async (path: string) => {
  const res = await fetch(`${c.url}${path}`, { headers: ADMIN_HEADERS });
  return res;
};

/** Turns a receipt into a verified inclusion proof; returns the record it names. */
async function prove(receipt: Receipt): Promise<Record<string, unknown>> {
  // The promise: a JWS by the proxy's own key, over what the receipt says.
  const key = await importJWK({ ...who.proxy.jwk, d: undefined } as never, 'EdDSA');
  const { payload, protectedHeader } = await compactVerify(receipt.promise, key);
  const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: PROXY });
  expect(claims).toMatchObject({ iss: PROXY, record_id: receipt.record_id, log: c.url });
  // The record reaches the log after the answer: fetch it once it is there.
  const record = await vi.waitFor(
    async () => {
      const res = await get(`/v1/events/${receipt.record_id}`);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown> & {
        integrity: { leaf_index: number; leaf_hash: string };
      };
    },
    { timeout: 15_000, interval: 100 },
  );
  const verifier = await parseVerifierKey((await (await get('/v1/log/key')).text()).trim());
  const checkpoint = await vi.waitFor(
    async () => {
      const cp = await openLogCheckpoint(await (await get('/v1/log/checkpoint')).text(), verifier);
      expect(cp.size).toBeGreaterThan(record.integrity.leaf_index);
      return cp;
    },
    { timeout: 15_000, interval: 100 },
  );
  if (receipt.log_origin !== undefined) expect(receipt.log_origin).toBe(checkpoint.origin);
  const proof = (await (
    await get(`/v1/events/${receipt.record_id}/proof?tree_size=${checkpoint.size}`)
  ).json()) as { leaf_index: number; tree_size: number; hashes: string[] };
  await verifyInclusion(
    decodeBase64(record.integrity.leaf_hash)!,
    proof.leaf_index,
    proof.tree_size,
    proof.hashes.map((h) => decodeBase64(h)!),
    checkpoint.rootHash,
  );
  return record;
}

describe('the signed receipt of a gated call', () => {
  it('2026-07-28: a v2 client gets a receipt it turns into a verified inclusion proof', async () => {
    const client = new Client(
      { name: 'receipt-test', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(proxy.url), {
        requestInit: { headers: { authorization: `Bearer ${who.alice}` } },
      }),
    );
    try {
      const result = await client.callTool({
        name: 'read_file',
        arguments: { repo: 'acme/payments', path: 'README' },
      });
      expect(result.content).toEqual([{ type: 'text', text: 'acme/payments/README: hello' }]);
      const receipt = (result._meta as Record<string, unknown>)[RECEIPT_META_KEY] as Receipt;
      // The server's own _meta is kept beside it.
      expect(result._meta).toHaveProperty(['io.modelcontextprotocol/serverInfo']);
      const record = await prove(receipt);
      expect(record).toMatchObject({
        id: receipt.record_id,
        type: 'tool.called',
        initiator: { id: 'user:alice' },
        actor: { id: PROXY },
        action: { name: 'github.get_file', tool: { protocol_version: '2026-07-28' } },
        outcome: { status: 'success' },
      });
    } finally {
      await client.close();
    }
  });

  it('2025-11-25: a 1.x client gets one too, spliced into the bytes the server sent', async () => {
    const client = new Client1({ name: 'receipt-legacy', version: '1.0.0' });
    await client.connect(
      new Transport1(new URL(proxy.url), {
        requestInit: { headers: { authorization: `Bearer ${who.bob}` } },
      }),
    );
    try {
      const result = await client.callTool({
        name: 'read_file',
        arguments: { repo: 'acme/docs', path: 'a' },
      });
      const receipt = (result._meta as Record<string, unknown>)[RECEIPT_META_KEY] as Receipt;
      const record = await prove(receipt);
      expect(record).toMatchObject({
        initiator: { id: 'user:bob' },
        action: { tool: { protocol_version: '2025-11-25', client: { name: 'receipt-legacy' } } },
        outcome: { status: 'success' },
      });
    } finally {
      await client.close();
    }
  });
});
