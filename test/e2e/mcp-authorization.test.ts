// The collector as the authorization server of an MCP deployment (issue 16 item 5), with real
// processes: `provenant serve` (the authorization server), `provenant mcp-proxy --listen` (the
// protected resource) in front of a real MCP server (the official SDK's, in this process), and
// the official SDK's OAuth client (`auth()` through StreamableHTTPClientTransport's
// authProvider) obtaining credentials and calling tools.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  Client as V2Client,
  PrivateKeyJwtProvider as V2PrivateKeyJwtProvider,
  StreamableHTTPClientTransport as V2Transport,
  UnauthorizedError as V2UnauthorizedError,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { PrivateKeyJwtProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { SignJWT, decodeJwt, importJWK } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY, createFixtureServer, tempDir } from '../../packages/mcp/test/helpers.js';
import { CookieJarClient, startOpenIdProvider } from '../../packages/server/test/oidc-provider.js';
import type { RunningProvider } from '../../packages/server/test/oidc-provider.js';
import { freePort, signInAtProvider } from '../../packages/server/test/signin-fixture.js';
import { POLICIES, makeIdentity } from '../support/collector.js';
import { selfSignedCertificate } from '../support/tls.js';
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
const closers: (() => Promise<void>)[] = [];
const tls = selfSignedCertificate(tmp.dir);
/** The MCP client's redirect URI: nobody listens there, the test reads the redirect itself. */
const REDIRECT = 'http://127.0.0.1:7777/callback';
let documents: string;
let upstream: Awaited<ReturnType<typeof upstreamServer>>;
let workload: { identity: { principal: string; jwk: JWK }; publicJwk: JWK };

interface World {
  collector: CollectorProcess;
  proxyUrl: string;
  admin(path: string, body: unknown): Promise<void>;
}

/**
 * A collector process (the authorization server, `extra` flags added) serving the proxy's URL
 * as a resource, and a proxy process in front of the upstream server; the proxy, the workload
 * and `humans` registered.
 */
