import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvidenceBundle } from '../support/evidence-bundle.js';
import { CLI } from './process.js';

// Which modules a CLI command loads, recorded by a module resolve hook in the child process.
const RECORDER = fileURLToPath(new URL('../support/record-loads.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'provenant-cli-loads-'));
let bundleFile: string;
let key: string;

/** Runs the built CLI; returns its exit status and the URL of every module it resolved. */
function loads(args: string[]): { status: number | null; stdout: string; urls: string[] } {
  const file = join(root, `loads-${randomUUID()}.txt`);
  writeFileSync(file, '');
  const r = spawnSync(process.execPath, ['--import', RECORDER, CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PROVENANT_TEST_LOADS: file, PROVENANT_HOME: join(root, 'home') },
    timeout: 60_000,
  });
  const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { status: r.status, stdout: r.stdout + r.stderr, urls };
}

// What only the collector, the policy engine, the MCP proxy or a storage driver need, and zod:
// checking a bundle needs @provenant/core/verify, not the record schema.
const HEAVY = [
  /\/node_modules\/zod\//,
  /\/node_modules\/pg\//,
  /\/node_modules\/better-sqlite3\//,
  /\/node_modules\/fastify\//,
  /\/node_modules\/@modelcontextprotocol\//,
  /\/node_modules\/@cedar-policy\//,
  /\/packages\/server\//,
  /\/packages\/policy\//,
  /\/packages\/mcp\//,
];
const heavy = (urls: string[]) => urls.filter((u) => HEAVY.some((h) => h.test(u)));

beforeAll(async () => {
  ({ file: bundleFile, key } = await writeEvidenceBundle(root));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the modules a CLI command loads', () => {
  it('verify --bundle loads no collector, storage driver, policy engine, MCP SDK or zod', () => {
    const r = loads(['verify', '--bundle', bundleFile, '--key', key]);
    // Authentic; the chain fails its attribution checks (the records carry no credential): exit 1.
    expect(r.stdout).toContain('Bundle authentic: 1 records proven');
    expect(r.status).toBe(1);
    expect(r.urls.some((u) => u.endsWith('/commands/verify-bundle.js'))).toBe(true);
    expect(heavy(r.urls)).toEqual([]);
  });

  it('--help, --version and a command --help load no command module', () => {
    for (const args of [['--help'], ['--version'], ['serve', '--help'], ['mcp-proxy', '--help']]) {
      const r = loads(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.urls.length, 'the hook recorded the entry').toBeGreaterThan(0);
      expect(r.urls.filter((u) => u.includes('/cli/dist/commands/'))).toEqual([]);
      expect(r.urls.filter((u) => /\/packages\/(?!cli\/|core\/dist\/errors)/.test(u))).toEqual([]);
    }
  });

  it('the recorder sees a heavy module when a command does load one', () => {
    // The checks above are only as good as the hook: \`policy test\` loads the policy package
    // (Cedar) before it finds that the folder does not exist.
    const r = loads(['policy', 'test', '--policies', join(root, 'none'), '--request', bundleFile]);
    expect(r.status).not.toBe(0);
    expect(heavy(r.urls)).toEqual(
      expect.arrayContaining([expect.stringContaining('/packages/policy/')]),
    );
  });
});
