#!/usr/bin/env node
// Benchmarks of @provenant/sdk (issue 5), each beside its floor in the same run:
//
//   node bench/sdk.js [--quick] [--json]
//
// 1. Hot-path cost of one recorded tool call (wrapper on a no-op function, decision from an
//    embedded PDP, so no network on the hot path) vs pino logging a ~1 KB object to /dev/null
//    vs creating and ending an OpenTelemetry span with 15 attributes under BatchSpanProcessor.
//    Each runs in chunks of calls with a yield (setImmediate) between chunks, so background work
//    (pino's async writes, the span processor's exports, the SDK's batch delivery) gets to run;
//    "caller" is the time inside the chunks, "total CPU" is the process CPU over the whole run
//    including that background work, per call. Targets: SDK caller cost ≤ 0.5× pino's and
//    ≤ 2× the span's.
// 2. Sustained records/s from this (agent) process to a local collector in a child process,
//    remote decisions (cached), with no loss (every record acknowledged, none rejected), and
//    bounded memory (queue depth and RSS sampled during the run).
//
// Needs a build (`npm run build`). Exports `run({ quick })` for bench/run.js.
/* global Response */
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { clearInterval, setInterval } from 'node:timers';
import { URLSearchParams, pathToFileURL } from 'node:url';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import { createRecorder } from '@provenant/sdk';

const CHUNK = 1000;

/** A ~1 KB object: what pino logs, and about the size of the SDK's tool.called record. */
function sampleObject(i) {
  return {
    schema: 'provenant.event/v1',
    id: randomUUID(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    cause: { kind: 'agent_decision', record_id: '0192f3c4-5b6a-7c00-8d3e-4f5a6b7c8d9e' },
    actor: {
      id: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      kind: 'agent_instance',
      agent: 'researcher',
      version: '2.1.0',
      instance: '7f3a',
    },
    action: {
      name: 'github.get_file',
      tool: { server: 'github-mcp', name: 'get_file', call_id: `call_${i}` },
      resource: 'repo:acme/payments',
      risk: 'low',
      args_digest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    },
    policy: {
      decision_id: '0192f3c4-5b6a-7c00-8d3e-4f5a6b7c8d9f',
      engine: 'cedar',
      decision: 'allow',
    },
    outcome: {
      status: 'success',
      duration_ms: 0.012,
      result_digest: 'sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752',
    },
    trace: {
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      parent_span_id: '00f067aa0ba902b8',
    },
    task_id: 'task-981',
    session_id: '0192f3c4-5b6a-7c00-8d3e-4f5a6b7c8da0',
    source: { producer: '@provenant/sdk@0.1.0', host: 'bench-host' },
  };
}

/** Runs `op` n times in chunks with yields; caller time (inside chunks) and total CPU per op. */
async function measure(n, op) {
  // Warm up (JIT, pools) outside the measurement.
  for (let i = 0; i < Math.min(n, 5 * CHUNK); i++) {
    await op(i);
    if (i % CHUNK === CHUNK - 1) await yieldNow();
  }
  await settle();
  let inside = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let done = 0; done < n; done += CHUNK) {
    const t0 = performance.now();
    for (let i = done; i < done + CHUNK; i++) await op(i);
    inside += performance.now() - t0;
    await yieldNow();
  }
  const cpu = process.cpuUsage(cpu0);
  return { callerUs: (inside * 1000) / n, cpuUsTail: cpu, wall0, n };
}

async function settle() {
  for (let i = 0; i < 5; i++) await yieldNow();
}

function finish(m, drainedCpu) {
  const cpu = drainedCpu ?? m.cpuUsTail;
  return { callerUs: m.callerUs, cpuUs: (cpu.user + cpu.system) / m.n };
}

async function benchPino(n, obj) {
  const dest = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
  const logger = pino(dest);
  const cpu0 = process.cpuUsage();
  const m = await measure(n, (i) => {
    logger.info(obj(i));
  });
  dest.flushSync();
  const cpu = process.cpuUsage(cpu0);
  return finish(m, scale(cpu, m.n, n));
}

