import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The names an entry of the built package exports, and whether importing it loaded fastify. */
async function entry(specifier: string): Promise<{ names: string[]; fastify: boolean }> {
  const script = `
    import { createRequire } from 'node:module';
    const m = await import(${JSON.stringify(specifier)});
    const files = Object.keys(createRequire(import.meta.url).cache);
    const fastify = files.some((f) => f.split(/[\\\\/]/).includes('fastify'));
    console.log(JSON.stringify({ names: Object.keys(m).sort(), fastify }));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script],
    { cwd: PACKAGE_DIR },
  );
  return JSON.parse(stdout) as { names: string[]; fastify: boolean };
}

describe('package entry points', () => {
  it('the root runs the collector and the witness, and exports nothing else', async () => {
    const root = await entry('@provenant/server');
    expect(root.names).toEqual([
      'DEFAULT_LIMITS',
      'WIRE_ERRORS',
      'WITNESS_KEY_FILE',
      'WITNESS_VERIFIER_KEY_FILE',
      'buildApp',
      'oidcIssuer',
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
});
