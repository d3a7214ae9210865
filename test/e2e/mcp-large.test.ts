import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestOf, keyDigest } from '@provenant/core';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, proxyWorld } from '../support/mcp.js';
import type { Stored, tempDir } from '../support/mcp.js';
// @ts-expect-error -- a plain-JS fixture without type declarations
import { bigLine } from '../../packages/mcp/test/fixtures/big-server.js';
import {
  measuredCall,
  rawClient,
  resultBytesOf,
  sha256Of,
  // @ts-expect-error -- a plain-JS fixture without type declarations
} from '../../packages/mcp/test/fixtures/large.js';
import { CLI } from './process.js';

const BIG = fileURLToPath(
  new URL('../../packages/mcp/test/fixtures/big-server.js', import.meta.url),
);
const MB = 64;

interface RawClient {
  pid: number;
  stderr(): string;
  initialize(): Promise<void>;
  request(method: string, params: unknown): Promise<{ id: number; line: Buffer }>;
  close(): Promise<unknown>;
}
interface Measured {
  id: number;
  line: Buffer;
  growth: number;
  rssBefore: number;
  peak: number;
}
const big = bigLine as (id: number, mb: number, isError?: boolean) => Iterable<Buffer>;
const sha = sha256Of as (pieces: Iterable<Buffer>) => string;
const resultOf = resultBytesOf as (line: Buffer, id: number) => Buffer;
const measure = measuredCall as (
  c: RawClient,
  pid: number,
  name: string,
  args: unknown,
) => Promise<Measured>;

let tmp: ReturnType<typeof tempDir>;
let c: RunningCollector;
let proxy: RawClient;
let identityFile: string;
let configFile: string;
let alice: string;

beforeAll(async () => {
  let who;
  ({ tmp, c, who, identityFile } = await proxyWorld('large'));
  alice = who.alice;
  configFile = join(tmp.dir, 'mcp-proxy.json');
  const read = { action: 'github.get_file', resource: 'repo:acme/big', risk: 'low' };
  writeFileSync(
    configFile,
    JSON.stringify({ server: 'big', tools: { big: read, truncated: read, small: read } }),
  );
  proxy = (rawClient as (cmd: string, args: string[], env: NodeJS.ProcessEnv) => RawClient)(
    process.execPath,
    [
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
      BIG,
    ],
    { ...process.env, PROVENANT_INITIATOR_TOKEN: who.alice },
  );
  await proxy.initialize();
  const small = await proxy.request('tools/call', { name: 'small', arguments: {} });
  expect(JSON.parse(small.line.toString())).toMatchObject({ result: { content: [{}] } });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await c.close();
  tmp.remove();
});

/** The final record of the call with this JSON-RPC id. */
async function recordOf(id: number): Promise<Stored> {
  for (let i = 0; i < 100; i++) {
    const got = (await events(c.url, { initiator: 'user:alice', type: 'tool.called' })).find(
      (e) => e.action.tool?.call_id === String(id) && e.outcome.status !== 'pending',
    );
    if (got) return got;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`no final record for call ${id}`);
}

/** The digest the collector stores: keyed under the deployment key (audit-hmac.key). */
const resultDigest = (result: Buffer) =>
  keyDigest(
    Buffer.from(readFileSync(join(tmp.dir, 'data', 'audit-hmac.key'), 'utf8').trim(), 'base64'),
    digestOf({ bytes: result.length, sha256: sha([result]) }),
  );

describe.skipIf(!existsSync('/proc/self/status'))('mcp-proxy: large results (stdio)', () => {
  it(`relays a ${MB} MiB result byte-identically, holding it at most once, and records its digest`, async () => {
    const m = await measure(proxy, proxy.pid, 'big', { mb: MB });
    // Exactly the bytes the server wrote.
    expect(sha([m.line])).toBe(sha(big(m.id, MB)));
    const size = m.line.length;
    expect(size).toBeGreaterThan((MB - 1) * 2 ** 20);
    // The recorded digest, computed here from the bytes the client got.
    expect((await recordOf(m.id)).outcome).toMatchObject({
      status: 'success',
      result_digest: resultDigest(resultOf(m.line, m.id)),
    });
    // One copy of the message at most: the proxy's peak resident memory during the call stays
    // well below what two copies would need (the old relay peaked at several).
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `proxy memory, ${mib(size)} result: ${mib(m.rssBefore)} before, peak ${mib(m.peak)}, growth ${mib(m.growth)} (${(m.growth / size).toFixed(2)} × the result)`,
    );
    expect(m.growth).toBeLessThan(1.6 * size);
  }, 120_000);

  it('reads isError from a large result and records a tool error with its digest', async () => {
    const m = await measure(proxy, proxy.pid, 'big', { mb: 8, isError: true });
    expect(sha([m.line])).toBe(sha(big(m.id, 8, true)));
    expect((await recordOf(m.id)).outcome).toMatchObject({
      status: 'error',
      error: { code: 'tool_error', message: 'The tool returned isError.' },
      result_digest: resultDigest(resultOf(m.line, m.id)),
    });
    const ok = await measure(proxy, proxy.pid, 'big', { mb: 8, isError: false });
    expect((await recordOf(ok.id)).outcome.status).toBe('success');
  }, 60_000);

  it('answers a truncated large answer with a JSON-RPC error, records it, and keeps running', async () => {
    const { id, line } = await proxy.request('tools/call', {
      name: 'truncated',
      arguments: { mb: 16 },
    });
    expect(JSON.parse(line.toString())).toMatchObject({
      jsonrpc: '2.0',
      id,
      error: {
        code: -32016,
        message: expect.stringMatching(/answer was malformed: not JSON: .*truncated/),
        data: { code: 'upstream_malformed' },
      },
    });
    expect((await recordOf(id)).outcome).toMatchObject({
      status: 'error',
      error: { code: 'upstream_malformed' },
    });
    expect(proxy.stderr()).toContain('malformed message from the server');
    const after = await proxy.request('tools/call', { name: 'small', arguments: {} });
    expect(JSON.parse(after.line.toString())).toMatchObject({
      id: after.id,
      result: { content: [{ type: 'text', text: 'small' }] },
    });
  }, 60_000);
});

