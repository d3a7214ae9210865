// Transaction Tokens through the MCP proxy (issue 17 item 2), with real processes: a collector
// (`provenant serve --txn-trust-domain`, the trust domain's Txn-Token Service) and
// `provenant mcp-proxy --listen --txn-trust-domain` in front of a real MCP server (the official
// SDK's, in this process). A gateway workload holds alice's credential, asks the collector for
// a Txn-Token, and calls a tool through the proxy with both: the proxy verifies the Txn-Token,
// the collector verifies it again and keeps its txn in the call's records — never the token.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SignJWT, decodeJwt, generateKeyPair, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY, createFixtureServer, tempDir } from '../../packages/mcp/test/helpers.js';
import { POLICIES, makeIdentity } from '../support/collector.js';
import { CLI, startCollectorProcess, stopChildren } from './process.js';
import type { CollectorProcess } from './process.js';

const TD = 'acme.test';
const GATEWAY = 'spiffe://acme.test/gateway';

const tmp = tempDir('mcp-txn');
const children: ChildProcess[] = [];
let collector: CollectorProcess;
let proxyUrl: string;
let upstream: { url: string; close(): Promise<void> };
let gateway: Awaited<ReturnType<typeof makeIdentity>>;

/** The fixture MCP server over Streamable HTTP (one server per session). */
async function upstreamServer(): Promise<{ url: string; close(): Promise<void> }> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      const sid = req.headers['mcp-session-id'];
      let t = typeof sid === 'string' ? transports.get(sid) : undefined;
      if (!t) {
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, transport),
        });
        await createFixtureServer().connect(transport);
        t = transport;
      }
      await t.handleRequest(req, res);
    })();
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      for (const t of transports.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}

function startProxy(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'mcp-proxy', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    child.on('exit', (code) => fail(new Error(`mcp-proxy exited ${code}: ${err}`)));
  });
}

async function token(form: Record<string, string>): Promise<string> {
  const res = await fetch(`${collector.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await res.json()) as Record<string, string>;
  if (res.status !== 200) throw new Error(`token: ${res.status} ${JSON.stringify(body)}`);
  return body['access_token']!;
}

/** The gateway's private_key_jwt client assertion for the collector. */
async function gatewayAssertion(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(GATEWAY)
    .setSubject(GATEWAY)
    .setAudience(collector.url)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(await importJWK(gateway.identity.jwk, 'EdDSA'));
}

/** Alice's credential held by the gateway, and a Txn-Token of the collector for it. */
async function gatewayCredentials(): Promise<{ credential: string; txnToken: string }> {
  const alice = await token({
    grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
    username: 'alice',
    scope: 'repo:read',
  });
  const credential = await token({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: alice,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    actor_token: await gatewayAssertion(),
    actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  });
  const txnToken = await token({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    requested_token_type: 'urn:ietf:params:oauth:token-type:txn_token',
    audience: TD,
    scope: 'repo:read',
    subject_token: credential,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await gatewayAssertion(),
    request_details: JSON.stringify({ repo: 'acme/web', purpose: 'weekly report' }),
  });
  return { credential, txnToken };
}

beforeAll(async () => {
  upstream = await upstreamServer();
  collector = await startCollectorProcess(join(tmp.dir, 'data'), [
    '--policies',
    POLICIES,
    '--dev-login',
    '--txn-trust-domain',
    TD,
  ]);
  children.push(collector.child);
  const admin = async (body: Record<string, unknown>) => {
    const res = await fetch(`${collector.url}/v1/principals`, {
      method: 'POST',
      headers: { ...collector.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ shared: false, disabled: false, ...body }),
    });
    if (!res.ok) throw new Error(`principals: ${res.status} ${await res.text()}`);
  };
  const proxy = await makeIdentity(PROXY);
  gateway = await makeIdentity(GATEWAY);
  await admin({
    id: PROXY,
    kind: 'agent_instance',
    agent: 'mcp-proxy',
    publicJwks: [proxy.publicJwk],
  });
  await admin({ id: GATEWAY, kind: 'service', publicJwks: [gateway.publicJwk] });
  await admin({ id: 'user:alice', kind: 'human' });
  const identityFile = join(tmp.dir, 'proxy.key.json');
  writeFileSync(identityFile, JSON.stringify(proxy.identity), { mode: 0o600 });
  const configFile = join(tmp.dir, 'mcp-proxy.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      server: 'github-mcp',
      tools: { read_file: { action: 'github.get_file', resource: 'repo:{repo}' } },
    }),
  );
  proxyUrl = await startProxy([
    '--listen',
    '127.0.0.1:0',
    '--upstream',
    upstream.url,
    '--identity',
    identityFile,
    '--collector',
    collector.url,
    '--config',
    configFile,
    '--txn-trust-domain',
    TD,
  ]);
}, 120_000);

afterAll(async () => {
  await stopChildren(children);
  await upstream?.close();
  tmp.remove();
});

async function events(type: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${collector.url}/v1/events?type=${type}&limit=100`, {
    headers: collector.admin,
  });
  return ((await res.json()) as { events: Record<string, unknown>[] }).events;
}

describe('the MCP proxy and the Txn-Token header (real processes)', () => {
  it("keeps the Txn-Token's txn in the call's decision and records, never the token", async () => {
    const { credential, txnToken } = await gatewayCredentials();
    const txn = decodeJwt(txnToken)['txn'] as string;
    const client = new Client({ name: 'gateway', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(proxyUrl), {
        requestInit: {
          headers: { authorization: `Bearer ${credential}`, 'txn-token': txnToken },
        },
      }),
    );
    try {
      await client
        .callTool({ name: 'read_file', arguments: { repo: 'acme/web', path: 'README.md' } })
        .catch(() => undefined);
    } finally {
      await client.close();
    }
    // The proxy's records reach the collector within its batching delay.
    let calls: Record<string, unknown>[] = [];
    for (let i = 0; i < 50 && calls.length === 0; i++) {
      calls = (await events('tool.called')).filter(
        (e) => (e['correlation'] as { txn?: string } | undefined)?.txn === txn,
      );
      if (calls.length === 0) await new Promise((ok) => setTimeout(ok, 100));
    }
    expect(calls.length).toBeGreaterThan(0);
    const decisions = (await events('policy.decision')).filter(
      (e) => (e['correlation'] as { txn?: string } | undefined)?.txn === txn,
    );
    expect(decisions).toHaveLength(1);
    expect(decisions[0]!['correlation']).toMatchObject({
      txn,
      txn_token: {
        req_wl: GATEWAY,
        sub: 'user:alice',
        tctx_digest: expect.stringMatching(/^sha256:/),
      },
    });
    const everything = JSON.stringify([...(await events('tool.called')), ...decisions]);
    expect(everything).not.toContain(txnToken);
  });

  it('refuses a forged Txn-Token and one sent as the credential, with 401 and the code', async () => {
    const { credential, txnToken } = await gatewayCredentials();
    const { privateKey } = await generateKeyPair('ES256');
    const claims = decodeJwt(txnToken);
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'forged', typ: 'txntoken+jwt' })
      .sign(privateKey);
    const ping = (headers: Record<string, string>) =>
      fetch(proxyUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    const bad = await ping({ authorization: `Bearer ${credential}`, 'txn-token': forged });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('unknown_kid');
    const misplaced = await ping({ authorization: `Bearer ${txnToken}` });
    expect(misplaced.status).toBe(401);
    expect(((await misplaced.json()) as { error: { code: string } }).error.code).toBe(
      'txn_token_misplaced',
    );
  });
});
