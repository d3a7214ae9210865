// Benchmark 4: the collector's peak RSS (VmHWM) on a large ledger after ingest and proof
// requests over HTTP. Baselines: an idle node process, and the collector on an empty folder
// under the same requests.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { LEDGER_FILE } from '@provenant/server/offline';
import { recordGenerator } from './lib/records.js';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import { Database } from './lib/sqlite.js';
import {
  msSince,
  now,
  procStatus,
  randInt,
  removeDir,
  startCollector,
  summarize,
  tempDir,
} from './lib/util.js';

const BATCH = 500;
const CONNECTIONS = 4;

export function sizes(quick) {
  return { records: quick ? 1_000 : 5_000, proofs: quick ? 1_000 : 10_000 };
}

async function idleNode() {
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  try {
    await sleep(1_000);
    return procStatus(child.pid);
  } finally {
    child.kill('SIGTERM');
  }
}

/** Start a collector on `dataDir`, send records then proof requests, read its VmHWM. */
async function load(dataDir, { records, proofs }, pickIds, nodeArgs) {
  const t = now();
  // The records carry no credential: accepted as asserted (anonymous ingest is off by default).
  const collector = await startCollector(dataDir, {
    nodeArgs,
    args: ['--anonymous-ingest', 'asserted'],
  });
  const startMs = msSince(t);
  const afterStart = procStatus(collector.pid);
  const agent = keepAliveAgent(CONNECTIONS);
  try {
    const gen = recordGenerator();
    const accepted = [];
    const bodies = [];
    for (let i = 0; i < records; i += BATCH) {
      bodies.push(
        JSON.stringify(Array.from({ length: Math.min(BATCH, records - i) }, () => gen.next())),
      );
    }
    await runConcurrently(bodies.length, CONNECTIONS, async (i) => {
      const res = await send(agent, `${collector.url}/v1/events`, {
        method: 'POST',
        body: bodies[i],
        headers: { 'content-type': 'application/json' },
      });
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
      for (const a of JSON.parse(res.body).accepted) accepted.push(a.id);
    });
    const ids = pickIds(accepted, proofs);
    const latency = new Float64Array(proofs);
    await runConcurrently(proofs, CONNECTIONS, async (k) => {
      const s = now();
      const res = await send(agent, `${collector.url}/v1/events/${ids[k]}/proof`);
      latency[k] = msSince(s);
      if (res.status !== 200) throw new Error(`proof answered ${res.status}: ${res.body}`);
    });
    const status = procStatus(collector.pid);
    return {
      startMs,
      afterStartRssMb: afterStart.rssKb / 1024,
      rssMb: status.rssKb / 1024,
      hwmMb: status.hwmKb / 1024,
      proofLatency: summarize(latency),
      records: accepted.length,
    };
  } finally {
    agent.destroy();
    await collector.stop();
  }
}

export async function run({ quick, say, ledgerDir, nodeArgs }) {
  const size = sizes(quick);
  say(
    `rss: ${size.records} records then ${size.proofs} proof requests over HTTP (${CONNECTIONS} connections)`,
  );
  const idle = await idleNode();
  say(`  idle node: VmHWM ${(idle.hwmKb / 1024).toFixed(1)} MB`);

  const emptyDir = tempDir('empty');
  let empty;
  try {
    empty = await load(
      emptyDir,
      size,
      (accepted, n) => Array.from({ length: n }, () => accepted[randInt(0, accepted.length - 1)]),
      nodeArgs,
    );
  } finally {
    removeDir(emptyDir);
  }
  say(`  collector, empty folder: VmHWM ${empty.hwmMb.toFixed(1)} MB`);

  // Proofs for random leaves of the whole large ledger, ids read before the collector starts.
  const db = new Database(join(ledgerDir, LEDGER_FILE), { readonly: true });
  const ledgerSize = db.prepare('SELECT count(*) FROM entries').pluck().get();
  const idOf = db.prepare('SELECT id FROM entries WHERE leaf_index = ?').pluck();
  const ids = Array.from({ length: size.proofs }, () => idOf.get(randInt(0, ledgerSize - 1)));
  db.close();
  const large = await load(ledgerDir, size, () => ids, nodeArgs);
  say(
    `  collector, ${ledgerSize} entries: VmHWM ${large.hwmMb.toFixed(1)} MB (start ${large.startMs.toFixed(0)} ms)`,
  );
  return { idleMb: idle.hwmKb / 1024, empty, large, ledgerSize };
}
