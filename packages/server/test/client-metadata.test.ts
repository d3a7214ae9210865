// Client ID Metadata Documents: the fetch's fences (address, redirect, size, type, time) against
// a real HTTPS server on loopback, and the document's checks.
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientMetadataResolver,
  isMetadataClientId,
  isPublicAddress,
  validateDocument,
} from '../src/signin/client-metadata.js';
import { selfSignedCertificate } from '../../../test/support/tls.js';
import { tempDir } from '../../mcp/test/helpers.js';

const tmp = tempDir('cimd');
const tls = selfSignedCertificate(tmp.dir);
let server: Server;
let base: string;
let fetches = 0;
/** What the server answers per path: status, headers, body. */
const answers = new Map<
  string,
  { status?: number; headers?: Record<string, string>; body?: string; hang?: boolean }
>();

beforeAll(async () => {
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    fetches++;
    const a = answers.get(req.url ?? '') ?? { status: 404 };
    if (a.hang) return;
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body ?? '');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  tmp.remove();
});

const doc = (clientId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    client_id: clientId,
    client_name: 'Test MCP client',
    redirect_uris: ['http://127.0.0.1:7777/callback'],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...extra,
  });

const resolver = (o: { timeoutMs?: number } = {}) =>
  new ClientMetadataResolver({ allowPrivateAddresses: true, ca: tls.cert, ...o });

describe('client metadata documents', () => {
  it('fetches, validates and caches a document (for its max-age)', async () => {
    const id = `${base}/good.json`;
    answers.set('/good.json', { body: doc(id), headers: { 'cache-control': 'max-age=600' } });
    const r = resolver();
    const before = fetches;
    expect(await r.resolve(id)).toEqual({
      clientId: id,
      redirectUris: ['http://127.0.0.1:7777/callback'],
      clientName: 'Test MCP client',
    });
    await r.resolve(id);
    expect(fetches - before).toBe(1);
  });

  it('resolves a host name itself, connecting only to the addresses it checked', async () => {
    const id = `https://localhost:${new URL(base).port}/by-name.json`;
    answers.set('/by-name.json', { body: doc(id) });
    expect((await resolver().resolve(id)).clientId).toBe(id);
  });

  it('refuses loopback and private addresses unless allowed (by literal and by name)', async () => {
    const strict = new ClientMetadataResolver({ ca: tls.cert });
    answers.set('/good2.json', { body: doc(`${base}/good2.json`) });
    const before = fetches;
    await expect(strict.resolve(`${base}/good2.json`)).rejects.toMatchObject({
      code: 'client_metadata_address_refused',
    });
    const port = new URL(base).port;
    await expect(strict.resolve(`https://localhost:${port}/good2.json`)).rejects.toMatchObject({
      code: 'client_metadata_address_refused',
    });
    expect(fetches).toBe(before);
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '169.254.169.254',
      '192.168.0.1',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '100.64.0.1',
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
    for (const a of ['93.184.216.34', '2606:4700::1111']) expect(isPublicAddress(a), a).toBe(true);
  });

  it('refuses a redirect, another status, another type, a large or slow answer', async () => {
    answers.set('/redirect.json', { status: 302, headers: { location: `${base}/good.json` } });
    answers.set('/gone.json', { status: 404 });
    answers.set('/html.json', { headers: { 'content-type': 'text/html' }, body: '<p>' });
    answers.set('/big.json', { body: `{"x":"${'a'.repeat(10_000)}"}` });
    answers.set('/slow.json', { hang: true });
    const r = resolver({ timeoutMs: 300 });
    for (const [path, why] of [
      ['/redirect.json', /redirect/],
      ['/gone.json', /404/],
      ['/html.json', /application\/json/],
      ['/big.json', /larger than/],
      ['/slow.json', /no answer within/],
    ] as const) {
      await expect(r.resolve(`${base}${path}`), path).rejects.toMatchObject({
        code: 'client_metadata_unavailable',
        message: expect.stringMatching(why),
      });
    }
  });

  it('refuses a document naming another client_id (compared unnormalized)', async () => {
    const id = `${base}/mismatch.json`;
    answers.set('/mismatch.json', { body: doc(`${base}/other.json`) });
    await expect(resolver().resolve(id)).rejects.toMatchObject({ code: 'client_metadata_invalid' });
    expect(() => validateDocument(JSON.parse(doc(`${id}/`)), id)).toThrow(/not the URL/);
    for (const bad of [
      { client_secret: 'x' },
      { token_endpoint_auth_method: 'client_secret_basic' },
      { token_endpoint_auth_method: 'private_key_jwt' },
      { redirect_uris: [] },
      { redirect_uris: ['not a url'] },
      { redirect_uris: ['https://app.example/cb#frag'] },
      { grant_types: ['client_credentials'] },
      { response_types: ['token'] },
    ]) {
      expect(() => validateDocument(JSON.parse(doc(id, bad)), id), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'client_metadata_invalid' }),
      );
    }
    expect(() => validateDocument([], id)).toThrow(/JSON object/);
  });

  it('takes as a client id only an https URL with a path, without fragment, credentials or dot segments', () => {
    for (const ok of ['https://app.example/client.json', 'https://app.example/a/b?x=1']) {
      expect(isMetadataClientId(ok), ok).toBe(true);
    }
    for (const bad of [
      'http://app.example/client.json',
      'https://app.example',
      'https://app.example/',
      'https://app.example/c#f',
      'https://u:p@app.example/c',
      'https://app.example/a/../c',
      'https://app.example/./c',
      'provenant-cli',
      `https://app.example/${'a'.repeat(3000)}`,
    ]) {
      expect(isMetadataClientId(bad), bad).toBe(false);
    }
  });
});