async function benchSpan(n) {
  const exporter = {
    export: (_spans, cb) => cb({ code: 0 }),
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const processor = new BatchSpanProcessor(exporter, {
    maxQueueSize: 4096,
    maxExportBatchSize: 512,
  });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('bench');
  const attrs = {};
  for (let k = 0; k < 15; k++) attrs[`attr.${k}`] = k % 3 === 0 ? k : `value-${k}`;
  const cpu0 = process.cpuUsage();
  const m = await measure(n, () => {
    tracer.startSpan('execute_tool get_file', { attributes: attrs }).end();
  });
  await provider.forceFlush();
  const cpu = process.cpuUsage(cpu0);
  await provider.shutdown();
  return finish(m, scale(cpu, m.n, n));
}

// The warm-up also burns CPU inside cpu0..end; count it as calls (it ran the same op).
function scale(cpu, measured, n) {
  const calls = measured + Math.min(n, 5 * CHUNK);
  return { user: (cpu.user * measured) / calls, system: (cpu.system * measured) / calls };
}

/** The recorder with an embedded PDP, delivering to a sink that acknowledges without I/O. */
async function benchSdk(n) {
  const identity = await makeIdentity('spiffe://acme.test/agent/researcher/instance/bench');
  const accepted = JSON.stringify({ accepted: [], rejected: [] });
  // A credential-shaped token (the SDK decodes, never verifies, its own credential).
  const token = fakeCredential();
  const fakeFetch = async (url) => {
    if (String(url).endsWith('/v1/token')) {
      return new Response(JSON.stringify({ access_token: token }), { status: 200 });
    }
    if (String(url).includes('oauth-authorization-server')) {
      return new Response(JSON.stringify({ token_endpoint: 'http://bench.invalid/v1/token' }));
    }
    return new Response(accepted, { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const recorder = createRecorder({
    collectorUrl: 'http://bench.invalid',
    identity,
    spool: false,
    fetch: fakeFetch,
    pdp: {
      decide: () => ({
        decision: 'allow',
        decisionId: randomUUID(),
        engine: 'embedded',
        determining: [],
      }),
    },
  });
  const noop = recorder.tool(
    'github.get_file',
    { resource: 'repo:acme/payments', risk: 'low', server: 'github-mcp' },
    () => undefined,
  );
  const args = { repo: 'acme/payments', path: 'README.md' };
  const session = await recorder.session({ initiatorToken: 'x', taskId: 'bench' });
  const cpu0 = process.cpuUsage();
  const m = await session.run(() => measure(n, () => noop(args)));
  await recorder.flush();
  const cpu = process.cpuUsage(cpu0);
  const stats = recorder.stats();
  await recorder.close();
  return { ...finish(m, scale(cpu, m.n, n)), recorded: stats.recorded };
}

function fakeCredential() {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'EdDSA', kid: 'k' })}.${b64({
    iss: 'http://bench.invalid',
    sub: 'user:alice',
    aud: 'provenant',
    jti: randomUUID(),
    iat: now,
    exp: now + 3600,
    scope: 'repo:read',
    act: { sub: 'spiffe://acme.test/agent/researcher/instance/bench' },
  })}.c2ln`;
}

async function makeIdentity(principal) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return {
    identity: { principal, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' } },
    publicJwk: { ...pub, kid, alg: 'EdDSA' },
  }.identity;
}

// ---- sustained delivery to a real collector -------------------------------------------------

const COLLECTOR_CHILD = `
import { startCollector } from '@provenant/server';
const c = await startCollector({
  dataDir: process.env.DATA, host: '127.0.0.1', port: 0, policiesDir: process.env.POLICIES,
  identity: { devLogin: true }, adminToken: process.env.ADMIN,
});
process.stdout.write(c.url + '\\n');
process.on('SIGTERM', async () => { await c.close(); process.exit(0); });
`;

async function benchSustained(n) {
  const dataDir = mkdtempSync(join(tmpdir(), 'provenant-bench-sdk-'));
  const root = new URL('..', import.meta.url);
  const admin = randomUUID();
  const child = spawn(process.execPath, ['--input-type=module', '-e', COLLECTOR_CHILD], {
    cwd: root,
    env: {
      ...process.env,
      DATA: dataDir,
      POLICIES: new URL('examples/policies/', root).pathname,
      ADMIN: admin,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(d.toString().trim()));
      child.once('exit', (code) => reject(new Error(`collector exited ${code}`)));
    });
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
      crv: 'Ed25519',
      extractable: true,
    });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    const principal = 'spiffe://acme.test/agent/researcher/instance/bench';
    const identity = { principal, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' } };
    const post = (path, body, headers) => fetch(`${url}${path}`, { method: 'POST', body, headers });
    const admHeaders = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    await post(
      '/v1/principals',
      JSON.stringify({ id: 'user:alice', kind: 'human', shared: false, disabled: false }),
      admHeaders,
    );
    await post(
      '/v1/principals',
      JSON.stringify({
        id: principal,
        kind: 'agent_instance',
        agent: 'researcher',
        publicJwks: [{ ...pub, kid, alg: 'EdDSA' }],
        shared: false,
        disabled: false,
      }),
      admHeaders,
    );
    const login = await (
      await post(
        '/v1/token',
        new URLSearchParams({
          grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
          username: 'alice',
          scope: 'repo:read',
        }).toString(),
        { 'content-type': 'application/x-www-form-urlencoded' },
      )
    ).json();
    const size0 = (await (await fetch(`${url}/healthz`)).json()).log.size;
    const recorder = createRecorder({
      collectorUrl: url,
      identity,
      spool: { dir: join(dataDir, 'spool'), fsync: 'batch' },
      batch: { maxRecords: 500, maxDelayMs: 20 },
      memory: { maxRecords: 10_000 },
      overflow: 'block',
    });
    const read = recorder.tool(
      'github.get_file',
      { resource: 'repo:acme/payments', risk: 'low' },
      (a) => a.path.length,
    );
    const session = await recorder.session({
      initiatorToken: login.access_token,
      taskId: 'bench-sustained',
    });
    let maxQueued = 0;
    const rss0 = process.memoryUsage().rss;
    let maxRss = 0;
    let maxHeap = 0;
    const sampler = setInterval(() => {
      maxQueued = Math.max(maxQueued, recorder.stats().queued);
      const mem = process.memoryUsage();
      maxRss = Math.max(maxRss, mem.rss);
      maxHeap = Math.max(maxHeap, mem.heapUsed);
    }, 20);
    const t0 = performance.now();
    await session.run(async () => {
      for (let i = 0; i < n; i++) {
        await read({ repo: 'acme/payments', path: `src/file-${i}.ts` });
        if (i % 200 === 199) await yieldNow();
      }
    });
    const drained = await recorder.drain(120_000);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const stats = recorder.stats();
    await recorder.close();
    const size1 = (await (await fetch(`${url}/healthz`)).json()).log.size;
    return {
      n,
      perSec: n / seconds,
      seconds,
      drained,
      delivered: stats.delivered,
      rejected: stats.rejected,
      dropped: stats.dropped,
      spooled: stats.spooled,
      ledgerGrowth: size1 - size0,
      maxQueued,
      maxRssMB: maxRss / 2 ** 20,
      startRssMB: rss0 / 2 ** 20,
      maxHeapMB: maxHeap / 2 ** 20,
      lossless:
        drained &&
        stats.rejected === 0 &&
        stats.dropped === 0 &&
        stats.delivered === stats.recorded,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- report -----------------------------------------------------------------------------------

/** The sustained run in a fresh agent process, so its memory is its own. */
async function sustainedInChild(n) {
  const child = spawn(
    process.execPath,
    [new URL(import.meta.url).pathname, '--sustained-child', String(n)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`the sustained benchmark exited ${code}`);
  return JSON.parse(out);
}

export async function run({ quick = false } = {}) {
  const n = quick ? 20_000 : 200_000;
  const obj = (i) => sampleObject(i);
  const objects = Array.from({ length: 64 }, (_, i) => obj(i));
  const pinoR = await benchPino(n, (i) => objects[i & 63]);
  const spanR = await benchSpan(n);
  const sdkR = await benchSdk(n);
  const sustained = await sustainedInChild(quick ? 20_000 : 100_000);
  return { quick, n, pino: pinoR, span: spanR, sdk: sdkR, sustained };
}

export function table(r) {
  const us = (v) => `${v.toFixed(2)} µs`;
  const rows = [
    ['benchmark', 'caller cost / call', 'total CPU / call', 'target', 'verdict'],
    ['pino, ~1 KB object → /dev/null (async)', us(r.pino.callerUs), us(r.pino.cpuUs), 'floor', ''],
    [
      'OTel span, 15 attributes, BatchSpanProcessor',
      us(r.span.callerUs),
      us(r.span.cpuUs),
      'floor',
      '',
    ],
    [
      'SDK recorded tool call (no-op fn, embedded PDP)',
      us(r.sdk.callerUs),
      us(r.sdk.cpuUs),
      '≤ 0.5× pino, ≤ 2× span',
      `${(r.sdk.callerUs / r.pino.callerUs).toFixed(2)}× pino, ${(r.sdk.callerUs / r.span.callerUs).toFixed(2)}× span: ${
        r.sdk.callerUs <= 0.5 * r.pino.callerUs && r.sdk.callerUs <= 2 * r.span.callerUs
          ? 'met'
          : 'missed'
      }`,
    ],
    [
      `sustained, ${r.sustained.n.toLocaleString('en-US')} tool calls → local collector`,
      `${Math.round(r.sustained.perSec).toLocaleString('en-US')} records/s`,
      `max queue ${r.sustained.maxQueued}, max heap ${r.sustained.maxHeapMB.toFixed(0)} MB, max RSS ${r.sustained.maxRssMB.toFixed(0)} MB (${r.sustained.startRssMB.toFixed(0)} at start)`,
      'no loss, bounded memory',
      `${r.sustained.lossless ? 'no loss' : 'LOSS'} (delivered ${r.sustained.delivered}, rejected ${r.sustained.rejected}, ledger +${r.sustained.ledgerGrowth})`,
    ],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row, k) => {
      const line = `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
      return k === 0 ? `${line}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|` : line;
    })
    .join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'sustained-child': { type: 'boolean', default: false },
    },
  });
  if (values['sustained-child']) {
    console.log(JSON.stringify(await benchSustained(Number(positionals[0]))));
  } else {
    const r = await run({ quick: values.quick });
    console.log(values.json ? JSON.stringify(r, null, 2) : table(r));
  }
}