async function startWorld(
  name: string,
  extra: (collectorPort: number) => Promise<string[]> | string[],
  humans: Record<string, unknown>[],
): Promise<World> {
  const [proxyPort, collectorPort] = [await freePort(), await freePort()];
  const resource = `http://127.0.0.1:${proxyPort}/mcp`;
  const collector = await startCollectorProcess(join(tmp.dir, `${name}-data`), [
    '--port',
    String(collectorPort),
    '--policies',
    POLICIES,
    '--resource',
    resource,
    '--resource',
    'http://127.0.0.1:9/other-mcp',
    // The metadata documents are served on loopback, by this test.
    '--client-metadata-allow-private',
    ...(await extra(collectorPort)),
  ]);
  children.push(collector.child);
  const admin = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${collector.url}${path}`, {
      method: 'POST',
      headers: { ...collector.admin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  const proxy = await makeIdentity(PROXY);
  const common = { shared: false, disabled: false };
  await admin('/v1/principals', {
    id: PROXY,
    kind: 'agent_instance',
    agent: 'mcp-proxy',
    publicJwks: [proxy.publicJwk],
    ...common,
  });
  await admin('/v1/principals', {
    id: WORKLOAD,
    kind: 'service',
    publicJwks: [workload.publicJwk],
    scopes: ['repo:read'],
    ...common,
  });
  for (const h of humans) await admin('/v1/principals', { kind: 'human', ...common, ...h });
  const identityFile = join(tmp.dir, `${name}-proxy.key.json`);
  writeFileSync(identityFile, JSON.stringify(proxy.identity), { mode: 0o600 });
  const configFile = join(tmp.dir, 'mcp-proxy.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      server: 'github-mcp',
      tools: { read_file: { action: 'github.get_file', resource: 'repo:{repo}' } },
    }),
  );
  const p = await startProxy(proxyPort, {
    upstream: upstream.url,
    identityFile,
    configFile,
    collector: collector.url,
  });
  children.push(p.child);
  expect(p.url).toBe(resource);
  return { collector, proxyUrl: p.url, admin };
}

/** The MCP clients' metadata documents, over HTTPS (the SDK takes only an https client id). */
async function documentServer(): Promise<string> {
  let base = '';
  const docs: Record<string, (id: string) => unknown> = {
    '/client.json': (id) => ({
      client_id: id,
      client_name: 'Provenant test MCP client',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
    // Published at one URL, claiming to be another client.
    '/impostor.json': () => ({
      client_id: `${base}/client.json`,
      redirect_uris: ['http://127.0.0.1:6666/steal'],
      token_endpoint_auth_method: 'none',
    }),
  };
  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const doc = docs[req.url ?? ''];
    res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' });
    res.end(doc ? JSON.stringify(doc(`${base}${req.url}`)) : '{}');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  });
  return base;
}

let dev: World;

beforeAll(async () => {
  // The collectors (child processes) trust the documents' self-signed certificate.
  process.env['NODE_EXTRA_CA_CERTS'] = tls.certFile;
  workload = await makeIdentity(WORKLOAD);
  upstream = await upstreamServer();
  documents = await documentServer();
  dev = await startWorld('dev', () => ['--dev-login'], [{ id: 'user:alice' }]);
}, 120_000);

afterAll(async () => {
  await stopChildren(children);
  await upstream?.close();
  for (const close of closers) await close();
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

async function token(form: Record<string, string>, world: World = dev) {
  const res = await fetch(`${world.collector.url}/v1/token`, {
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
      expectedIssuer: dev.collector.url,
    });
    const client = new Client({ name: 'nightly-report', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(dev.proxyUrl), { authProvider: provider }),
    );
    try {
      const tokens = provider.tokens();
      expect(tokens?.access_token).toBeDefined();
      const claims = decodeJwt(tokens!.access_token);
      expect(claims).toMatchObject({
        iss: dev.collector.url,
        sub: WORKLOAD,
        aud: dev.proxyUrl,
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
      const res = await fetch(`${dev.collector.url}/v1/events`, {
        headers: { authorization: `Bearer ${tokens!.access_token}` },
      });
      expect(res.status).toBe(401);
    } finally {
      await client.close();
    }
  });

  it('takes the issuer or the token endpoint as the assertion audience, each jti once', async () => {
    for (const aud of [dev.collector.url, `${dev.collector.url}/v1/token`]) {
      const assertion = await workloadAssertion({ aud });
      const form = {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        resource: dev.proxyUrl,
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
    for (const aud of [
      'http://127.0.0.1:9',
      `${dev.collector.url}/v1/token/revoke`,
      `${dev.proxyUrl}`,
    ]) {
      const r = await token(await form(aud, dev.proxyUrl));
      expect(r.status).toBe(401);
      expect(r.body['error']).toBe('invalid_client');
    }
    const r = await token(await form(dev.collector.url, 'https://elsewhere.example/mcp'));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'invalid_target', provenant_code: 'resource_unknown' });
  });

  it('the proxy refuses a credential bound to another resource', async () => {
    const other = await token({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await workloadAssertion({ aud: dev.collector.url }),
      resource: 'http://127.0.0.1:9/other-mcp',
    });
    expect(other.status).toBe(200);
    const res = await fetch(dev.proxyUrl, {
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

/**
 * An MCP client's OAuthClientProvider (the SDK's interface), identified by its metadata
 * document: it keeps what the SDK hands it and remembers where it was sent to sign in.
 */
class DocumentClientProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';
  constructor(
    readonly clientMetadataUrl: string,
    private readonly scope = 'repo:read',
  ) {}
  get redirectUrl(): string {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Provenant test MCP client',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: this.scope,
    };
  }
  state(): string {
    return 'client-state';
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.info = info;
  }
  tokens(): OAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    return this.verifier;
  }
}

/** The user's browser at the dev sign-in page: names `user`, answers the client's redirect. */
async function devSignIn(world: World, authorizeUrl: string, user: string): Promise<URL> {
  const page = await fetch(authorizeUrl, { redirect: 'manual' });
  const html = await page.text();
  expect(page.status, html).toBe(200);
  const sealed = /name="request" value="([^"]+)"/.exec(html)?.[1];
  expect(sealed).toBeDefined();
  const res = await fetch(`${world.collector.url}/v1/auth/authorize/dev-login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: world.collector.url,
    },
    body: new URLSearchParams({
      request: sealed!.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))),
      user,
    }).toString(),
  });
  await res.body?.cancel();
  expect(res.status).toBe(303);
  return new URL(res.headers.get('location')!);
}

/**
 * The SDK's whole authorization code flow through the proxy: a 401 with resource metadata,
 * discovery, the metadata document as client id, PKCE, the browser (`browse`), the code
 * exchanged with `resource`, then a tools/call with the credential.
 */
