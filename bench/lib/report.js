// The results table and docs/BENCHMARKS.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fmtInt } from './util.js';

const ms3 = (v) => (v < 1 ? v.toFixed(3) : v.toFixed(2));
const lat = (s) => `${ms3(s.p50)} / ${ms3(s.p99)} / ${ms3(s.max)} ms`;
const verdict = (ok, quick) =>
  quick ? `${ok ? 'met' : 'missed'} (quick size)` : ok ? '**met**' : '**missed**';
const mb = (v) => `${v.toFixed(0)} MB`;

export function render(info, r) {
  const q = info.quick;
  const rows = [];
  const sections = [];

  if (r.ingest) {
    const { floor, floors, runs, settings, best, ratio } = r.ingest;
    const ok = ratio >= 0.5 && best.perSec >= 10_000;
    const others = settings
      .filter((s) => s !== best)
      .map((s) => `${s.connections}: ${fmtInt(s.perSec)}`)
      .join(', ');
    rows.push([
      '1. Ingest, HTTP keep-alive, 500-record batches, durable acks',
      `${fmtInt(best.perSec)} records/s (${best.connections} connections; ${others})`,
      `${fmtInt(floor.perSec)} rows/s: bare better-sqlite3, same table and indexes, 10,000-row transactions`,
      `${ratio.toFixed(2)}×`,
      '≥ 0.5× floor and ≥ 10,000 records/s',
      verdict(ok, q),
    ]);
    const perSetting = settings
      .map(
        (s) =>
          `${s.connections} connections: ${runs
            .filter((x) => x.connections === s.connections)
            .map((x) => fmtInt(x.perSec))
            .join(', ')}`,
      )
      .join('; ');
    sections.push(
      `**1. Ingest throughput.** ${fmtInt(best.records)} records of ~1.1 KB canonical ` +
        `(${fmtInt(best.bodyBytes / 1024)} KiB JSON bodies of 500), after ${fmtInt(r.ingest.warmup)} ` +
        `warm-up records, POSTed to \`provenant serve\` (a child process, fresh empty data folder per run) ` +
        `by a node:http keep-alive load generator in the benchmark process, on the same ` +
        `${info.machine.nproc} cores. Bodies are generated before the collector starts; every answer is ` +
        `checked (500 accepted, none rejected) and so is the log size at the end. Each answer is a ` +
        `durable ack (SQLite WAL, \`synchronous=FULL\`). Records/s per run, ${perSetting}. ` +
        `Best run (${best.connections} connections): ${best.commits} commits of ` +
        `${fmtInt(best.entriesPerCommit)} entries (group commit, counted from the stored checkpoints); ` +
        `collector CPU ${best.collectorCpuPerRecordUs.toFixed(1)} µs/record (user ` +
        `${best.collectorUserUs.toFixed(1)}, system ${best.collectorSystemUs.toFixed(1)}), i.e. one core ` +
        `busy for the whole run; load generator ${best.loaderCpuPerRecordUs.toFixed(1)} µs/record; ` +
        `collector VmHWM ${mb(best.collectorHwmMb)}. Floor: ${fmtInt(floor.rows)} rows from the same ` +
        `generator (the entries \`prepareRecord\` makes) into the same \`entries\` table and indexes ` +
        `(DDL read back from a fresh ledger file), WAL, \`synchronous=FULL\`, 10,000-row ` +
        `transactions: ${floors.map((f) => fmtInt(f.perSec)).join(', ')} rows/s ` +
        `(best ${((1000 / floor.perSec) * 1000).toFixed(1)} µs/row). Best ${fmtInt(best.perSec)} ` +
        `records/s = ${ratio.toFixed(2)}× the floor: ` +
        (ok
          ? 'target met.'
          : `target missed (${best.perSec >= 10_000 ? 'above 10,000 records/s, but below half the floor' : 'below 10,000 records/s'}).`),
    );
  }

  if (r.proofs) {
    const p = r.proofs;
    const floorP50 = p.leafRead.p50;
    const line = (name, s, extra = '') => {
      rows.push([
        `2. ${name} at ${fmtInt(p.size)} entries, p50 / p99 / max`,
        lat(s) + extra,
        `${lat(p.leafRead)}: one stored hash by primary key`,
        `${(s.p50 / floorP50).toFixed(0)}× one read`,
        'p99 ≤ 1 ms',
        verdict(s.p99 <= 1, q),
      ]);
    };
    line(
      'Inclusion proof, `log.inclusionProof`',
      p.inclusion,
      ` (${p.inclusion.hashesPerProof.toFixed(1)} hashes)`,
    );
    line(
      'Consistency proof, `log.consistencyProof`',
      p.consistency,
      ` (${p.consistency.hashesPerProof.toFixed(1)} hashes)`,
    );
    line('`GET /v1/events/{id}/proof` (inject)', p.proofRoute);
    line('`GET /v1/log/consistency` (inject)', p.consistencyRoute);
    const all = [p.inclusion, p.consistency, p.proofRoute, p.consistencyRoute];
    const ok = all.every((s) => s.p99 <= 1);
    const build = r.ledger
      ? ` The ledger was built in-process beforehand: ${fmtInt(r.ledger.size)} generated records canonicalized ` +
        `and hashed (${(r.ledger.prepareMs / 1000).toFixed(1)} s), then \`Log.append\` of 10,000-entry batches ` +
        `on \`SqliteStorage\` (${(r.ledger.appendMs / 1000).toFixed(1)} s, ${fmtInt(r.ledger.appendPerSec)} entries/s ` +
        `with subtree hashes and a signed checkpoint per batch).`
      : '';
    sections.push(
      `**2. Proof latency.** ${fmtInt(p.samples)} random samples each, after ${fmtInt(p.warmup)} ` +
        `warm-up calls, on a ${fmtInt(p.size)}-entry SQLite ledger, timed one call at a time with ` +
        `\`process.hrtime\` and a turn of the event loop between calls (untimed): (a) the server-side ` +
        `work, \`log.inclusionProof(random leaf, size)\` and \`log.consistencyProof(random m, size)\` ` +
        `on \`Log.open({ storage: new SqliteStorage(file) })\`; (b) the HTTP routes through ` +
        `\`buildApp(...).inject()\`, in-process without sockets (the proof route also reads the record ` +
        `by id). Floor: one point read by primary key with bare better-sqlite3 on the same file, ` +
        `p50 ${ms3(p.leafRead.p50)} ms for a leaf hash, ${ms3(p.nodeRead.p50)} ms for an interior ` +
        `node hash. A proof is ~log₂ n = ${Math.ceil(Math.log2(p.size))} such reads ` +
        `(${p.inclusion.hashesPerProof.toFixed(1)} hashes per inclusion proof and ` +
        `${p.consistency.hashesPerProof.toFixed(1)} per consistency proof on average), ` +
        `≈ ${(p.inclusion.hashesPerProof * floorP50).toFixed(3)} ms of reads at the floor's p50; the ` +
        `measured p50 of \`log.inclusionProof\` is ${ms3(p.inclusion.p50)} ms. The max column is ` +
        `single outliers (GC, the VM being descheduled). p99 ≤ 1 ms: ` +
        `${
          ok
            ? 'target met for all four.'
            : `target missed for ${all
                .filter((x) => x.p99 > 1)
                .map((x) => x.name)
                .join(', ')}.`
        }` +
        build,
    );
  }

  if (r.verify) {
    const v = r.verify;
    const ok = v.cli.perSec >= 100_000;
    rows.push([
      `3. Offline \`provenant verify --data\` at ${fmtInt(v.cli.n)} entries`,
      `${fmtInt(v.cli.perSec)} records/s (${(v.cli.ms / 1000).toFixed(1)} s)`,
      `${fmtInt(v.floor.perSec)} rows/s: read every row + SHA-256 (${(v.floor.ms / 1000).toFixed(1)} s)`,
      `${v.ratio.toFixed(2)}×`,
      '≥ 100,000 records/s',
      verdict(ok, q),
    ]);
    sections.push(
      `**3. Offline verify.** \`node packages/cli/dist/bin/provenant.js verify --data DIR --quiet --json\` ` +
        `as a child process (wall time, node start-up included, \`PROVENANT_HOME\` in a temp folder) on the ` +
        `${fmtInt(v.cli.n)}-entry folder: checkpoint signature, every leaf hash recomputed from the stored ` +
        `record, stored subtree hashes compared, root recomputed. Runs: ${v.clis
          .map((c) => `${fmtInt(c.perSec)}`)
          .join(
            ', ',
          )} records/s (the second also checks the known checkpoint the first stored); best shown. ` +
        `Floor, in the benchmark process, alternating with the CLI runs: ` +
        `\`SELECT leaf_index, record, leaf_hash FROM entries ORDER BY leaf_index\` with better-sqlite3 ` +
        `\`.iterate()\` and one SHA-256 of each record: ${v.floors.map((f) => fmtInt(f.perSec)).join(', ')} rows/s. ` +
        `${fmtInt(v.cli.perSec)} records/s = ${v.ratio.toFixed(2)}× the floor: target ${ok ? 'met' : 'missed'}.`,
    );
  }

  if (r.rss) {
    const s = r.rss;
    const ok = s.large.hwmMb <= 300;
    rows.push([
      `4. Collector peak RSS (VmHWM) at ${fmtInt(s.ledgerSize)} entries`,
      mb(s.large.hwmMb),
      `idle node ${mb(s.idleMb)}; collector on an empty folder ${mb(s.empty.hwmMb)}`,
      `+${mb(s.large.hwmMb - s.empty.hwmMb)} vs empty`,
      '≤ 300 MB',
      verdict(ok, q),
    ]);
    sections.push(
      `**4. Collector memory.** \`provenant serve\` as a child process on the ${fmtInt(s.ledgerSize)}-entry ` +
        `folder (start-up to listening ${fmtInt(s.large.startMs)} ms, RSS ${mb(s.large.afterStartRssMb)} then), ` +
        `sent ${fmtInt(s.large.records)} more records (500 a request) and ${fmtInt(s.large.proofLatency.n)} ` +
        `\`GET /v1/events/{id}/proof\` requests for random leaves over 4 keep-alive connections ` +
        `(client-side latency p50 / p99 / max ${lat(s.large.proofLatency)}), then VmHWM read from ` +
        `\`/proc/<pid>/status\`: ${mb(s.large.hwmMb)} (VmRSS ${mb(s.large.rssMb)} at the end). Baselines in ` +
        `the same run: an idle \`node -e "setInterval(()=>{},1000)"\` ${mb(s.idleMb)}; the collector on an ` +
        `empty folder under the same requests ${mb(s.empty.hwmMb)}. ≤ 300 MB: target ${ok ? 'met' : 'missed'}.`,
    );
  }

  const header = [
    'benchmark',
    'measured',
    'floor / baseline (same run)',
    'ratio',
    'target',
    'result',
  ];
  const table = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  return { table, sections };
}

