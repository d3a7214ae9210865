#!/usr/bin/env node
// `npm run bench`: runs the benchmarks of issue 2, each beside its floor in the same run, prints
// a table and records it in docs/BENCHMARKS.md.
//
//   node bench/run.js [--quick] [--only ingest,proofs,verify,rss] [--no-write] [--cpu-prof DIR]
//
// --quick     small sizes, a smoke check (a 50,000-entry ledger instead of 1,000,000)
// --only      run only these benchmarks (comma-separated or repeated)
// --no-write  print the table, leave docs/BENCHMARKS.md alone
// --cpu-prof  write V8 CPU profiles of the collector and verify child processes to DIR
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ingest from './ingest.js';
import * as proofs from './proofs.js';
import * as verify from './verify.js';
import * as rss from './rss.js';
import { buildLedger } from './lib/ledger.js';
import { fmtInt, machine, msSince, now, removeDir, tempDir, ROOT } from './lib/util.js';
import { render, writeDoc } from './lib/report.js';

const NAMES = [
  'ingest',
  'proofs',
  'verify',
  'rss',
  'identity',
  'sdk',
  'mcp',
  'otlp',
  'investigate',
  'cluster',
  'cli-start',
  'startup-integrity',
  'reads',
  'overload',
  'access',
  'frameworks',
  'events-search',
  'authzen',
  'growth',
  'workload-identity',
];
// Benchmarks of later issues: run as their own scripts after the spine's, each recording its own
// section of docs/BENCHMARKS.md.
const EXTRA = [
  'identity',
  'sdk',
  'mcp',
  'otlp',
  'investigate',
  'cluster',
  'cli-start',
  'startup-integrity',
  'reads',
  'overload',
  'access',
  'frameworks',
  'events-search',
  'authzen',
  'growth',
  'workload-identity',
];
const HELP = `node bench/run.js [--quick] [--only NAME[,NAME]] [--no-write] [--cpu-prof DIR]

Runs the benchmarks (ingest, proofs, verify, rss; identity = issues 3 and 4, sdk = issue 5,
mcp = issue 6, otlp = issue 9, investigate = issue 7, cluster = issue 8: two collectors on
PostgreSQL vs one on SQLite, and a 10-minute soak; cli-start = issue 13: provenant verify
--bundle start-up beside node -e ''; startup-integrity = issue 14: the missing-row check at start
on a 100,000-entry ledger; reads = issue 14: /healthz and ingest beside 8 readers of provenance
and traces over hostile data; overload = issue 19: 100 clients posting 5 MB batches to a
collector sized for less; access = issue 19: verified ingest with roles checked beside the
baseline build's, PROVENANT_BENCH_BASELINE=DIR, see bench/access.js; frameworks = issue 20:
the added caller cost per tool call of each agent-framework integration beside the same calls
without Provenant and an OpenTelemetry span with 15 attributes; events-search = issue 15:
GET /v1/events by resource prefix and by action on a 1,000,000-record ledger beside the bare
indexed SQLite read, and each search index's ingest cost; authzen = issue 17: POST
/access/v1/evaluation over HTTP before the ledger write beside the same server's bare HTTP floor;
growth = issue 18: proofs, verify,
coverage, events search, collector RSS and bytes on disk at 1,000,000 and 10,000,000 records,
the ledgers built once and cached, see bench/growth.js; workload-identity = issue 17: verified
ingest with a JWT-SVID-derived credential and with a Txn-Token header beside a Provenant
credential's),
each beside its floor or baseline, prints a table and records it in docs/BENCHMARKS.md.
  --quick         small sizes, a smoke check (a 50,000-entry ledger instead of 1,000,000)
  --only NAMES    only these benchmarks (comma-separated or repeated)
  --no-write      print the table, leave docs/BENCHMARKS.md alone
  --cpu-prof DIR  V8 CPU profiles of the collector and verify child processes, into DIR
                  (summarize one with: node bench/profile-summary.js FILE)`;
const FULL_LEDGER = 1_000_000;
const QUICK_LEDGER = 50_000;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    'no-write': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const only = (values.only ?? [])
  .flatMap((s) => s.split(','))
  .map((s) => s.trim())
  .filter(Boolean);
