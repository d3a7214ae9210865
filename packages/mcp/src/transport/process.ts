/**
 * The upstream MCP server as a child process: its stdin and stdout carry the protocol, its
 * stderr goes to ours. When it exits, the transport closes and says how.
 */
import { spawn } from 'node:child_process';
import { StreamTransport } from './stream.js';

export interface ServerProcess {
  readonly transport: StreamTransport;
  readonly pid: number | undefined;
  /** How the process ended ("exit code 1", "signal SIGKILL"), once it has. */
  exitReason(): string | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<string>;
}

export function spawnServer(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ServerProcess {
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: options.env ?? process.env,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    windowsHide: true,
  });
  let reason: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => {
      reason = `could not start ${command}: ${e.message}`;
      resolve(reason);
      void transport.close();
    });
    child.once('exit', (code, signal) => {
      reason = signal
        ? `the process was killed by ${signal}`
        : `the process exited with code ${code}`;
      resolve(reason);
    });
  });
  // The stdin pipe breaks when the child dies; that is reported through exit, not as a crash.
  child.stdin.on('error', () => {});
  const transport = new StreamTransport(child.stdout, child.stdin, {
    // stdout ends before 'exit' fires: close on 'close', once the exit reason is known.
    closeOnEnd: false,
    onClosing: () => {
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null) {
        const t = setTimeout(() => child.kill('SIGKILL'), 2_000);
        t.unref();
        child.once('exit', () => clearTimeout(t));
        child.kill('SIGTERM');
      }
    },
  });
  child.once('close', () => void transport.close());
  return {
    transport,
    pid: child.pid,
    exitReason: () => reason,
    exited,
  };
}
