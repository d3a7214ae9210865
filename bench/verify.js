// Benchmark 3: offline verification speed, `provenant verify --data DIR` as a child process.
// Floor: reading every row with bare better-sqlite3 plus one SHA-256 of each record.
import { hash } from 'node:crypto';
import { join } from 'node:path';
import { LEDGER_FILE } from '@provenant/server/offline';
import { Database } from './lib/sqlite.js';
import { CLI, msSince, now, removeDir, runChild, tempDir } from './lib/util.js';

export const RUNS = 2;

export function floor(file) {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare(
      'SELECT leaf_index, record, leaf_hash FROM entries ORDER BY leaf_index',
    );
    const start = now();
    let n = 0;
    let check = 0;
    for (const row of rows.iterate()) {
      check ^= hash('sha256', row.record, 'buffer')[0];
      n++;
    }
    const ms = msSince(start);
    return { n, ms, perSec: (n / ms) * 1000, check };
  } finally {
    db.close();
  }
}

export async function cli(ledgerDir, home, nodeArgs = []) {
  const res = await runChild(
    [...nodeArgs, CLI, 'verify', '--data', ledgerDir, '--quiet', '--json'],
    {
      env: { ...process.env, PROVENANT_HOME: home },
    },
  );
  let answer;
  try {
    answer = JSON.parse(res.stdout.trim().split('\n').at(-1));
  } catch {
    answer = null;
  }
  if (res.code !== 0 || !answer?.ok) {
    throw new Error(`provenant verify exited ${res.code}: ${res.stdout} ${res.stderr}`);
  }
  return { n: answer.size, ms: res.ms, perSec: (answer.size / res.ms) * 1000 };
}

export async function run({ say, ledgerDir, nodeArgs }) {
  const file = join(ledgerDir, LEDGER_FILE);
  const home = tempDir('home');
  try {
    const floors = [];
    const clis = [];
    // Alternate, so both see the same page cache; the first CLI run finds no known checkpoint,
    // the second checks consistency with the one the first stored.
    for (let r = 0; r < RUNS; r++) {
      const f = floor(file);
      floors.push(f);
      say(
        `  floor run ${r + 1}: ${f.n} rows in ${(f.ms / 1000).toFixed(2)} s = ${Math.round(f.perSec)} rows/s`,
      );
      const c = await cli(ledgerDir, home, nodeArgs);
      clis.push(c);
      say(
        `  provenant verify run ${r + 1}: ${c.n} records in ${(c.ms / 1000).toFixed(2)} s = ${Math.round(c.perSec)} records/s`,
      );
    }
    const best = (xs) => xs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
    const f = best(floors);
    const c = best(clis);
    return { floor: f, cli: c, floors, clis, ratio: c.perSec / f.perSec };
  } finally {
    removeDir(home);
  }
}