interface Listening {
  url: string;
  pid: number;
  stderr(): string;
  stop(): Promise<void>;
}
interface HttpFixtures {
  listening(cmd: string, args: string[]): Promise<Listening>;
  httpClient(url: string, token: string, firstId: number): RawClient;
}

describe.skipIf(!existsSync('/proc/self/status'))(
  'mcp-proxy: large results (Streamable HTTP)',
  () => {
    let fx: HttpFixtures;
    let up: Listening;
    beforeAll(async () => {
      // @ts-expect-error -- a plain-JS fixture without type declarations
      fx = (await import('../../packages/mcp/test/fixtures/large.js')) as HttpFixtures;
      up = await fx.listening(process.execPath, [BIG, '--http']);
    });
    afterAll(async () => {
      await up?.stop();
    });

    /** A fresh proxy process in front of the big server, and a client that has called once. */
    async function httpProxy(firstId: number) {
      const px = await fx.listening(process.execPath, [
        CLI,
        'mcp-proxy',
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        up.url,
        '--identity',
        identityFile,
        '--collector',
        c.url,
        '--config',
        configFile,
      ]);
      // Ids apart from the other calls', so each record is found by its call id.
      const client = fx.httpClient(px.url, alice, firstId);
      await client.initialize();
      // Warm: the first calls' one-time allocations are not the result's.
      for (const sse of [false, true]) await client.request('tools/call', big1(sse));
      return { px, client };
    }
    const big1 = (sse: boolean) => ({ name: 'big', arguments: { mb: 1, sse } });

    for (const sse of [false, true]) {
      const kind = sse ? 'SSE' : 'JSON';
      it(`relays a ${MB} MiB ${kind} answer byte-identically, holding it at most once, and records its digest`, async () => {
        const { px, client } = await httpProxy(sse ? 2001 : 1001);
        try {
          const m = await measure(client, px.pid, 'big', { mb: MB, sse });
          const size = m.line.length;
          const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
          console.log(
            `HTTP proxy memory (${kind} upstream), ${mib(size)} result: ${mib(m.rssBefore)} before, peak ${mib(m.peak)}, growth ${mib(m.growth)} (${(m.growth / size).toFixed(2)} × the result)`,
          );
          expect(size).toBeGreaterThan((MB - 1) * 2 ** 20);
          // The message exactly as the server wrote it (envelope order included: the SDK's
          // transports would re-encode it as jsonrpc, id, result).
          expect(sha([m.line])).toBe(sha(big(m.id, MB)));
          expect((await recordOf(m.id)).outcome).toMatchObject({
            status: 'success',
            result_digest: resultDigest(resultOf(m.line, m.id)),
          });
          // Held once at most: the proxy's peak resident memory during the call stays well
          // below what two copies would need (the SDK's transports alone hold several).
          expect(m.growth).toBeLessThan(1.6 * size);
        } finally {
          await px.stop();
        }
      }, 120_000);
    }

    it('reads isError from large JSON and SSE answers, and answers a truncated one with an error', async () => {
      const { px, client } = await httpProxy(3001);
      try {
        for (const sse of [false, true]) {
          const m = await measure(client, px.pid, 'big', { mb: 8, isError: true, sse });
          expect(sha([m.line])).toBe(sha(big(m.id, 8, true)));
          expect((await recordOf(m.id)).outcome).toMatchObject({
            status: 'error',
            error: { code: 'tool_error', message: 'The tool returned isError.' },
            result_digest: resultDigest(resultOf(m.line, m.id)),
          });
          const ok = await measure(client, px.pid, 'big', { mb: 8, isError: false, sse });
          expect(sha([ok.line])).toBe(sha(big(ok.id, 8, false)));
          expect((await recordOf(ok.id)).outcome.status).toBe('success');

          // The body (JSON) or the event (SSE) ends inside the result.
          const { id, line } = await client.request('tools/call', {
            name: 'truncated',
            arguments: { mb: 4, sse },
          });
          expect(JSON.parse(line.toString())).toMatchObject({
            jsonrpc: '2.0',
            id,
            error: {
              code: -32016,
              message: expect.stringMatching(/answer was malformed: not JSON: .*truncated/),
              data: { code: 'upstream_malformed' },
            },
          });
          expect((await recordOf(id)).outcome).toMatchObject({
            status: 'error',
            error: { code: 'upstream_malformed' },
          });
        }
        expect(px.stderr()).toContain('malformed answer from the server');
        const after = await client.request('tools/call', { name: 'small', arguments: {} });
        expect(JSON.parse(after.line.toString())).toMatchObject({
          id: after.id,
          result: { content: [{ type: 'text', text: 'small' }] },
        });
      } finally {
        await px.stop();
      }
    }, 120_000);
  },
);
