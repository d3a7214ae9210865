// Benchmark 2: inclusion and consistency proof latency on a large ledger, server-side:
// (a) the Log methods directly, (b) the HTTP routes through buildApp().inject() (no sockets).
// Floor: one primary-key point read of a stored hash with bare better-sqlite3.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setImmediate } from 'node:timers';
import { Log, loadOrCreateSignerKey } from '@provenant/ledger';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { DEFAULT_LIMITS, buildApp } from '@provenant/server';
import { LEDGER_FILE } from '@provenant/server/offline';
import { Database } from './lib/sqlite.js';
import { msSince, now, randInt, summarize } from './lib/util.js';

export function sizes(quick) {
  return { samples: quick ? 1_000 : 10_000, warmup: quick ? 500 : 3_000 };
}

// Yields to the event loop between samples (untimed), as a server does between requests: inject
// leaves work in setImmediate callbacks, and a loop that never lets them run piles them up (and
// the GC work with them), which would be the benchmark's cost, not the collector's.
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function sample(count, fn) {
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const t = now();
    await fn(k);
    out[k] = msSince(t);
    await turn();
  }
  return out;
}

export async function run({ quick, say, ledgerDir }) {
  const { samples, warmup } = sizes(quick);
  const file = join(ledgerDir, LEDGER_FILE);
  const storage = new SqliteStorage(file);
  const log = await Log.open({ storage, signer: loadOrCreateSignerKey(ledgerDir) });
  // The proof route needs the analyst role: the admin token holds every role.
  const adminToken = randomBytes(32).toString('base64url');
  const app = buildApp({ log, storage, limits: DEFAULT_LIMITS, adminToken });
  await app.ready();
  const db = new Database(file, { readonly: true });
  try {
    const size = log.size;
    say(`proofs: ${samples} random samples each at tree size ${size}`);
    const total = samples + warmup;
    const leaves = Array.from({ length: total }, () => randInt(0, size - 1));
    const froms = Array.from({ length: total }, () => randInt(1, size - 1));
    const idOf = db.prepare('SELECT id FROM entries WHERE leaf_index = ?').pluck();
    const ids = leaves.map((i) => idOf.get(i));

    // Floor: one stored row read by primary key (a leaf hash, or a hash tile of the tree).
    const leafHash = db.prepare('SELECT leaf_hash FROM entries WHERE leaf_index = ?').pluck();
    const tile = db.prepare('SELECT hashes FROM tiles WHERE level = ? AND idx = ?').pluck();
    const tileLevels = Math.max(1, Math.ceil(Math.log2(size) / 8));
    const levels = Array.from({ length: total }, () => randInt(0, tileLevels - 1));
    const readLeaf = (k) => {
      if (leafHash.get(leaves[k]) === undefined) throw new Error('missing leaf hash');
    };
    const readNode = (k) => {
      const l = levels[k];
      if (tile.get(l, randInt(0, Math.floor(size / 2 ** (8 * l + 8)))) === undefined) {
        throw new Error('missing hash tile');
      }
    };

    let hashes = 0;
    const inclusion = async (k) => {
      hashes += (await log.inclusionProof(leaves[k], size)).length;
    };
    const consistency = async (k) => {
      hashes += (await log.consistencyProof(froms[k], size)).length;
    };
    const inject = (url) => async () => {
      const res = await app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${res.body}`);
    };
    const proofRoute = (k) => inject(`/v1/events/${ids[k]}/proof`)();
    const consistencyRoute = (k) => inject(`/v1/log/consistency?from=${froms[k]}&to=${size}`)();

    const measure = async (name, fn) => {
      await sample(warmup, (k) => fn(samples + k));
      hashes = 0;
      const s = summarize(await sample(samples, fn));
      const row = { name, ...s, hashesPerProof: hashes / samples };
      say(
        `  ${name}: p50 ${s.p50.toFixed(4)} ms, p99 ${s.p99.toFixed(4)} ms, max ${s.max.toFixed(3)} ms`,
      );
      return row;
    };
    const rows = {
      leafRead: await measure('floor: leaf hash by primary key', readLeaf),
      nodeRead: await measure('floor: hash tile by primary key', readNode),
      inclusion: await measure('log.inclusionProof', inclusion),
      consistency: await measure('log.consistencyProof', consistency),
      proofRoute: await measure('GET /v1/events/{id}/proof (inject)', proofRoute),
      consistencyRoute: await measure('GET /v1/log/consistency (inject)', consistencyRoute),
    };
    return { size, samples, warmup, ...rows };
  } finally {
    db.close();
    await app.close();
    await log.close();
    await storage.close();
  }
}