for (const name of only) {
  if (!NAMES.includes(name)) {
    console.error(`--only: unknown benchmark "${name}"; one of ${NAMES.join(', ')}`);
    process.exit(2);
  }
}
const selected = only.length > 0 ? NAMES.filter((n) => only.includes(n)) : NAMES;
const quick = values.quick;
let nodeArgs = [];
if (values['cpu-prof']) {
  const dir = resolve(values['cpu-prof']);
  mkdirSync(dir, { recursive: true });
  nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const command = [
  'npm run bench',
  ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
].join(' ');
const info = {
  date: execFileSync('date', ['-u'], { encoding: 'utf8' }).trim(),
  machine: machine(),
  command,
  quick,
  selected,
  full: !quick && selected.length === NAMES.length,
};
info.loadStart = loadavg()[0];
if (info.loadStart > 0.5) {
  say(`warning: load average ${info.loadStart.toFixed(2)} before the run: the machine is not idle`);
}
say(
  `${info.date}; ${info.machine.nproc} × ${info.machine.model}, ${info.machine.ramGiB.toFixed(1)} GiB, node ${info.machine.node}`,
);

const results = {};
let ledgerDir = null;
const cleanup = () => {
  if (ledgerDir) removeDir(ledgerDir);
  ledgerDir = null;
};
process.once('SIGINT', () => {
  cleanup();
  process.exit(130);
});
try {
  if (selected.includes('ingest')) results.ingest = await ingest.run({ quick, say, nodeArgs });
  if (selected.some((n) => n !== 'ingest' && !EXTRA.includes(n))) {
    const size = quick ? QUICK_LEDGER : FULL_LEDGER;
    ledgerDir = tempDir('ledger');
    say(`building a ${fmtInt(size)}-entry ledger in ${ledgerDir}`);
    results.ledger = await buildLedger(ledgerDir, size, say);
    say(
      `  built in ${(results.ledger.ms / 1000).toFixed(1)} s: Log.append ${fmtInt(results.ledger.appendPerSec)} entries/s`,
    );
    if (selected.includes('proofs')) results.proofs = await proofs.run({ quick, say, ledgerDir });
    if (selected.includes('verify'))
      results.verify = await verify.run({ quick, say, ledgerDir, nodeArgs });
    // Last: it appends records to the ledger.
    if (selected.includes('rss')) results.rss = await rss.run({ quick, say, ledgerDir, nodeArgs });
  }
} finally {
  cleanup();
}
info.totalMs = msSince(t0);
info.loadEnd = loadavg()[0];

const spineSelected = selected.some((n) => !EXTRA.includes(n));
const report = spineSelected ? render(info, { ...results }) : null;
if (report) {
  console.log(`\n${report.table}\n`);
  console.log(`total run time ${(info.totalMs / 60_000).toFixed(1)} min`);
  if (!values['no-write']) {
    const file = writeDoc(resolve(ROOT, 'docs', 'BENCHMARKS.md'), info, report);
    console.log(`recorded in ${file}`);
  }
}
const flags = [...(quick ? ['--quick'] : []), ...(values['no-write'] ? ['--no-write'] : [])];
if (selected.includes('identity')) {
  say('identity and policy benchmarks (bench/identity-policy.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'identity-policy.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('otlp')) {
  say('OpenTelemetry ingest benchmark (bench/otlp.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'otlp.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('investigate')) {
  say('investigation benchmark (bench/investigate.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'investigate.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('cluster')) {
  say('cluster load and soak benchmark (bench/cluster.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'cluster.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('mcp')) {
  say('MCP proxy benchmark (bench/mcp.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'mcp.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('startup-integrity')) {
  say('start-up integrity check (bench/startup-integrity.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'startup-integrity.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('cli-start')) {
  say('CLI start-up benchmark (bench/cli-start.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'cli-start.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('reads')) {
  say('reads beside ingest benchmark (bench/reads.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'reads.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('overload')) {
  say('overload benchmark (bench/overload.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'overload.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('access')) {
  say('access control benchmark (bench/access.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'access.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('frameworks')) {
  say('agent framework integrations benchmark (bench/frameworks.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'frameworks.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('events-search')) {
  say('events search benchmark (bench/events-search.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'events-search.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('authzen')) {
  say('AuthZEN evaluation benchmark (bench/authzen.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'authzen.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('growth')) {
  say('growth benchmark, 1M and 10M records (bench/growth.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'growth.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('workload-identity')) {
  say('workload identity and Txn-Token benchmark (bench/workload-identity.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'workload-identity.js'), ...flags], {
    stdio: 'inherit',
  });
}
if (selected.includes('sdk')) {
  say('agent SDK benchmarks (bench/sdk.js)');
  execFileSync(process.execPath, [resolve(ROOT, 'bench', 'sdk-record.js'), ...flags], {
    stdio: 'inherit',
  });
}