const FULL_START = '<!-- bench:full:start -->';
const FULL_END = '<!-- bench:full:end -->';
const PARTIAL_START = '<!-- bench:partial:start -->';
const PARTIAL_END = '<!-- bench:partial:end -->';
const HISTORY_MARK = '<!-- bench:history -->';

const TEMPLATE = `# Benchmarks

\`npm run bench\` (\`tsc -b && node bench/run.js\`) runs the benchmarks of issue 2 and rewrites the
results below. Each benchmark runs beside its floor or baseline in the same run, on the same
machine, so the ratio means more than either number: these machines are noisy (±30%, see
FLOORS.md). A full run takes about 3 minutes on 2 cores (most of it building a
1,000,000-entry ledger and running the ingest settings twice).

\`\`\`sh
npm run bench                      # all four at full size, rewrites "Latest full run"
npm run bench -- --quick           # small sizes, a smoke check (rewrites "Latest quick or partial run")
npm run bench -- --only ingest     # one or more of ingest, proofs, verify, rss (comma-separated)
npm run bench -- --no-write        # print only
npm run bench -- --cpu-prof DIR    # V8 CPU profiles of the collector and verify processes
\`\`\`

The scripts are plain Node ESM in \`bench/\` importing the built packages; temporary data lives
under the OS temp folder and is removed at the end. Records are realistic
\`provenant.event/v1\` records (\`bench/lib/records.js\`): ~20 initiators, ~50 actors, task ids
and random trace ids each shared by ~10 records, UUIDv7 ids, padded to ~1.1 KB canonical. They
set no action-class flag and carry no credential, so the collector accepts them as \`asserted\`:
credential verification (issue 3) is not part of these numbers.

To see where a process spends its time, run with \`--cpu-prof DIR\` and summarize a profile with
\`node bench/profile-summary.js DIR/<file>.cpuprofile\` (self and inclusive time per function).

${FULL_START}
${FULL_END}

${PARTIAL_START}
${PARTIAL_END}

## History of full runs

${HISTORY_MARK}
`;

