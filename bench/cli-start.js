#!/usr/bin/env node
// CLI start-up: `provenant verify --bundle FILE --key KEY` on a real evidence bundle, timed as a
// child process beside the floor `node -e ''` (issue 13, item 8: within 3× of the floor).
// The bundle comes from a collector started in-process on a temporary folder and stopped before
// any timing. Runs alternate (floor, CLI, floor, CLI, …) so both see the same machine load.
//
//   node bench/cli-start.js [--quick] [--no-write] [--runs N]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { writeEvidenceBundle } from '../test/support/evidence-bundle.js';
import { CLI, machine, removeDir, runChild, summarize, tempDir, writeSection } from './lib/util.js';

const TARGET_RATIO = 3;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    runs: { type: 'string' },
  },
  strict: true,
});
const runs = Number(values.runs ?? (values.quick ? 5 : 10));

// The bundle's records carry no credential, so its chain fails the attribution checks and verify
// exits 1 after checking everything: what is timed is the same work as for a passing chain.
async function timed(args, expect = { code: 0, stdout: '' }) {
  const res = await runChild(args);
  if (res.code !== expect.code || !res.stdout.includes(expect.stdout)) {
    throw new Error(`node ${args.join(' ')} exited ${res.code}: ${res.stdout} ${res.stderr}`);
  }
  return res.ms;
}
const AUTHENTIC = { code: 1, stdout: 'Bundle authentic: 1 records proven' };

const dir = tempDir('cli-start');
let result;
try {
  const { file, key } = await writeEvidenceBundle(dir);
  const verifyArgs = [CLI, 'verify', '--bundle', file, '--key', key];
  // One untimed run of each: the first start reads the files from disk.
  await timed(['-e', '']);
  await timed(verifyArgs, AUTHENTIC);
  const floor = [];
  const cli = [];
  for (let i = 0; i < runs; i++) {
    floor.push(await timed(['-e', '']));
    cli.push(await timed(verifyArgs, AUTHENTIC));
  }
  const f = summarize(floor);
  const c = summarize(cli);
  result = { runs, floor: f, cli: c, ratio: c.p50 / f.p50 };
} finally {
  removeDir(dir);
}

const m = machine();
const date = execFileSync('date', ['-u'], { encoding: 'utf8' }).trim();
const ok = result.ratio <= TARGET_RATIO;
const lines = [
  `| what | median | mean | max |`,
  `| --- | ---: | ---: | ---: |`,
  `| \`node -e ''\` (floor) | ${result.floor.p50.toFixed(0)} ms | ${result.floor.mean.toFixed(0)} ms | ${result.floor.max.toFixed(0)} ms |`,
  `| \`provenant verify --bundle FILE --key KEY\` | ${result.cli.p50.toFixed(0)} ms | ${result.cli.mean.toFixed(0)} ms | ${result.cli.max.toFixed(0)} ms |`,
];
const section = `Measured ${date} on ${m.nproc} × ${m.model}, ${m.ramGiB.toFixed(1)} GiB, node ${m.node} (load average ${loadavg()[0].toFixed(2)} at the end), with \`node bench/cli-start.js${values.quick ? ' --quick' : ''}\`: ${result.runs} runs of each, alternating, after one untimed run of each; wall time of the child process from spawn to exit. The bundle is a real one (a prompt and the tool call it caused, from a collector started in-process and stopped before timing; its records carry no credential, so the chain fails its attribution checks after every check ran, and verify exits 1 as it must).

${lines.join('\n')}

Ratio of medians: **${result.ratio.toFixed(2)}×** the floor (target ≤ ${TARGET_RATIO}×: ${ok ? 'met' : 'NOT met'}).

Before commands loaded on use (the CLI imported every command, so the bundle check loaded fastify, Cedar, both storage drivers, zod and the MCP SDK), the same script measured 2,744 ms against 299 ms, **9.2×**, on 3 Dec 2026 on this machine under a similar load (load average 12). The wall times are several times an idle machine's: several other jobs shared the 2 cores, and the ratio moved with them (runs of this script that day, load average 8 to 13, gave 1.3× to 2.5×); the ratio is the figure to compare.`;
console.log(`\n${section}\n`);
if (!values['no-write']) {
  console.log(
    `recorded in ${writeSection('cli-start', `## CLI start-up (issue 13)\n\n${section}`)}`,
  );
}
if (!ok) process.exitCode = 1;
