import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Log, MemoryStorage, parseSignerKey } from '@provenant/ledger';
import { buildApp, DEFAULT_LIMITS, startCollector } from '../src/index.js';
import type { CollectorLimits } from '../src/index.js';
import { Admission } from '../src/transport/admission.js';
import { HSTS } from '../src/transport/guards.js';
import { KEYS, record, ADMIN_TOKEN, asAdmin } from './helpers.js';
import { selfSignedCertificate } from '../../../test/support/tls.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The status line and headers of the first answer on `socket` (lowercase names). */
function answerHead(socket: Socket): Promise<{ status: number; headers: Record<string, string> }> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers });
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before an answer: ${text}`)));
  });
}

/** Resolves once the server has closed `socket` (reading it, so its end is seen). */
function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve()).resume();
  });
}

/** A POST's head announcing `length` bytes of NDJSON; the body is the caller's to send. */
const postHead = (port: number, length: number, extra = '') =>
  `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${length}\r\n${extra}\r\n`;

async function memoryApp(limits: Partial<CollectorLimits>) {
  const storage = new MemoryStorage();
  const log = await Log.open({ storage, signer: parseSignerKey(KEYS.signerKey) });
  const app = buildApp({
    log,
    storage,
    limits: { ...DEFAULT_LIMITS, ...limits },
    adminToken: ADMIN_TOKEN,
    anonymousIngest: 'asserted',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const health = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/healthz`, { headers: asAdmin })).json()) as {
      admission: { bodies: number; bytes: number; refused: number };
    };
  /** Resolves once the collector holds `n` admitted bodies (its own count, not a delay). */
  const admitted = async (n: number) => {
    while ((await health()).admission.bodies !== n) await new Promise((r) => setImmediate(r));
  };
  return { app, port, log, health, admitted };
}