function block(title, info, report) {
  const m = info.machine;
  return [
    `## ${title}`,
    '',
    `- date: ${info.date}`,
    `- machine: ${m.nproc} × ${m.model}, ${m.ramGiB.toFixed(1)} GiB RAM, Node ${m.node}`,
    `- command: \`${info.command}\`${info.full ? '' : ` (benchmarks: ${info.selected.join(', ')}${info.quick ? '; quick sizes' : ''})`}`,
    `- total run time: ${(info.totalMs / 60_000).toFixed(1)} min; 1-minute load average ${info.loadStart.toFixed(2)} before, ${info.loadEnd.toFixed(2)} after (the benchmarks themselves load both cores)`,
    '',
    report.table,
    '',
    ...report.sections.flatMap((s) => [s, '']),
  ].join('\n');
}

function replaceBetween(text, start, end, body) {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a === -1 || b === -1 || b < a) return null;
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

export function writeDoc(file, info, report) {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : TEMPLATE;
  for (const mark of [FULL_START, FULL_END, PARTIAL_START, PARTIAL_END, HISTORY_MARK]) {
    if (!text.includes(mark)) text = TEMPLATE;
  }
  if (info.full) {
    text = replaceBetween(text, FULL_START, FULL_END, block('Latest full run', info, report));
    const line = `- ${info.date}, ${info.machine.nproc} × ${info.machine.model}, Node ${info.machine.node}: ${report.summary ?? summary(report)}`;
    text = text.replace(HISTORY_MARK, `${HISTORY_MARK}\n${line}`);
  } else {
    text = replaceBetween(
      text,
      PARTIAL_START,
      PARTIAL_END,
      block('Latest quick or partial run', info, report),
    );
  }
  writeFileSync(file, text);
  return file;
}

function summary(report) {
  // One line per full run: each table row's measured value.
  return report.table
    .split('\n')
    .slice(2)
    .map((row) => {
      const cells = row.split(' | ');
      return `${cells[0]
        .replace(/^\| /, '')
        .replace(/ at [\d,]+ entries.*$/, '')
        .replace(/,.*$/, '')}: ${cells[1]} (${cells[5].replace(/ \|$/, '').replaceAll('*', '')})`;
    })
    .join('; ');
}
