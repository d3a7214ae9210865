import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildSdk, tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FORBIDDEN =
  /@provenant\/(server|ledger|identity|policy|cli)|packages\/(server|ledger|identity|policy|cli)\/|better-sqlite3|\/pg\/|fastify|cedar|\/ai\/|pino|sdk-trace|@openai\/agents|langchain|@google\/adk|claude-agent-sdk/;

describe('the SDK stays light', () => {
  it('depends on @provenant/core, jose and @opentelemetry/api only', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/sdk/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).sort()).toEqual([
      '@opentelemetry/api',
      '@provenant/core',
      'jose',
    ]);
  });

  it.each([
    ['@provenant/sdk', 'createRecorder', 'packages/sdk/dist/index.js'],
    ['@provenant/sdk/testing', 'memoryIssuer', 'packages/sdk/dist/testing/index.js'],
  ])(
    'loads no server, storage, database or policy-engine module from %s',
    async (entry, name, file) => {
      await buildSdk();
      const tmp = tempDir('graph');
      const out = join(tmp.dir, 'graph.txt');
      try {
        execFileSync(
          process.execPath,
          [
            '--import',
            fileURLToPath(new URL('./fixtures/graph-register.mjs', import.meta.url)),
            '--input-type=module',
            '-e',
            `const m = await import('${entry}'); if (typeof m.${name} !== 'function') process.exit(3);`,
          ],
          { cwd: ROOT, env: { ...process.env, GRAPH_OUT: out } },
        );
        const urls = [...new Set(readFileSync(out, 'utf8').split('\n').filter(Boolean))];
        expect(urls.some((u) => u.includes(file))).toBe(true);
        expect(urls.some((u) => u.includes('/jose/'))).toBe(true);
        expect(urls.filter((u) => FORBIDDEN.test(u))).toEqual([]);
      } finally {
        tmp.remove();
      }
    },
  );
});
