import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Which native drivers a fresh Node process has loaded after importing `specifier` from the
 * built package (dist: what users get). pg and better-sqlite3 are CommonJS, so every module of
 * theirs that was loaded is in the CommonJS cache, whether it came in by import or require.
 */
async function driversLoadedBy(specifier: string): Promise<{ pg: boolean; sqlite: boolean }> {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(specifier)});
    const files = Object.keys(createRequire(import.meta.url).cache);
    const has = (name) => files.some((f) => f.split(/[\\\\/]/).includes(name));
    console.log(JSON.stringify({ pg: has('pg'), sqlite: has('better-sqlite3') }));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script],
    { cwd: PACKAGE_DIR },
  );
  return JSON.parse(stdout) as { pg: boolean; sqlite: boolean };
}

describe('package entry points', () => {
  it('is built (npm test runs tsc -b first)', () => {
    expect(existsSync(join(PACKAGE_DIR, 'dist', 'index.js'))).toBe(true);
  });

  it('the root loads neither better-sqlite3 nor pg', async () => {
    expect(await driversLoadedBy('@provenant/ledger')).toEqual({ pg: false, sqlite: false });
  });

  it('each driver entry loads its own driver only', async () => {
    expect(await driversLoadedBy('@provenant/ledger/sqlite')).toEqual({ pg: false, sqlite: true });
    expect(await driversLoadedBy('@provenant/ledger/postgres')).toEqual({
      pg: true,
      sqlite: false,
    });
  });
});
