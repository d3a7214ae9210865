import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Loaded {
  readonly names: string[];
  readonly fastify: boolean;
  readonly sqlite: boolean;
}

/** The names a module of the built package exports, and which native-heavy packages it loaded. */
async function entry(specifier: string): Promise<Loaded> {
  const script = `
    import { createRequire } from 'node:module';
    const m = await import(${JSON.stringify(specifier)});
    const files = Object.keys(createRequire(import.meta.url).cache);
    const loaded = (name) => files.some((f) => f.split(/[\\\\/]/).includes(name));
    console.log(JSON.stringify({
      names: Object.keys(m).sort(),
      fastify: loaded('fastify'),
      sqlite: loaded('better-sqlite3'),
    }));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script],
    { cwd: PACKAGE_DIR },
  );
  return JSON.parse(stdout) as Loaded;
}

describe('package entry points', () => {
  it('the root runs the collector and the witness, and exports nothing else', async () => {
    const root = await entry('@provenant/server');
    expect(root.names).toEqual([
      'DEFAULT_LIMITS',
      'ROLES',
      'WIRE_ERRORS',
      'WITNESS_KEY_FILE',
      'WITNESS_VERIFIER_KEY_FILE',
      'buildApp',
      'checkSignInConfig',
      'oidcIssuer',
      'parseRoleMappings',
      'startCollector',
      'startWitness',
    ]);
    expect(root.fastify).toBe(true);
  });

  it('/offline works on records and data folders without loading the HTTP server', async () => {
    const offline = await entry('@provenant/server/offline');
    expect(offline.fastify).toBe(false);
    expect(offline.names).toEqual(
      expect.arrayContaining(['LEDGER_FILE', 'prepareRecord', 'mapSpans', 'exportPages']),
    );
  });

  it('the store ports and their caches load no SQLite driver (only the -sqlite modules do)', async () => {
    for (const file of [
      './dist/identity/registry.js',
      './dist/identity/registry-cache.js',
      './dist/policy/store.js',
      './dist/policy/store-cache.js',
    ]) {
      expect({ file, sqlite: (await entry(file)).sqlite }).toEqual({ file, sqlite: false });
    }
    expect((await entry('./dist/identity/registry-sqlite.js')).sqlite).toBe(true);
    expect((await entry('./dist/policy/store-sqlite.js')).sqlite).toBe(true);
  });
});
