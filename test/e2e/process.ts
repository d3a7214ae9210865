import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI: e2e tests run the real `provenant` program, as a user would. */
export const CLI = fileURLToPath(
  new URL('../../packages/cli/dist/bin/provenant.js', import.meta.url),
);

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CollectorProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** What the process wrote to stdout so far (its start banner first). */
  stdout(): string;
  /** `Authorization` with the collector's admin token (`<data>/admin.token`): it reads anything. */
  readonly admin: { readonly authorization: string };
}

const ADMIN_BY_URL = new Map<string, { readonly authorization: string }>();

/** The admin `Authorization` of the collector process listening at `url` (reads need a role). */
export function adminHeadersFor(url: string): { readonly authorization: string } | undefined {
  return ADMIN_BY_URL.get(url.replace(/\/+$/, ''));
}

/**
 * Starts `provenant serve` on a free port and waits until it says where it listens. It takes
 * anonymous records (`--anonymous-ingest asserted`) unless `extra` says otherwise.
 */
export function startCollectorProcess(
  dataDir: string,
  extra: string[] = [],
  /** Options for node itself, e.g. `--import` of a test preload. */
  nodeArgs: string[] = [],
): Promise<CollectorProcess> {
  const anonymous = extra.includes('--anonymous-ingest') ? [] : ['--anonymous-ingest', 'asserted'];
  const serve = [CLI, 'serve', '--data', dataDir, '--port', '0', '--log-level', 'error'];
  const child = spawn(process.execPath, [...nodeArgs, ...serve, ...anonymous, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    // Only a bound for a start that never comes (then the child must not outlive the test): as
    // long as a hook may take, since a start costs seconds on a loaded machine.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`collector did not start: ${out} ${err}`));
    }, 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
        ADMIN_BY_URL.set(m[1]!, { authorization: `Bearer ${token}` });
        resolve({
          child,
          url: m[1]!,
          exited,
          stderr: () => err,
          stdout: () => out,
          admin: { authorization: `Bearer ${token}` },
        });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code}) before listening: ${err.trim()}`));
    });
  });
}

/** Like runCli, without blocking the event loop (for tests that also run a server in-process). */
export function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Starts `provenant witness` on a free port and waits until it prints its URL and key. */
export function startWitnessProcess(
  dataDir: string,
  logs: string[],
  name: string,
): Promise<{ child: ChildProcess; url: string; key: string }> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'witness',
      '--data',
      dataDir,
      '--port',
      '0',
      '--name',
      name,
      ...logs.flatMap((l) => ['--log', l]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const key = /verifier key: (\S+)/.exec(out)?.[1];
      if (url && key) resolve({ child, url, key });
    });
    child.once('exit', (code) => reject(new Error(`witness exited (${code}): ${err}`)));
  });
}

/** Ends every child still running (a test that failed midway), and waits for each to exit. */
export async function stopChildren(
  children: readonly ChildProcess[],
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const done = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await done;
    }
  }
}
