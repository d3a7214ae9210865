#!/usr/bin/env node
// Cluster load and soak (issue 8, item 5): the same load generator, in the same run, against
// (a) one collector on SQLite, (b) one collector on PostgreSQL (no --cluster, for reference) and
// (c) two collectors on one PostgreSQL with --cluster (load spread over both); then a soak of the
// two-collector cluster at 70% of its measured maximum, open loop, with the RSS of each member at
// the start and end, the ingest latency and the time from acknowledgement to inclusion.
//
//   node bench/cluster.js [--quick] [--no-write] [--clients N] [--batch N] [--duration S]
//                         [--soak S] [--soak-fraction F]
//
// PostgreSQL is a throwaway server (initdb + pg_ctl in a temp folder, removed afterwards; fsync
// on) unless PROVENANT_TEST_PG_URL names one. Needs a build first: `npx tsc -b`.
import { Buffer } from 'node:buffer';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { uuidv7 } from '@provenant/core';
import { recordGenerator } from './lib/records.js';
import { keepAliveAgent, send } from './lib/http.js';
import { startPostgres } from './lib/postgres.js';
import {
  fmtInt,
  machine,
  procCpu,
  procStatus,
  removeDir,
  startCollector,
  summarize,
  tempDir,
  writeSection,
} from './lib/util.js';

const HELP = `node bench/cluster.js [--quick] [--no-write] [--clients N] [--batch N] [--duration S] [--soak S] [--soak-fraction F] [--cpu-prof DIR] [--baseline DIR] [--no-sqlite]

  --clients N        concurrent clients of the maximum-throughput runs (default 16)
  --batch N          records per request (default 100)
  --duration S       measured seconds of each maximum-throughput run (default 30; --quick 8)
  --soak S           seconds of the soak (default 600; --quick 30)
  --soak-fraction F  soak rate as a fraction of the cluster's measured maximum (default 0.7)
  --cpu-prof DIR     V8 CPU profiles of the collector processes, into DIR
  --baseline DIR     also run setups (b) and (c) with another build's CLI (a worktree at DIR,
                     built), in the same run, for a before/after
  --no-sqlite        skip setup (a)`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    clients: { type: 'string' },
    batch: { type: 'string' },
    duration: { type: 'string' },
    soak: { type: 'string' },
    'soak-fraction': { type: 'string' },
    'cpu-prof': { type: 'string' },
    baseline: { type: 'string' },
    'no-sqlite': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const quick = values.quick;
const CLIENTS = Number(values.clients ?? 16);
const BATCH = Number(values.batch ?? 100);
const WARMUP_MS = (quick ? 2 : 5) * 1000;
const DURATION_MS = Number(values.duration ?? (quick ? 8 : 30)) * 1000;
const SOAK_MS = Number(values.soak ?? (quick ? 30 : 600)) * 1000;
const SOAK_FRACTION = Number(values['soak-fraction'] ?? 0.7);
/** The issue's target: a record is in a signed checkpoint within 2 s under normal load. */
const INCLUSION_TARGET_MS = 2000;
/** Every this often the latest acknowledged id is followed until it is included. */
const SAMPLE_EVERY_MS = 200;
const POLL_MS = 25;
const DRAIN_TIMEOUT_MS = 5 * 60_000;
const ISSUER_URL = 'http://provenant-cluster.bench.test';

const t0 = performance.now();
const say = (s) =>
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

// ---------------------------------------------------------------------------------------------
// Load: request bodies of BATCH records, fresh UUIDv7 ids spliced into pre-serialized records so
// the generator costs the loader little CPU on a machine it shares with the collectors.

function bodyFactory(batch) {
  const gen = recordGenerator();
  const templates = [];
  for (let i = 0; i < batch; i++) {
    const record = gen.next();
    const parts = JSON.stringify(record).split(record.id);
    if (parts.length !== 2) throw new Error('record template: the id must occur exactly once');
    templates.push(parts);
  }
  return () => {
    const ids = new Array(batch);
    let body = '[';
    for (let i = 0; i < batch; i++) {
      ids[i] = uuidv7();
      body += `${i ? ',' : ''}${templates[i][0]}${ids[i]}${templates[i][1]}`;
    }
    return { body: `${body}]`, ids };
  };
}