async function sdkAuthorizationCode(
  world: World,
  browse: (url: string) => Promise<URL>,
): Promise<{ provider: DocumentClientProvider; text: string }> {
  const provider = new DocumentClientProvider(`${documents}/client.json`);
  const first = new StreamableHTTPClientTransport(new URL(world.proxyUrl), {
    authProvider: provider,
  });
  await expect(new Client({ name: 'mcp-client', version: '1.0.0' }).connect(first)).rejects.toThrow(
    UnauthorizedError,
  );
  const url = provider.authorizationUrl!;
  expect(url.href.startsWith(`${world.collector.url}/v1/auth/authorize?`)).toBe(true);
  expect(Object.fromEntries(url.searchParams)).toMatchObject({
    client_id: `${documents}/client.json`,
    code_challenge_method: 'S256',
    resource: world.proxyUrl,
    redirect_uri: REDIRECT,
  });
  const back = await browse(url.href);
  expect(back.origin + back.pathname).toBe(REDIRECT);
  expect(back.searchParams.get('iss')).toBe(world.collector.url);
  expect(back.searchParams.get('state')).toBe('client-state');
  await first.finishAuth(back.searchParams.get('code')!);
  const client = new Client({ name: 'mcp-client', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(world.proxyUrl), { authProvider: provider }),
  );
  try {
    const result = await client.request(
      {
        method: 'tools/call',
        params: { name: 'read_file', arguments: { repo: 'acme/web', path: 'README.md' } },
      },
      CallToolResultSchema,
    );
    expect(result.isError).not.toBe(true);
    const text = (result.content[0] as { text: string }).text;
    return { provider, text };
  } finally {
    await client.close();
  }
}

