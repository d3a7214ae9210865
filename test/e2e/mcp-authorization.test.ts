// The collector as the authorization server of an MCP deployment (issue 16 item 5), with real
// processes: `provenant serve` (the authorization server), `provenant mcp-proxy --listen` (the
// protected resource) in front of a real MCP server (the official SDK's, in this process), and
// the official SDK's OAuth client (`auth()` through StreamableHTTPClientTransport's
// authProvider) obtaining credentials and calling tools.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { PrivateKeyJwtProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { SignJWT, decodeJwt, importJWK } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY, createFixtureServer, tempDir } from '../../packages/mcp/test/helpers.js';
import { freePort } from '../../packages/server/test/signin-fixture.js';
import { POLICIES, makeIdentity } from '../support/collector.js';
import { CLI, startCollectorProcess, stopChildren } from './process.js';
import type { CollectorProcess } from './process.js';

const WORKLOAD = 'service:nightly-report';

/** The fixture MCP server over Streamable HTTP (stateful: one server per session). */
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
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      for (const t of transports.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}

/** `provenant mcp-proxy --listen` on `port`, once it says where it listens. */
function startProxy(
  port: number,
  o: { upstream: string; identityFile: string; configFile: string; collector: string },
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'mcp-proxy',
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      o.upstream,
      '--identity',
      o.identityFile,
      '--collector',
      o.collector,
      '--config',
      o.configFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) ok({ child, url: m[1]! });
    });
    child.on('exit', (code) => fail(new Error(`mcp-proxy exited ${code}: ${err}`)));
  });
}

const tmp = tempDir('authorization');
const children: ChildProcess[] = [];
let collector: CollectorProcess;
let upstream: Awaited<ReturnType<typeof upstreamServer>>;
let proxyUrl: string;
let workload: { identity: { principal: string; jwk: JWK }; publicJwk: JWK };

async function admin(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${collector.url}${path}`, {
    method: 'POST',
    headers: { ...collector.admin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  const proxyPort = await freePort();
  const resource = `http://127.0.0.1:${proxyPort}/mcp`;
  collector = await startCollectorProcess(join(tmp.dir, 'data'), [
    '--dev-login',
    '--policies',
    POLICIES,
    '--resource',
    resource,
    '--resource',
    'http://127.0.0.1:9/other-mcp',
  ]);
  children.push(collector.child);
  const proxy = await makeIdentity(PROXY);
  workload = await makeIdentity(WORKLOAD);
  await admin('/v1/principals', {
    id: PROXY,
    kind: 'agent_instance',
    agent: 'mcp-proxy',
    shared: false,
    disabled: false,
    publicJwks: [proxy.publicJwk],
  });
  await admin('/v1/principals', {
    id: WORKLOAD,
    kind: 'service',
    shared: false,
    disabled: false,
    publicJwks: [workload.publicJwk],
    scopes: ['repo:read'],
  });
  await admin('/v1/principals', {
    id: 'user:alice',
    kind: 'human',
    shared: false,
    disabled: false,
  });
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
  upstream = await upstreamServer();
  const p = await startProxy(proxyPort, {
    upstream: upstream.url,
    identityFile,
    configFile,
    collector: collector.url,
  });
  children.push(p.child);
  proxyUrl = p.url;
  expect(proxyUrl).toBe(resource);
}, 120_000);

afterAll(async () => {
  await stopChildren(children);
  await upstream?.close();
  tmp.remove();
});

/** A client assertion of the workload's, as the SDK's private_key_jwt helper would sign one. */
async function workloadAssertion(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(WORKLOAD)
    .setSubject(WORKLOAD)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(await importJWK(workload.identity.jwk, 'EdDSA'));
}

async function token(form: Record<string, string>) {
  const res = await fetch(`${collector.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe("client credentials with private_key_jwt (the SDK's PrivateKeyJwtProvider)", () => {
  it('gets a credential bound to the proxy (aud = the resource) and calls a tool through it', async () => {
    const provider = new PrivateKeyJwtProvider({
      clientId: WORKLOAD,
      privateKey: workload.identity.jwk as Record<string, unknown>,
      algorithm: 'EdDSA',
      scope: 'repo:read',
      expectedIssuer: collector.url,
    });
    const client = new Client({ name: 'nightly-report', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(proxyUrl), { authProvider: provider }),
    );
    try {
      const tokens = provider.tokens();
      expect(tokens?.access_token).toBeDefined();
      const claims = decodeJwt(tokens!.access_token);
      expect(claims).toMatchObject({
        iss: collector.url,
        sub: WORKLOAD,
        aud: proxyUrl,
        scope: 'repo:read',
      });
      // Authenticated through the proxy's exchange; the example policies let only a human's
      // delegation read, so the collector's decision point denies a workload's own call.
      await expect(
        client.request(
          {
            method: 'tools/call',
            params: { name: 'read_file', arguments: { repo: 'acme/web', path: 'README.md' } },
          },
          CallToolResultSchema,
        ),
      ).rejects.toThrow(/Denied by policy: github.get_file on repo:acme\/web/);
      // Bound to the proxy: the collector's own API refuses it.
      const res = await fetch(`${collector.url}/v1/events`, {
        headers: { authorization: `Bearer ${tokens!.access_token}` },
      });
      expect(res.status).toBe(401);
    } finally {
      await client.close();
    }
  });

  it('takes the issuer or the token endpoint as the assertion audience, each jti once', async () => {
    for (const aud of [collector.url, `${collector.url}/v1/token`]) {
      const assertion = await workloadAssertion({ aud });
      const form = {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        resource: proxyUrl,
      };
      const first = await token(form);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      const replay = await token(form);
      expect(replay.status).toBe(401);
      expect(replay.body).toMatchObject({
        error: 'invalid_client',
        provenant_code: 'assertion_replayed',
      });
    }
  });

  it('refuses an assertion for another audience, and a resource it does not serve', async () => {
    const form = async (aud: string, resource: string) => ({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await workloadAssertion({ aud }),
      resource,
    });
    for (const aud of ['http://127.0.0.1:9', `${collector.url}/v1/token/revoke`, `${proxyUrl}`]) {
      const r = await token(await form(aud, proxyUrl));
      expect(r.status).toBe(401);
      expect(r.body['error']).toBe('invalid_client');
    }
    const r = await token(await form(collector.url, 'https://elsewhere.example/mcp'));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'invalid_target', provenant_code: 'resource_unknown' });
  });

  it('the proxy refuses a credential bound to another resource', async () => {
    const other = await token({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await workloadAssertion({ aud: collector.url }),
      resource: 'http://127.0.0.1:9/other-mcp',
    });
    expect(other.status).toBe(200);
    const res = await fetch(proxyUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${other.body['access_token']}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'x', version: '1' },
        },
      }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(res.headers.get('www-authenticate')).toContain('another resource');
  });
});
