#!/usr/bin/env node
// Start-up integrity check (issue 14, item 9): what `firstMissingLeaf` (the check that a ledger
// with a deleted row does not start healthy) adds to a collector's start, on a SQLite ledger of
// 100,000 real entries, beside the open check the log already ran (`Log.open`: the stored tree
// against its latest checkpoint). Also the cost when a row is missing (the gap search).
//
//   node bench/startup-integrity.js [--quick] [--no-write] [--runs N]
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Log, loadOrCreateSignerKey } from '@provenant/ledger';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { LEDGER_FILE } from '@provenant/server/offline';
import { buildLedger } from './lib/ledger.js';
import {
  fmtInt,
  machine,
  msSince,
  now,
  removeDir,
  summarize,
  tempDir,
  writeSection,
} from './lib/util.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    runs: { type: 'string' },
  },
  strict: true,
});
const size = values.quick ? 20_000 : 100_000;
const runs = Number(values.runs ?? (values.quick ? 5 : 15));

async function timeRuns(fn) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    await fn();
    samples.push(msSince(t));
  }
  return { ...summarize(samples), first: samples[0] };
}

const dir = tempDir('startup-integrity');
try {
  console.log(`building a ${fmtInt(size)}-entry SQLite ledger…`);
  await buildLedger(dir, size);
  const file = join(dir, LEDGER_FILE);
  const signer = loadOrCreateSignerKey(dir);
  const storage = new SqliteStorage(file);
  const open = await timeRuns(async () => {
    const log = await Log.open({ storage, signer });
    await log.close();
  });
  const intact = await timeRuns(async () => {
    if ((await storage.firstMissingLeaf(size)) !== null) throw new Error('a leaf is missing');
  });
  const db = new Database(file);
  db.prepare('DELETE FROM entries WHERE leaf_index = ?').run(Math.floor(size * 0.9));
  db.close();
  const gap = await timeRuns(async () => {
    if ((await storage.firstMissingLeaf(size)) !== Math.floor(size * 0.9)) {
      throw new Error('the deleted leaf was not found');
    }
  });
  await storage.close();
  const row = (name, s) =>
    `| ${name} | ${s.first.toFixed(1)} | ${s.p50.toFixed(1)} | ${s.max.toFixed(1)} |`;
  const m = machine();
  const markdown = `### Start-up integrity check (bench/startup-integrity.js)

${new Date().toISOString().slice(0, 10)}, ${m.nproc} × ${m.model}, node ${m.node}; ${fmtInt(size)} entries in SQLite, ${runs} runs each, ms. The machine is shared with other work (load average ${loadavg()[0].toFixed(1)} at the end), so the spread includes its load. The first call of \`firstMissingLeaf\` also starts the SQLite read worker, which a collector's first read pays anyway; the check itself is the p50 (\`max(leaf_index)\` and a \`count(*)\` SQLite answers from its smallest index). The gap search runs only when a row is missing.

| step | first run (as at a start) | p50 | max |
| --- | --- | --- | --- |
${row('Log.open (tree vs latest checkpoint, as before)', open)}
${row('firstMissingLeaf, intact ledger (one count)', intact)}
${row('firstMissingLeaf, one row deleted (count + gap search)', gap)}
`;
  console.log(markdown);
  if (!values['no-write'] && !values.quick) writeSection('startup-integrity', markdown);
} finally {
  removeDir(dir);
}