describe("authorization code + PKCE (the SDK's OAuth client, a metadata document as client id)", () => {
  it('dev sign-in: the SDK gets a credential bound to the proxy and calls a tool through it', async () => {
    const { provider, text } = await sdkAuthorizationCode(dev, (url) =>
      devSignIn(dev, url, 'alice'),
    );
    expect(text.length).toBeGreaterThan(0);
    const claims = decodeJwt(provider.tokens()!.access_token);
    expect(claims).toMatchObject({
      iss: dev.collector.url,
      sub: 'user:alice',
      aud: dev.proxyUrl,
      scope: 'repo:read',
    });
    // The proxy's records name alice as the initiator of the call.
    const events = await fetch(
      `${dev.collector.url}/v1/events?initiator=user:alice&type=tool.called`,
      { headers: dev.collector.admin },
    );
    expect(((await events.json()) as { events: unknown[] }).events.length).toBeGreaterThan(0);
    // Bound to the proxy: the collector's own API refuses it.
    const res = await fetch(`${dev.collector.url}/v1/events`, {
      headers: { authorization: `Bearer ${provider.tokens()!.access_token}` },
    });
    expect(res.status).toBe(401);
  });

  it('advertises what the SDK needs in its metadata', async () => {
    const meta = (await (
      await fetch(`${dev.collector.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      issuer: dev.collector.url,
      authorization_endpoint: `${dev.collector.url}/v1/auth/authorize`,
      token_endpoint: `${dev.collector.url}/v1/token`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    expect(meta['grant_types_supported']).toEqual(
      expect.arrayContaining(['authorization_code', 'client_credentials']),
    );
    expect(meta['token_endpoint_auth_methods_supported']).toEqual(['private_key_jwt', 'none']);
    expect(meta).not.toHaveProperty('registration_endpoint');
  });
});

/** A code for alice by hand (the attacks): the client's own PKCE verifier. */
async function codeFor(
  world: World,
  over: Record<string, string> = {},
): Promise<{ code: string; verifier: string; form: Record<string, string> }> {
  const verifier = randomBytes(32).toString('base64url');
  const query = {
    response_type: 'code',
    client_id: `${documents}/client.json`,
    redirect_uri: REDIRECT,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: world.proxyUrl,
    scope: 'repo:read',
    state: 'st',
    ...over,
  };
  const back = await devSignIn(
    world,
    `${world.collector.url}/v1/auth/authorize?${new URLSearchParams(query).toString()}`,
    'alice',
  );
  const code = back.searchParams.get('code');
  expect(code, back.href).not.toBeNull();
  return {
    code: code!,
    verifier,
    form: {
      grant_type: 'authorization_code',
      client_id: query.client_id,
      code: code!,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      resource: world.proxyUrl,
    },
  };
}

describe('authorization code attacks', () => {
  it('a wrong code_verifier is refused; the right one works once (a replay is refused)', async () => {
    const { form } = await codeFor(dev);
    const wrong = await token({ ...form, code_verifier: randomBytes(32).toString('base64url') });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: 'invalid_grant', provenant_code: 'pkce_mismatch' });
    const ok = await token(form);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(decodeJwt(ok.body['access_token']!)).toMatchObject({ aud: dev.proxyUrl });
    const replay = await token(form);
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ error: 'invalid_grant', provenant_code: 'code_replayed' });
  });

  it("a redirect_uri other than the code's, or another client, is refused at the token endpoint", async () => {
    const { form } = await codeFor(dev);
    const moved = await token({ ...form, redirect_uri: 'http://127.0.0.1:6666/steal' });
    expect(moved.body).toMatchObject({
      error: 'invalid_grant',
      provenant_code: 'redirect_uri_mismatch',
    });
    const other = await token({ ...form, client_id: `${documents}/impostor.json` });
    expect(other.body).toMatchObject({
      error: 'invalid_client',
      provenant_code: 'client_mismatch',
    });
  });

  it('an unregistered redirect_uri is refused at the authorization endpoint, never redirected to', async () => {
    const res = await fetch(
      `${dev.collector.url}/v1/auth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: `${documents}/client.json`,
        redirect_uri: 'http://127.0.0.1:6666/steal',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      }).toString()}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'redirect_uri_unregistered',
    );
  });

  it('a resource mismatch: another resource at the token endpoint, an unknown one at authorization', async () => {
    const { form } = await codeFor(dev);
    const other = await token({ ...form, resource: 'http://127.0.0.1:9/other-mcp' });
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({
      error: 'invalid_target',
      provenant_code: 'resource_mismatch',
    });
    // The credential obtained for the proxy is refused by another resource's… and this proxy
    // refuses one for the other resource (see the client-credentials case).
    const res = await fetch(
      `${dev.collector.url}/v1/auth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: `${documents}/client.json`,
        redirect_uri: REDIRECT,
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
        resource: 'https://elsewhere.example/mcp',
        state: 'st',
      }).toString()}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({
      error: 'invalid_target',
      state: 'st',
      iss: dev.collector.url,
    });
  });

  it('a metadata document naming another client_id is refused, never redirected to', async () => {
    const res = await fetch(
      `${dev.collector.url}/v1/auth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: `${documents}/impostor.json`,
        redirect_uri: 'http://127.0.0.1:6666/steal',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      }).toString()}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'client_metadata_invalid',
    );
  });

  it('the dev sign-in form is same-origin only and names a registered human', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const page = await fetch(
      `${dev.collector.url}/v1/auth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: `${documents}/client.json`,
        redirect_uri: REDIRECT,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString()}`,
    );
    const sealed = /name="request" value="([^"]+)"/.exec(await page.text())![1]!;
    const post = (origin: string, user: string) =>
      fetch(`${dev.collector.url}/v1/auth/authorize/dev-login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({ request: sealed, user }).toString(),
      });
    const cross = await post('https://evil.example', 'alice');
    expect(cross.status).toBe(403);
    const nobody = await post(dev.collector.url, 'mallory');
    expect(nobody.status).toBe(303);
    expect(new URL(nobody.headers.get('location')!).searchParams.get('error')).toBe(
      'access_denied',
    );
    const forged = await fetch(`${dev.collector.url}/v1/auth/authorize/dev-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: dev.collector.url },
      body: new URLSearchParams({ request: 'forged', user: 'alice' }).toString(),
    });
    expect(forged.status).toBe(400);
  });
});

