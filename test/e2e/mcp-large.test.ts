import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestOf } from '@provenant/core';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collector, events, scenario, tempDir } from '../../packages/mcp/test/helpers.js';
import type { Stored } from '../../packages/mcp/test/helpers.js';
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
  tmp = tempDir('large');
  c = await collector(join(tmp.dir, 'data'));
  const who = await scenario(c.url);
  alice = who.alice;
  identityFile = join(tmp.dir, 'proxy.key.json');
  writeFileSync(identityFile, JSON.stringify(who.proxy), { mode: 0o600 });
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

const resultDigest = (result: Buffer) => digestOf({ bytes: result.length, sha256: sha([result]) });

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
      error: {
        code: 'tool_error',
        message: expect.stringContaining(resultDigest(resultOf(m.line, m.id))),
      },
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

describe.skipIf(!existsSync('/proc/self/status'))(
  'mcp-proxy: large results (Streamable HTTP)',
  () => {
    it('relays a large JSON and SSE answer with its result unchanged, and records its digest', async () => {
      const { listening, httpClient } = (await import(
        // @ts-expect-error -- a plain-JS fixture without type declarations
        '../../packages/mcp/test/fixtures/large.js'
      )) as {
        listening(
          cmd: string,
          args: string[],
        ): Promise<{ url: string; pid: number; stop(): Promise<void> }>;
        httpClient(url: string, token: string, firstId: number): RawClient;
      };
      const up = await listening(process.execPath, [BIG, '--http']);
      const px = await listening(process.execPath, [
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
      try {
        // Ids apart from the stdio proxy's calls, so each record is found by its call id.
        const client = httpClient(px.url, alice, 1001);
        await client.initialize();
        const sent = (id: number, mb: number) => resultOf(Buffer.concat([...big(id, mb)]), id);
        for (const sse of [false, true]) {
          const m = await measure(client, px.pid, 'big', { mb: 16, sse });
          // The SDK's HTTP transports re-encode the envelope (jsonrpc, id, result); the result
          // itself arrives as the server sent it.
          const result = resultOf(m.line, m.id);
          expect(sha([result])).toBe(sha([sent(m.id, 16)]));
          expect((await recordOf(m.id)).outcome).toMatchObject({
            status: 'success',
            result_digest: resultDigest(result),
          });
          const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
          console.log(
            `HTTP proxy memory (${sse ? 'SSE' : 'JSON'}), ${mib(m.line.length)} result: growth ${mib(m.growth)} (${(m.growth / m.line.length).toFixed(2)} × the result; the SDK's transports parse and re-encode it)`,
          );
        }
      } finally {
        await px.stop();
        await up.stop();
      }
    }, 120_000);
  },
);