/** Counters and samples of one load phase. */
function tally() {
  return {
    requests: 0,
    sent: 0,
    acked: 0,
    rejected: 0,
    overloaded: 0,
    errors: 0,
    errorKinds: new Map(),
    nullLeaf: 0,
    latencies: [],
  };
}

function noteError(t, kind) {
  t.errors++;
  t.errorKinds.set(kind, (t.errorKinds.get(kind) ?? 0) + 1);
}

/**
 * Posts one body; resolves with { ok, accepted, end } or { ok: false, retryMs }. Counts into `t`
 * when `count(end)` says so; latency runs from `startMs`: when the request was due (open loop)
 * or sent (closed loop).
 */
async function post(member, made, startMs, t, count) {
  let res;
  try {
    res = await send(member.agent, `${member.url}/v1/events`, {
      method: 'POST',
      body: made.body,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(made.body),
      },
    });
  } catch (e) {
    if (count(performance.now())) noteError(t, `${e.code ?? e.message}`);
    return { ok: false, retryMs: 100 };
  }
  const end = performance.now();
  const counted = count(end);
  if (counted) {
    t.requests++;
    t.sent += made.ids.length;
  }
  if (res.status === 503 && res.body.includes('overloaded')) {
    if (counted) t.overloaded++;
    return { ok: false, retryMs: 1000 };
  }
  if (res.status !== 200) {
    if (counted) noteError(t, `HTTP ${res.status} ${res.body.slice(0, 160)}`);
    return { ok: false, retryMs: 100 };
  }
  const accepted = JSON.parse(res.body);
  if (counted) {
    t.acked += accepted.accepted.length;
    t.rejected += accepted.rejected.length;
    if (accepted.rejected.length > 0)
      noteError(t, `rejected ${JSON.stringify(accepted.rejected[0]).slice(0, 160)}`);
    for (const a of accepted.accepted) if (a.leaf_index === null) t.nullLeaf++;
    t.latencies.push(end - startMs);
  }
  return { ok: true, accepted, end, counted };
}

// ---------------------------------------------------------------------------------------------
// Collectors and their health.

async function health(member) {
  // The log size and cluster state are in /healthz's detail, for a role (the admin token).
  const res = await send(member.agent, `${member.url}/healthz`, {
    headers: { authorization: `Bearer ${member.adminToken}` },
  });
  return JSON.parse(res.body);
}

/** The tree size (largest over the members: a follower's view lags up to 250 ms). */
async function treeSize(members) {
  const hs = await Promise.all(members.map(health));
  return Math.max(...hs.map((h) => h.log.size));
}

/** CPU seconds (user + system) of a process and its direct children (PostgreSQL backends). */
function treeCpu(pid) {
  if (!pid) return null;
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(name) === pid || Number(fields[1]) === pid) {
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    }
  }
  return total;
}

/** CPU seconds of each member. */
function cpuEach(members) {
  return members.map((m) => {
    const c = procCpu(m.pid);
    return c.user + c.system;
  });
}

function cpuOf(members) {
  return members.reduce((s, m) => {
    const c = procCpu(m.pid);
    return s + c.user + c.system;
  }, 0);
}

const CPU_PROF = values['cpu-prof'] ? resolve(values['cpu-prof']) : null;
if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
const BASELINE_CLI = values.baseline
  ? resolve(values.baseline, 'packages/cli/dist/bin/provenant.js')
  : null;

async function startMember(dir, args, label, cli = undefined) {
  const c = await startCollector(dir, {
    // The records carry no credential: accepted as asserted, as a production serve needs it said.
    args: [...args, '--anonymous-ingest', 'asserted'],
    logLevel: 'warn',
    ...(cli ? { cli } : {}),
    ...(CPU_PROF ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] } : {}),
  });
  const adminToken = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  const member = { ...c, label, agent: keepAliveAgent(64), adminToken };
  say(`  ${label}: pid ${c.pid} at ${c.url}`);
  return member;
}

async function stopMembers(members) {
  for (const m of members) {
    m.agent.destroy();
    await m.stop();
  }
}