describe('the Host and Origin of a request (startCollector on loopback)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'provenant-transport-'));
  const collector = await startCollector({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    allowedHosts: ['ledger.acme.example'],
    allowedOrigins: ['https://console.acme.example'],
  });
  const port = Number(new URL(collector.url).port);
  afterAll(async () => {
    await collector.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const inject = (headers: Record<string, string>, url = '/healthz') =>
    collector.app.inject({ method: 'GET', url, headers });

  it('refuses a rebound name (Host: evil.example) with 403 host_not_allowed', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example`]) {
      const res = await inject({ host });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('host_not_allowed');
    }
  });

  it('answers its own names and the allowed ones', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'ledger.acme.example']) {
      expect((await inject({ host })).statusCode).toBe(200);
    }
  });

  it('refuses a cross-site Origin with 403 origin_not_allowed, before any credential', async () => {
    const res = await collector.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: {
        host: `127.0.0.1:${port}`,
        origin: 'http://evil.example',
        authorization: 'Bearer not-a-credential',
        'content-type': 'application/json',
      },
      payload: 'not json either',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('origin_not_allowed');
    expect(collector.log.size).toBe(0);
  });

  it('answers its own origin and the allowed one; refuses null and another port', async () => {
    const host = `127.0.0.1:${port}`;
    expect((await inject({ host, origin: `http://127.0.0.1:${port}` })).statusCode).toBe(200);
    expect((await inject({ host, origin: 'https://console.acme.example' })).statusCode).toBe(200);
    for (const origin of ['null', `http://127.0.0.1:${port + 1}`]) {
      expect((await inject({ host, origin })).json().error.code).toBe('origin_not_allowed');
    }
  });

  it('refuses a rebound name on a real socket before reading the announced body', async () => {
    const socket = await open(port);
    const head = answerHead(socket);
    socket.write(
      `POST /v1/events HTTP/1.1\r\nHost: evil.example:${port}\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n`,
    );
    expect((await head).status).toBe(403);
    socket.destroy();
  });

  it('refuses an allowed-hosts entry that is not a name, before opening anything', async () => {
    await expect(
      startCollector({ dataDir, host: '127.0.0.1', port: 0, allowedHosts: ['http://x/'] }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
  });
});

describe('admission of request bodies', () => {
  it('answers 503 overloaded with Retry-After past the bodies in flight, without the body', async () => {
    const { app, port, log, admitted } = await memoryApp({ maxBodiesInFlight: 2 });
    try {
      const lines = [1, 2].map(() => `${JSON.stringify(record())}\n`);
      const holders = await Promise.all([open(port), open(port)]);
      const answers = holders.map(answerHead);
      // Each sends its head and part of a record, then waits: both hold a place.
      holders.forEach((s, i) => s.write(postHead(port, lines[i]!.length) + lines[i]!.slice(0, 10)));
      await admitted(2);

      const third = await open(port);
      const refused = answerHead(third);
      third.write(postHead(port, 5_000_000)); // no byte of the body is ever sent
      const head = await refused;
      expect(head.status).toBe(503);
      expect(head.headers['retry-after']).toBe('1');
      // The connection ends with the answer: none of the 5 MB is read.
      expect(head.headers['connection']).toBe('close');
      await closed(third);

      // The admitted ones finish and are acknowledged; their records are stored.
      holders.forEach((s, i) => s.write(lines[i]!.slice(10)));
      expect((await Promise.all(answers)).map((a) => a.status)).toEqual([200, 200]);
      for (const s of holders) s.destroy();
      await admitted(0);
      expect(log.size).toBe(2);
      const after = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(record()),
      });
      expect(after.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('answers 503 past the bytes in flight, counting a chunked body as the body limit', async () => {
    const { app, port, admitted } = await memoryApp({
      bodyLimit: 1_000_000,
      maxBodyBytesInFlight: 1_500_000,
    });
    try {
      const holder = await open(port);
      holder.write(
        `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n`,
      );
      await admitted(1);
      const second = await open(port);
      const refused = answerHead(second);
      second.write(postHead(port, 600_000));
      expect((await refused).status).toBe(503);
      // A small one still fits beside it.
      const small = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(record()),
      });
      expect(small.status).toBe(200);
      holder.destroy();
      second.destroy();
      await admitted(0);
    } finally {
      await app.close();
    }
  });

  it('answers 429 rate_limited past the bodies one client may have in flight', async () => {
    const { app, port, admitted } = await memoryApp({ maxBodiesPerClient: 1 });
    try {
      const holder = await open(port);
      holder.write(postHead(port, 100) + '{');
      await admitted(1);
      const second = await open(port);
      const refused = answerHead(second);
      second.write(postHead(port, 100));
      const head = await refused;
      expect(head.status).toBe(429);
      expect(head.headers['retry-after']).toBe('1');
      holder.destroy();
      second.destroy();
      await admitted(0);
    } finally {
      await app.close();
    }
  });

  it('counts, refuses and gives places back (the rule alone)', () => {
    const a = new Admission({
      ...DEFAULT_LIMITS,
      bodyLimit: 100,
      maxBodiesInFlight: 3,
      maxBodyBytesInFlight: 150,
      maxBodiesPerConnection: 1,
      maxBodiesPerClient: 2,
    });
    const c1 = {};
    const c2 = {};
    const c3 = {};
    const r1 = a.admit('x', c1, 100);
    expect(typeof r1).toBe('function');
    expect(a.admit('x', c1, 1)).toBe('rate_limited'); // a second body on the same connection
    expect(a.admit('y', c2, 60)).toBe('overloaded'); // 160 bytes > 150
    const r2 = a.admit('y', c2, 50);
    expect(a.admit('x', c3, undefined)).toBe('overloaded');
    (r1 as () => void)();
    (r1 as () => void)(); // a second call gives nothing back twice
    expect(a.load()).toEqual({ bodies: 1, bytes: 50, refused: 3 });
    expect(typeof a.admit('x', c3, undefined)).toBe('function'); // 50 + 100 (chunked) fits
    (r2 as () => void)();
    // One body larger than the budget passes alone.
    const big = new Admission({ ...DEFAULT_LIMITS, maxBodyBytesInFlight: 10 });
    expect(typeof big.admit('z', {}, 1000)).toBe('function');
  });
});

describe('connection limits and timeouts', () => {
  it('closes a connection whose headers do not arrive in time, and keeps answering', async () => {
    const { app, port } = await memoryApp({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    try {
      const sockets = await Promise.all(Array.from({ length: 20 }, () => open(port)));
      for (const s of sockets) s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await Promise.all(sockets.map(closed));
    } finally {
      await app.close();
    }
  });

  it('closes a connection whose body does not arrive in time, giving its place back', async () => {
    const { app, port, admitted } = await memoryApp({
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
    });
    try {
      const s = await open(port);
      s.on('error', () => {});
      s.write(postHead(port, 1000) + '{"partial":');
      await admitted(1);
      await closed(s);
      await admitted(0);
    } finally {
      await app.close();
    }
  });

  it('closes connections past the maximum at once', async () => {
    const { app, port } = await memoryApp({ maxConnections: 2 });
    try {
      const kept = await Promise.all([open(port), open(port)]);
      const extra = await open(port);
      await closed(extra);
      expect(kept.every((s) => !s.destroyed)).toBe(true);
      for (const s of kept) s.destroy();
    } finally {
      await app.close();
    }
  });
});

describe('TLS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'provenant-tls-'));
  const { cert, key } = selfSignedCertificate(dir);
  const collector = await startCollector({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    tls: { cert, key },
  });
  afterAll(async () => {
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; hsts: string | undefined; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${collector.url}${path}`, { ca: cert, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            hsts: res.headers['strict-transport-security'],
            body,
          }),
        );
      });
      req.once('error', reject);
      req.end();
    });

  it('serves HTTPS at an https URL, with HSTS on answers and refusals alike', async () => {
    expect(collector.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(collector.identity.config.issuer).toBe(collector.url);
    const ok = await get('/healthz');
    expect(ok.status).toBe(200);
    expect(ok.hsts).toBe(HSTS);
    const refused = await get('/healthz', { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(refused.hsts).toBe(HSTS);
    const missing = await get('/v1/no-such-route');
    expect(missing.status).toBe(404);
    expect(missing.hsts).toBe(HSTS);
  });

  it('speaks no plain HTTP on the TLS port', async () => {
    const plain = fetch(collector.url.replace('https:', 'http:') + '/healthz');
    await expect(plain).rejects.toThrow();
  });
});