describe('authorization code through the OpenID provider (oidc-provider, a real sign-in)', () => {
  let oidc: World;
  let op: RunningProvider;

  beforeAll(async () => {
    const secretFile = join(tmp.dir, 'oidc-secret');
    writeFileSync(secretFile, 'mcp-oidc-secret-0123456789\n', { mode: 0o600 });
    oidc = await startWorld(
      'oidc',
      async (port) => {
        op = await startOpenIdProvider([
          {
            client_id: 'provenant',
            client_secret: 'mcp-oidc-secret-0123456789',
            redirect_uris: [`http://127.0.0.1:${port}/v1/auth/callback`],
          },
        ]);
        closers.push(() => op.close());
        return [
          '--oidc-issuer',
          op.issuer,
          '--oidc-client-id',
          'provenant',
          '--oidc-client-secret-file',
          secretFile,
          '--oidc-scope',
          'openid profile groups',
          '--oidc-role',
          'analysts=analyst',
        ];
      },
      // Outside development a human's credential carries at most its scope ceiling.
      [{ id: 'user:alice', scopes: ['repo:read'] }],
    );
  }, 120_000);

  it('the SDK signs alice in at the provider and calls a tool through the proxy', async () => {
    const { provider } = await sdkAuthorizationCode(oidc, async (url) => {
      return new URL(await signInAtProvider(new CookieJarClient(), op, url, 'alice', REDIRECT));
    });
    expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({
      iss: oidc.collector.url,
      sub: 'user:alice',
      aud: oidc.proxyUrl,
      scope: 'repo:read',
      roles: ['analyst'],
    });
  });

  it("a scope beyond the human's ceiling is refused", async () => {
    const verifier = randomBytes(32).toString('base64url');
    const query = {
      response_type: 'code',
      client_id: `${documents}/client.json`,
      redirect_uri: REDIRECT,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      resource: oidc.proxyUrl,
      scope: 'repo:read repo:admin',
    };
    const back = new URL(
      await signInAtProvider(
        new CookieJarClient(),
        op,
        `${oidc.collector.url}/v1/auth/authorize?${new URLSearchParams(query).toString()}`,
        'alice',
        REDIRECT,
      ),
    );
    expect(back.searchParams.get('iss')).toBe(oidc.collector.url);
    const r = await token(
      {
        grant_type: 'authorization_code',
        client_id: query.client_id,
        code: back.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
      },
      oidc,
    );
    expect(r.status).toBe(400);
    expect(r.body['error']).toBe('invalid_scope');
  });
});

describe("the v2 SDK's OAuth client (@modelcontextprotocol/client 2.x)", () => {
  it('authorization code via the dev sign-in, iss checked by the SDK, then a tool call', async () => {
    const provider = new DocumentClientProvider(`${documents}/client.json`);
    const first = new V2Transport(new URL(dev.proxyUrl), { authProvider: provider as never });
    await expect(
      new V2Client({ name: 'v2-client', version: '1.0.0' }).connect(first),
    ).rejects.toThrow(V2UnauthorizedError);
    const back = await devSignIn(dev, provider.authorizationUrl!.href, 'alice');
    // The whole callback: the SDK checks iss (RFC 9207) against the metadata's issuer.
    await first.finishAuth(back.searchParams);
    const client = new V2Client({ name: 'v2-client', version: '1.0.0' });
    await client.connect(
      new V2Transport(new URL(dev.proxyUrl), { authProvider: provider as never }),
    );
    try {
      const result = await client.callTool({
        name: 'read_file',
        arguments: { repo: 'acme/web', path: 'README.md' },
      });
      expect(result.isError).not.toBe(true);
      expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({
        sub: 'user:alice',
        aud: dev.proxyUrl,
      });
    } finally {
      await client.close();
    }
  });

  it('a callback whose iss is not the collector is refused by the SDK (mix-up defence)', async () => {
    const provider = new DocumentClientProvider(`${documents}/client.json`);
    const first = new V2Transport(new URL(dev.proxyUrl), { authProvider: provider as never });
    await expect(
      new V2Client({ name: 'v2-client', version: '1.0.0' }).connect(first),
    ).rejects.toThrow();
    const back = await devSignIn(dev, provider.authorizationUrl!.href, 'alice');
    back.searchParams.set('iss', 'https://attacker.example');
    await expect(first.finishAuth(back.searchParams)).rejects.toThrow(/issuer|iss/i);
  });

  it("client credentials with the v2 PrivateKeyJwtProvider (aud: the collector's issuer)", async () => {
    const provider = new V2PrivateKeyJwtProvider({
      clientId: WORKLOAD,
      privateKey: workload.identity.jwk as Record<string, unknown>,
      algorithm: 'EdDSA',
      scope: 'repo:read',
      expectedIssuer: dev.collector.url,
    });
    const client = new V2Client({ name: 'v2-workload', version: '1.0.0' });
    await client.connect(new V2Transport(new URL(dev.proxyUrl), { authProvider: provider }));
    try {
      expect(decodeJwt((await provider.tokens())!.access_token)).toMatchObject({
        sub: WORKLOAD,
        aud: dev.proxyUrl,
      });
      // Authenticated; the example policies deny a workload's own read.
      await expect(
        client.callTool({ name: 'read_file', arguments: { repo: 'acme/web', path: 'x' } }),
      ).rejects.toThrow(/Denied by policy/);
    } finally {
      await client.close();
    }
  });
});
