// Small helpers shared by the benchmarks: timing, percentiles, temp dirs, child processes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearTimeout, setTimeout } from 'node:timers';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'packages', 'cli', 'dist', 'bin', 'provenant.js');

export const now = () => process.hrtime.bigint();
/** Milliseconds since `start` (a bigint from `now()`). */
export const msSince = (start) => Number(now() - start) / 1e6;

export function tempDir(label) {
  return mkdtempSync(join(tmpdir(), `provenant-bench-${label}-`));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** p50 / p99 / max / mean of samples (any unit); sorts a copy. */
export function summarize(samples) {
  const s = Float64Array.from(samples).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1], mean: sum / s.length };
}

/** Uniform random integer in [lo, hi]. */
export function randInt(lo, hi) {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

export function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMs(ms) {
  if (ms < 0.1) return `${(ms * 1000).toFixed(1)} µs`;
  if (ms < 10) return `${ms.toFixed(3)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function machine() {
  const model = /^model name\s*:\s*(.*)$/m.exec(readText('/proc/cpuinfo'))?.[1] ?? cpus()[0]?.model;
  return {
    nproc: availableParallelism(),
    model: model ?? 'unknown',
    ramGiB: totalmem() / 2 ** 30,
    freeGiB: freemem() / 2 ** 30,
    node: process.version,
  };
}

/** Fields of /proc/<pid>/status in kB (VmRSS, VmHWM); undefined when unreadable. */
export function procStatus(pid) {
  const text = readText(`/proc/${pid}/status`);
  const kb = (k) => {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** User and system CPU seconds of a process so far (from /proc/<pid>/stat; USER_HZ = 100). */
export function procCpu(pid) {
  const text = readText(`/proc/${pid}/stat`);
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

function readText(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Starts `provenant serve` on `dataDir` as a child process and resolves once it prints its
 * URL. `nodeArgs` go before the script (e.g. --cpu-prof); `args` after `serve` (e.g.
 * --postgres URL --cluster). `cli` is the provenant.js to run (another build's, to compare).
 */
export async function startCollector(
  dataDir,
  { nodeArgs = [], args = [], logLevel = 'error', timeoutMs = 120_000, cli = CLI } = {},
) {
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      cli,
      'serve',
      '--data',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-level',
      logLevel,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`collector did not start in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (https?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code} before listening: ${err}`));
    });
  });
  child.stdout.resume();
  return {
    url,
    pid: child.pid,
    child,
    stderr: () => err,
    /** SIGTERM, then wait for the exit (SIGKILL after 30 s). */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion; resolves with stdout, stderr, exit code and wall time. */
export function runChild(args, { env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      cwd: ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) =>
      resolve({ code, stdout, stderr, ms: msSince(start), pid: child.pid }),
    );
  });
}

/**
 * Writes (or replaces) one benchmark's section of docs/BENCHMARKS.md, between
 * `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`, above the history of full runs.
 */
export function writeSection(name, markdown) {
  const file = join(ROOT, 'docs', 'BENCHMARKS.md');
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${markdown.trim()}\n${end}`;
  let doc = readFileSync(file, 'utf8');
  const at = doc.indexOf(start);
  const stop = doc.indexOf(end);
  doc =
    at >= 0 && stop > at
      ? doc.slice(0, at) + section + doc.slice(stop + end.length)
      : doc.replace('## History of full runs', `${section}\n\n## History of full runs`);
  writeFileSync(file, doc);
  return file;
}