/** Collector stderr lines (warn and above) worth reporting. */
function stderrOf(members) {
  return members
    .map((m) => {
      const text = m.stderr().trim();
      return text ? `${m.label}:\n${text.split('\n').slice(-20).join('\n')}` : '';
    })
    .filter(Boolean)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Ack → inclusion: every SAMPLE_EVERY_MS, the latest acknowledged id is polled (GET
// /v1/events/{id}, every POLL_MS, on the other member) until the collector serves it.

function inclusionSampler(members) {
  const samples = [];
  const pending = new Set();
  let latest = null;
  let taken = null;
  let timedOut = 0;
  let running = true;
  const follow = async ({ id, at, via }) => {
    const member = members[(via + 1) % members.length];
    const deadline = at + 120_000;
    while (performance.now() < deadline) {
      const res = await send(member.agent, `${member.url}/v1/events/${id}`, {
        headers: { authorization: `Bearer ${member.adminToken}` },
      }).catch(() => null);
      if (res?.status === 200) {
        const leaf = JSON.parse(res.body).integrity?.leaf_index;
        if (typeof leaf !== 'number') throw new Error(`record ${id} served without a leaf index`);
        samples.push(performance.now() - at);
        return;
      }
      await sleep(POLL_MS);
    }
    timedOut++;
  };
  const loop = (async () => {
    while (running) {
      await sleep(SAMPLE_EVERY_MS);
      if (latest && latest !== taken) {
        taken = latest;
        const p = follow(latest).finally(() => pending.delete(p));
        pending.add(p);
      }
    }
  })();
  return {
    /** Called with each acknowledgement: the first id of the batch, when, and through whom. */
    ack(id, at, via) {
      latest = { id, at, via };
    },
    async finish() {
      running = false;
      await loop;
      await Promise.all([...pending]);
      return { ...(samples.length ? summarize(samples) : { n: 0 }), timedOut };
    },
  };
}

/** Polls /healthz until cluster.pending is 0; resolves with the ms it took (null on timeout). */
async function drain(members) {
  const start = performance.now();
  let last = null;
  while (performance.now() - start < DRAIN_TIMEOUT_MS) {
    last = await health(members[0]);
    if (last.cluster?.pending === 0) return { ms: performance.now() - start, health: last };
    await sleep(100);
  }
  return { ms: null, health: last };
}

// ---------------------------------------------------------------------------------------------
// Maximum throughput: CLIENTS closed-loop clients spread over the members, WARMUP_MS, then
// DURATION_MS measured (requests completing in the window count).

async function maxThroughput(setup) {
  const { members, pgPid } = setup;
  const make = bodyFactory(BATCH);
  const t = tally();
  const sampler = setup.cluster ? inclusionSampler(members) : null;
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const measureTo = measureFrom + DURATION_MS;
  const inWindow = (ms) => ms >= measureFrom && ms < measureTo;
  let before = null;
  const marker = (async () => {
    await sleep(WARMUP_MS);
    before = {
      size: await treeSize(members),
      cpu: cpuOf(members),
      each: cpuEach(members),
      pgCpu: treeCpu(pgPid),
      self: process.cpuUsage(),
    };
  })();
  const client = async (c) => {
    const via = c % members.length;
    while (performance.now() < measureTo) {
      const made = make();
      const sent = performance.now();
      const r = await post(members[via], made, sent, t, inWindow);
      if (r.ok) {
        setup.ackedTotal += r.accepted.accepted.length;
        if (sampler && r.counted) sampler.ack(made.ids[0], r.end, via);
      } else if (r.retryMs) await sleep(r.retryMs);
    }
  };
  await Promise.all([marker, ...Array.from({ length: CLIENTS }, (_, c) => client(c))]);
  const after = {
    size: await treeSize(members),
    cpu: cpuOf(members),
    each: cpuEach(members),
    pgCpu: treeCpu(pgPid),
    self: process.cpuUsage(before.self),
  };
  const seconds = DURATION_MS / 1000;
  const drained = setup.cluster ? await drain(members) : null;
  const inclusion = sampler ? await sampler.finish() : null;
  const lat = summarize(t.latencies);
  const result = {
    name: setup.name,
    members: members.length,
    ...t,
    errorKinds: [...t.errorKinds],
    latencies: undefined,
    ackedPerSec: t.acked / seconds,
    includedPerSec: (after.size - before.size) / seconds,
    lat,
    collectorCpuUs: ((after.cpu - before.cpu) / t.acked) * 1e6,
    memberCpuUs: after.each.map((c, i) => ((c - before.each[i]) / t.acked) * 1e6),
    pgCpuUs: pgPid ? ((after.pgCpu - before.pgCpu) / t.acked) * 1e6 : null,
    loaderCpuUs: (after.self.user + after.self.system) / t.acked,
    inclusion,
    drainMs: drained?.ms,
    drainHealth: drained?.health,
  };
  result.sustainedPerSec = Math.min(result.ackedPerSec, result.includedPerSec);
  say(
    `  ${setup.name}: ${fmtInt(result.ackedPerSec)} records/s acknowledged, ${fmtInt(result.includedPerSec)} records/s into the tree; ` +
      `request p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms; ${t.requests} requests, ` +
      `${t.errors} errors, ${t.overloaded} overloaded, ${t.rejected} rejected; collector CPU ${result.collectorCpuUs.toFixed(1)} µs/record` +
      (members.length > 1
        ? ` (${members.map((m, i) => `${m.label} ${result.memberCpuUs[i].toFixed(0)}`).join(', ')})`
        : '') +
      (result.pgCpuUs !== null ? `, PostgreSQL ${result.pgCpuUs.toFixed(1)} µs/record` : '') +
      (inclusion
        ? `; ack→included p50 ${fmt(inclusion.p50)} p99 ${fmt(inclusion.p99)} (${inclusion.n} samples, ${inclusion.timedOut} timed out); drained in ${fmt(drained.ms)}`
        : ''),
  );
  if (t.errors > 0) say(`  errors: ${JSON.stringify(result.errorKinds)}`);
  if (drained && drained.ms === null) {
    say(`  QUEUE DID NOT DRAIN: ${JSON.stringify(drained.health)}\n${stderrOf(members)}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Soak: open loop at `rate` records/s (a request of BATCH records every BATCH/rate s, whatever
// the previous ones are doing), alternating members; latency from when each request was due.

async function soak(setup, rate) {
  const { members, pgPid } = setup;
  const make = bodyFactory(BATCH);
  const t = tally();
  const sampler = inclusionSampler(members);
  const intervalMs = (BATCH / rate) * 1000;
  const rssOf = () => members.map((m) => procStatus(m.pid).rssKb);
  const pending0 = (await health(members[0])).cluster?.pending ?? null;
  const rss = [{ s: 0, kb: rssOf(), load: loadavg()[0], pending: pending0, p99: null }];
  // The p99 of the requests that completed since the previous sample.
  let seen = 0;
  const recentP99 = () => {
    const recent = t.latencies.slice(seen);
    seen = t.latencies.length;
    return recent.length ? summarize(recent).p99 : null;
  };
  const pendingSamples = [];
  const size0 = await treeSize(members);
  const cpu0 = cpuOf(members);
  const pgCpu0 = treeCpu(pgPid);
  const start = performance.now();
  const end = start + SOAK_MS;
  const inflight = new Set();
  let fired = 0;
  const monitor = (async () => {
    const every = Math.min(10_000, SOAK_MS / 10);
    for (let k = 1; start + k * every < end; k++) {
      await sleep(start + k * every - performance.now());
      const h = await health(members[0]).catch(() => null);
      const pending = h?.cluster?.pending ?? null;
      pendingSamples.push(pending);
      const kb = rssOf();
      rss.push({ s: (k * every) / 1000, kb, load: loadavg()[0], pending, p99: recentP99() });
    }
  })();
  for (;;) {
    const due = start + fired * intervalMs;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const via = fired % members.length;
    const made = make();
    const p = post(members[via], made, due, t, () => true).then((r) => {
      if (r.ok) {
        setup.ackedTotal += r.accepted.accepted.length;
        sampler.ack(made.ids[0], r.end, via);
      }
    });
    const tracked = p.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
    fired++;
  }
  await Promise.all([...inflight]);
  await monitor;
  const seconds = (performance.now() - start) / 1000;
  const endKb = rssOf();
  const pendingAtEnd = (await health(members[0])).cluster?.pending;
  rss.push({ s: seconds, kb: endKb, load: loadavg()[0], pending: pendingAtEnd, p99: recentP99() });
  const drained = await drain(members);
  const inclusion = await sampler.finish();
  const size1 = await treeSize(members);
  const lat = summarize(t.latencies);
  const result = {
    rate,
    seconds: SOAK_MS / 1000,
    intervalMs,
    ...t,
    errorKinds: [...t.errorKinds],
    latencies: undefined,
    ackedPerSec: t.acked / (SOAK_MS / 1000),
    lat,
    inclusion,
    rss,
    pendingSamples,
    pendingAtEnd,
    drainMs: drained.ms,
    drainHealth: drained.health,
    included: size1 - size0,
    collectorCpuUs: ((cpuOf(members) - cpu0) / t.acked) * 1e6,
    pgCpuUs: pgPid ? ((treeCpu(pgPid) - pgCpu0) / t.acked) * 1e6 : null,
  };
  say(
    `  soak: ${fmtInt(t.sent)} records sent, ${fmtInt(t.acked)} acknowledged (${fmtInt(result.ackedPerSec)}/s), ` +
      `${t.errors} errors, ${t.overloaded} overloaded; request p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, max ${lat.max.toFixed(1)} ms; ` +
      `ack→included p50 ${fmt(inclusion.p50)} p99 ${fmt(inclusion.p99)} (${inclusion.n} samples); ` +
      `pending at end ${pendingAtEnd}, drained in ${fmt(drained.ms)}`,
  );
  for (const [i, m] of members.entries()) {
    say(
      `  ${m.label} RSS: ${rss.map((r) => (r.kb[i] / 1024).toFixed(0)).join(' → ')} MB (every ${(rss[1].s - rss[0].s).toFixed(0)} s)`,
    );
  }
  if (t.errors > 0) say(`  errors: ${JSON.stringify(result.errorKinds)}`);
  if (drained.ms === null) {
    say(`  QUEUE DID NOT DRAIN: ${JSON.stringify(drained.health)}\n${stderrOf(members)}`);
  }
  return result;
}

function fmt(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return 'n/a';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

// ---------------------------------------------------------------------------------------------

const info = {
  date: new Date().toUTCString(),
  machine: machine(),
  uptimeStart: uptime(),
  loadStart: loadavg(),
};
say(
  `cluster benchmark: ${CLIENTS} clients × ${BATCH} records per request, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s per setup; ` +
    `soak ${SOAK_MS / 1000} s at ${SOAK_FRACTION * 100}% of the cluster's maximum`,
);
say(`machine: ${info.uptimeStart}`);
const pgServer = await startPostgres();
say(
  `PostgreSQL ${pgServer.version} ${pgServer.external ? '(PROVENANT_TEST_PG_URL)' : `in ${pgServer.dir}`}`,
);
const dirs = [];
const running = [];
const results = [];
let soakResult = null;
let cluster = null;
let failure = null;
const cleanup = async () => {
  await stopMembers(running.splice(0)).catch(() => {});
  for (const d of dirs.splice(0)) removeDir(d);
  await pgServer.stop();
};
process.once('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});
try {
  // (a) one collector on SQLite.
  if (!values['no-sqlite']) {
    say('(a) one collector on SQLite');
    const dir = tempDir('cluster-sqlite');
    dirs.push(dir);
    const m = await startMember(dir, [], 'sqlite');
    running.push(m);
    results.push(await maxThroughput({ name: 'sqlite', members: [m], pgPid: null, ackedTotal: 0 }));
    await stopMembers(running.splice(0));
  }
  // (b) one collector on PostgreSQL, no --cluster.
  const single = async (name, cli) => {
    say(`(b) one collector on PostgreSQL (no --cluster)${cli ? `, baseline ${cli}` : ''}`);
    const dir = tempDir('cluster-pg1');
    dirs.push(dir);
    const url = await pgServer.newDatabase();
    const m = await startMember(dir, ['--postgres', url], name, cli);
    running.push(m);
    results.push(await maxThroughput({ name, members: [m], pgPid: pgServer.pid, ackedTotal: 0 }));
    await stopMembers(running.splice(0));
  };
  // (c) two collectors on PostgreSQL, --cluster: the first alone (it makes the keys), then the second.
  const twoMembers = async (name, cli) => {
    say(`(c) two collectors on PostgreSQL (--cluster)${cli ? `, baseline ${cli}` : ''}`);
    const dir = tempDir('cluster-pg2');
    dirs.push(dir);
    const url = await pgServer.newDatabase();
    const args = ['--postgres', url, '--cluster', '--issuer-url', ISSUER_URL];
    running.push(await startMember(dir, args, 'member-1', cli));
    running.push(await startMember(dir, args, 'member-2', cli));
    await sleep(1500);
    const setup = {
      name,
      cluster: true,
      members: [...running],
      pgPid: pgServer.pid,
      ackedTotal: 0,
    };
    setup.roles0 = (await Promise.all(setup.members.map(health))).map((h) => h.cluster?.role);
    say(`  roles: ${setup.roles0.join(', ')}`);
    const result = await maxThroughput(setup);
    result.roles = setup.roles0;
    results.push(result);
    return { setup, result };
  };
  if (BASELINE_CLI) {
    await single('pg-single-baseline', BASELINE_CLI);
    const base = await twoMembers('pg-cluster-baseline', BASELINE_CLI);
    if (base.result.drainMs === null) throw new Error('the baseline cluster queue did not drain');
    await stopMembers(running.splice(0));
  }
  await single('pg-single');
  const { setup: clusterSetup, result: max } = await twoMembers('pg-cluster');
  cluster = clusterSetup;
  if (max.drainMs === null) throw new Error('the cluster queue did not drain after the max run');
  const rate = Math.max(BATCH, Math.round(max.sustainedPerSec * SOAK_FRACTION));
  say(
    `soak: ${SOAK_MS / 1000} s at ${fmtInt(rate)} records/s = ${SOAK_FRACTION * 100}% of ${fmtInt(max.sustainedPerSec)} ` +
      `(the cluster's lower of acknowledged and included records/s), open loop`,
  );
  soakResult = await soak(cluster, rate);
  cluster.roles1 = (await Promise.all(cluster.members.map(health))).map((h) => h.cluster?.role);
  cluster.finalSize = await treeSize(cluster.members);
  say(
    `  roles at the end: ${cluster.roles1.join(', ')}; tree ${fmtInt(cluster.finalSize)} entries, ` +
      `${fmtInt(cluster.ackedTotal)} records acknowledged to the cluster`,
  );
  cluster.stderr = stderrOf(cluster.members);
  if (cluster.stderr) say(`collector stderr (warn and above):\n${cluster.stderr}`);
} catch (e) {
  failure = e;
  say(`FAILED: ${e.stack ?? e}`);
  const text = stderrOf(running);
  if (text) say(`collector stderr:\n${text}`);
} finally {
  await cleanup();
}
info.uptimeEnd = uptime();
info.loadEnd = loadavg();
info.totalMs = performance.now() - t0;
say(`machine: ${info.uptimeEnd}`);
if (failure) process.exit(1);

// ---------------------------------------------------------------------------------------------
// Report.

const LABELS = {
  sqlite: '1 collector, SQLite',
  'pg-single': '1 collector, PostgreSQL (no --cluster)',
  'pg-cluster': '2 collectors, PostgreSQL --cluster',
  'pg-single-baseline': '1 collector, PostgreSQL (no --cluster), baseline build',
  'pg-cluster-baseline': '2 collectors, PostgreSQL --cluster, baseline build',
};
/**
 * What sequencing costs the lease holder per record: its CPU less the follower's (both take half
 * the requests, so the difference is the sequencer's work), per record acknowledged.
 */
const sequencerCpuUs = (r) => {
  const seq = r.roles?.indexOf('sequencer') ?? -1;
  const fol = r.roles?.indexOf('follower') ?? -1;
  return seq < 0 || fol < 0 ? null : r.memberCpuUs[seq] - r.memberCpuUs[fol];
};
const clusterNotes = results
  .filter((r) => r.roles)
  .map(
    (r) =>
      `${LABELS[r.name]}: ${r.roles.map((role, i) => `member-${i + 1} (${role}) ${r.memberCpuUs[i].toFixed(0)}`).join(', ')}; the sequencer's own work ${sequencerCpuUs(r)?.toFixed(0) ?? '—'} µs per record (sequencer less follower)`,
  );
const ratioNotes = [
  ['pg-cluster', 'pg-single'],
  ['pg-cluster-baseline', 'pg-single-baseline'],
]
  .map(([c, one]) => [results.find((r) => r.name === c), results.find((r) => r.name === one)])
  .filter(([c, one]) => c && one)
  .map(
    ([c, one]) =>
      `${LABELS[c.name]}: acknowledged ${(c.ackedPerSec / one.ackedPerSec).toFixed(2)}× and into the tree ${(c.includedPerSec / one.ackedPerSec).toFixed(2)}× of ${LABELS[one.name]}`,
  );
for (const line of [...clusterNotes, ...ratioNotes]) say(line);
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
const maxRows = results.map((r) => [
  LABELS[r.name],
  fmtInt(r.ackedPerSec),
  fmtInt(r.includedPerSec),
  `${r.lat.p50.toFixed(1)} / ${r.lat.p99.toFixed(1)} ms`,
  r.inclusion ? `${fmt(r.inclusion.p50)} / ${fmt(r.inclusion.p99)}` : 'at ack',
  r.drainMs === undefined ? '—' : fmt(r.drainMs),
  r.collectorCpuUs.toFixed(0),
  r.pgCpuUs === null ? '—' : r.pgCpuUs.toFixed(0),
  `${r.errors} / ${r.overloaded}`,
]);
const maxTable = table(
  [
    'setup',
    'acknowledged records/s',
    'into the tree records/s',
    'request p50 / p99',
    'ack → included p50 / p99',
    'queue drained after',
    'collector CPU µs/record',
    'PostgreSQL CPU µs/record',
    'errors / overloaded',
  ],
  maxRows,
);
const s = soakResult;
const first = s.rss[0];
const last = s.rss.at(-1);
const soakRows = [
  [
    'rate (open loop)',
    `${fmtInt(s.rate)} records/s (${SOAK_FRACTION * 100}% of ${fmtInt(results.at(-1).sustainedPerSec)}), one request of ${BATCH} every ${s.intervalMs.toFixed(1)} ms, alternating members`,
  ],
  ['duration', `${s.seconds} s`],
  [
    'records sent / acknowledged',
    `${fmtInt(s.sent)} / ${fmtInt(s.acked)} (${fmtInt(s.ackedPerSec)}/s); ${s.rejected} rejected, ${s.errors} errors, ${s.overloaded} overloaded`,
  ],
  [
    'request latency p50 / p99 / max',
    `${s.lat.p50.toFixed(1)} / ${s.lat.p99.toFixed(1)} / ${s.lat.max.toFixed(1)} ms`,
  ],
  [
    'ack → included p50 / p99 / max',
    `${fmt(s.inclusion.p50)} / ${fmt(s.inclusion.p99)} / ${fmt(s.inclusion.max)} (${s.inclusion.n} samples, ${s.inclusion.timedOut} not included in 120 s; target ${INCLUSION_TARGET_MS / 1000} s: ${s.inclusion.p99 <= INCLUSION_TARGET_MS ? 'met' : 'MISSED'})`,
  ],
  [
    'queue (`cluster.pending`) during / at end',
    `max ${Math.max(...s.pendingSamples.filter((p) => p !== null), 0)} / ${s.pendingAtEnd}; drained in ${fmt(s.drainMs)}`,
  ],
  ...cluster.members.map((m, i) => [
    `RSS ${m.label} start → end (peak)`,
    `${mb(first.kb[i])} → ${mb(last.kb[i])} (${mb(Math.max(...s.rss.map((r) => r.kb[i])))})`,
  ]),
  [
    'collector / PostgreSQL CPU',
    `${s.collectorCpuUs.toFixed(0)} / ${s.pgCpuUs === null ? '—' : s.pgCpuUs.toFixed(0)} µs per record`,
  ],
  [
    'load average during',
    `${Math.min(...s.rss.map((r) => r.load)).toFixed(2)} – ${Math.max(...s.rss.map((r) => r.load)).toFixed(2)}`,
  ],
];
const soakTable = table(['soak, 2 collectors on PostgreSQL --cluster', ''], soakRows);
const rssTrend = (points) =>
  cluster.members
    .map((m, i) => `${m.label}: ${points.map((r) => (r.kb[i] / 1024).toFixed(0)).join(', ')}`)
    .join('; ');
// For the document: at most ~11 points (start, every step, end).
const step = Math.ceil((s.rss.length - 1) / 10);
const rssPoints = s.rss.filter((_, k) => k % step === 0 || k === s.rss.length - 1);
const rssAt = rssPoints.map((r) => r.s.toFixed(0)).join(', ');
const seriesTable = table(
  [
    's',
    ...cluster.members.map((m) => `RSS ${m.label} MB`),
    'pending',
    'request p99 ms (last interval)',
    'load',
  ],
  s.rss.map((r) => [
    r.s.toFixed(0),
    ...r.kb.map((kb) => (kb / 1024).toFixed(0)),
    r.pending ?? '?',
    r.p99 === null ? '—' : r.p99.toFixed(0),
    r.load.toFixed(2),
  ]),
);
console.log(`\n${maxTable}\n\n${soakTable}\n\n${seriesTable}\n`);
console.log(`RSS every ${(s.rss[1].s - s.rss[0].s).toFixed(0)} s (MB): ${rssTrend(s.rss)}`);
console.log(`total run time ${(info.totalMs / 60_000).toFixed(1)} min`);

if (!values['no-write']) {
  const m = info.machine;
  const la = (l) => l.map((x) => x.toFixed(2)).join(', ');
  const errorsNote = [...results, { name: 'soak', errorKinds: s.errorKinds }]
    .filter((r) => r.errorKinds.length > 0)
    .map((r) => `${r.name}: ${r.errorKinds.map(([k, n]) => `${n}× ${k}`).join('; ')}`)
    .join('. ');
  const file = writeSection(
    'cluster',
    `## Cluster: two collectors on PostgreSQL vs one on SQLite (issue 8)

- date: ${info.date}
- machine: ${m.nproc} × ${m.model}, ${m.ramGiB.toFixed(1)} GiB RAM, Node ${m.node}, PostgreSQL ${pgServer.version}${pgServer.external ? ' (external)' : ' (throwaway, same machine, fsync on)'}; shared with other work
- load average (1, 5, 15 min): ${la(info.loadStart)} at the start, ${la(info.loadEnd)} at the end
- command: \`node bench/cluster.js${quick ? ' --quick' : ''}\` (from \`npm run bench -- --only cluster${quick ? ' --quick' : ''}\`), ${(info.totalMs / 60_000).toFixed(1)} min

Maximum throughput, same load generator, same run: ${CLIENTS} closed-loop clients posting ${BATCH} records per request (~1.1 KB each), spread evenly over the members, ${WARMUP_MS / 1000} s warm-up then ${DURATION_MS / 1000} s measured (requests completing in the window). Every setup is a fresh collector child process (or two) on an empty ledger; durable acknowledgements everywhere (SQLite \`synchronous = FULL\`; PostgreSQL commit with fsync). A cluster member acknowledges once the records are queued in PostgreSQL; "into the tree" is the growth of the signed tree over the window. Ack → included: every ${SAMPLE_EVERY_MS} ms the latest acknowledged id is polled (\`GET /v1/events/{id}\` on the other member, every ${POLL_MS} ms) until it is served with a leaf index.

${maxTable}

Collector CPU of each cluster by member (µs per record acknowledged by both): ${clusterNotes.join('. ')}. ${ratioNotes.join('. ')}.

Soak at ${SOAK_FRACTION * 100}% of the cluster's measured maximum (the lower of its acknowledged and into-the-tree rates), open loop: requests are sent on schedule whatever the earlier ones are doing, and latency runs from when each request was due. The soak runs on the same two processes right after the maximum run (its queue drained first), so the RSS at its start still holds that run's heap; the series below shows where it settles.

${soakTable}

RSS (MB) at ${rssAt} s into the soak: ${rssTrend(rssPoints)}. Roles: ${cluster.roles0.join(', ')} at the start, ${cluster.roles1.join(', ')} at the end; the tree holds ${fmtInt(cluster.finalSize)} entries for ${fmtInt(cluster.ackedTotal)} records acknowledged to the cluster${cluster.finalSize === cluster.ackedTotal ? ' (all of them, nothing else)' : ''}.${errorsNote ? ` Errors: ${errorsNote}.` : ''} The loader, the collectors and PostgreSQL share the machine's ${m.nproc} cores, so the numbers are what this box gives with everything on it, not the capacity of separate hosts.

<details><summary>Soak, every ${(s.rss[1].s - s.rss[0].s).toFixed(0)} s: RSS of each member, queue (<code>cluster.pending</code>), request p99, load average</summary>

${seriesTable}

</details>`,
  );
  console.log(`recorded in ${file}`);
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
