/**
 * The collector as a real process under slow clients and a burst (issue 19, items 4 and 5):
 * stalled sockets hold neither the event loop nor memory, and a burst past what it is sized for
 * is refused from the headers, before any body is read. Every wait is on a state (an answer, a
 * closed socket, the collector's own admission count); the timeouts only bound the test.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@provenant/core';
import { record } from '../../packages/server/test/helpers.js';
import { startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';
import { selfSignedCertificate } from '../support/tls.js';

const MiB = 1024 * 1024;

function rssKb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the status of the first answer, or null if the server closes without one. */
function firstStatus(socket: Socket): Promise<number | null> {
  let text = '';
  return new Promise((resolve) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    socket.once('close', () => resolve(null));
    socket.on('error', () => {});
  });
}

const closed = (s: Socket) =>
  new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

const written = (s: Socket, data: string | Buffer) =>
  new Promise<void>((resolve) => s.write(data, () => resolve()));

/** The collector's /healthz, read with its admin token (the full answer, whatever the roles). */
async function health(url: string, dataDir: string) {
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const res = await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: res.status,
    body: (await res.json()) as { admission: { bodies: number; refused: number } },
  };
}

describe('slow clients (slow-loris) against a collector process', () => {
  let dir: string;
  let collector: CollectorProcess;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'provenant-loris-'));
    // The default body limits; short timeouts only so that the test ends sooner.
    collector = await startCollectorProcess(dir, [
      '--limit',
      'headers-timeout-ms=2000',
      '--limit',
      'request-timeout-ms=6000',
    ]);
    port = Number(new URL(collector.url).port);
  });
  afterAll(async () => {
    collector.child.kill('SIGKILL');
    await collector.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays responsive, holds bounded memory, and cuts the stalled sockets', async () => {
    const pid = collector.child.pid!;
    const before = rssKb(pid);
    const heads = await Promise.all(Array.from({ length: 40 }, () => open(port)));
    const bodies = await Promise.all(Array.from({ length: 40 }, () => open(port)));
    for (const s of [...heads, ...bodies]) s.on('error', () => {});
    const answers = bodies.map(firstStatus);
    const headsClosed = heads.map((s) => {
      s.resume();
      return closed(s);
    });
    // Headers that never end, sent a piece at a time.
    await Promise.all(
      heads.map((s) => written(s, `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)),
    );
    // Bodies announced at 8,000,000 bytes, 7,000,000 sent, the rest never.
    const chunk = Buffer.alloc(MiB, 0x20);
    await Promise.all(
      bodies.map(async (s) => {
        await written(
          s,
          `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 8000000\r\n\r\n`,
        );
        for (let i = 0; i < 7 && !s.destroyed; i++) await written(s, chunk);
      }),
    );

    const during = await health(collector.url, dir);
    expect(during.status).toBe(200);
    expect(during.body.admission.bodies).toBeGreaterThan(0);
    expect(during.body.admission.bodies).toBeLessThanOrEqual(8);

    // Everything past the admitted bodies was refused at once: answered 503, or cut while its
    // client still sent (the connection ends with the refusal, and a reset can overtake the
    // answer); the rest are cut by the request timeout (408 or closed), the headers by theirs.
    const statuses = await Promise.all(answers);
    expect(statuses.filter((s) => s === 503 || s === null).length).toBeGreaterThanOrEqual(40 - 8);
    expect(statuses.every((s) => s === 503 || s === 408 || s === null)).toBe(true);
    await Promise.all(headsClosed);
    for (const s of bodies) s.destroy();

    const after = rssKb(pid);
    // 40 such bodies held whole are 280 MiB; admitted ones are bounded by 8 MiB declared.
    expect((after.hwm - before.rss) / 1024).toBeLessThan(200);
    // Each place is given back as its connection closes.
    while ((await health(collector.url, dir)).body.admission.bodies !== 0) {
      await new Promise((r) => setImmediate(r));
    }
  });
});

describe('a burst past what the collector is sized for', () => {
  let dir: string;
  let collector: CollectorProcess;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'provenant-burst-'));
    collector = await startCollectorProcess(dir, [
      '--limit',
      'max-bodies-in-flight=2',
      '--anonymous-ingest',
      'asserted',
    ]);
    port = Number(new URL(collector.url).port);
  });
  afterAll(async () => {
    collector.child.kill('SIGKILL');
    await collector.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses with 503 and Retry-After before reading the body; what it acknowledged is stored', async () => {
    const ids = [uuidv7(), uuidv7()];
    // Low-risk actions: an anonymous producer's records are kept as asserted.
    const action = {
      name: 'github.get_file',
      resource: 'repo:acme/web',
      class: { privileged: false, irreversible: false, external: false },
      risk: 'low',
    };
    const lines = ids.map((id) => `${JSON.stringify(record({ id, action }))}\n`);
    const holders = await Promise.all([open(port), open(port)]);
    const answers = holders.map(firstStatus);
    await Promise.all(
      holders.map((s, i) =>
        written(
          s,
          `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${lines[i]!.length}\r\n\r\n${lines[i]!.slice(0, 20)}`,
        ),
      ),
    );
    while ((await health(collector.url, dir)).body.admission.bodies < 2) {
      await new Promise((r) => setImmediate(r));
    }

    // Twenty more clients announce 5 MB each and send none of it: answered all the same.
    const refused = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const s = await open(port);
        let text = '';
        const head = new Promise<string>((resolve) =>
          s.on('data', (d: Buffer) => {
            text += d.toString('latin1');
            if (text.includes('\r\n\r\n')) resolve(text);
          }),
        );
        s.write(
          `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 5000000\r\n\r\n`,
        );
        const answer = await head;
        s.destroy();
        return answer;
      }),
    );
    for (const answer of refused) {
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(answer).toMatch(/\r\nretry-after: 1\r\n/i);
    }
    expect((await health(collector.url, dir)).body.admission.refused).toBeGreaterThanOrEqual(20);

    // The admitted ones finish, are acknowledged, and their records are stored.
    await Promise.all(holders.map((s, i) => written(s, lines[i]!.slice(20))));
    expect(await Promise.all(answers)).toEqual([200, 200]);
    for (const s of holders) s.destroy();
    const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
    for (const id of ids) {
      const res = await fetch(`${collector.url}/v1/events/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
    }
  });
});

describe('serve --tls-cert --tls-key', () => {
  it('serves HTTPS with HSTS, announced at an https URL, and refuses a rebound name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provenant-tls-e2e-'));
    const { cert, certFile, keyFile } = selfSignedCertificate(dir);
    const collector = await startCollectorProcess(join(dir, 'data'), [
      '--tls-cert',
      certFile,
      '--tls-key',
      keyFile,
    ]);
    try {
      expect(collector.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const get = (host?: string) =>
        new Promise<{ status: number; hsts: string | undefined }>((resolve, reject) => {
          const req = httpsRequest(
            `${collector.url}/healthz`,
            { ca: cert, ...(host ? { headers: { host }, servername: 'localhost' } : {}) },
            (res) => {
              res.resume();
              res.on('end', () =>
                resolve({
                  status: res.statusCode!,
                  hsts: res.headers['strict-transport-security'],
                }),
              );
            },
          );
          req.once('error', reject);
          req.end();
        });
      expect(await get()).toEqual({ status: 200, hsts: 'max-age=31536000' });
      expect(await get('evil.example')).toEqual({ status: 403, hsts: 'max-age=31536000' });
    } finally {
      collector.child.kill('SIGTERM');
      await collector.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
