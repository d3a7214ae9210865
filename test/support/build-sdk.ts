// Builds packages/sdk (dist) for tests that run the built SDK in a child process.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds packages/sdk (dist) for tests that run it in a child process. Test files run in
 * parallel processes, so the build is serialized with a lock folder.
 */
export async function buildSdk(): Promise<void> {
  const lock = join(tmpdir(), 'provenant-sdk-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for the SDK build lock');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    execFileSync('npx', ['tsc', '-b', 'packages/sdk'], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
