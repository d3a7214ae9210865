// The README is what a new user runs: every code block is run on a fresh clone by
// test/readme/run.js (.ci/run, after npm test) or listed in blocks.js as skipped with a
// reason, and every file it (or any other document) links to is in the repository.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PLAN, codeBlocks, planFor } from './blocks.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

interface Plan {
  key: string;
  run: string;
  skip?: string;
  reason?: string;
  after?: string;
  skipLines?: Record<string, string>;
}

describe('the README blocks the fresh-clone test runs', () => {
  it('has every README block either run or skipped with a reason, and no stale entry', () => {
    const { unplanned, stale } = planFor(readme) as { unplanned: string[]; stale: string[] };
    expect(unplanned, 'README blocks missing from test/readme/blocks.js').toEqual([]);
    expect(stale, 'blocks.js entries no longer in the README').toEqual([]);
    for (const p of PLAN as Plan[]) {
      expect(['quickstart', 'shell', 'sdk', 'skip'], p.key).toContain(p.run);
      if (p.run === 'skip') expect(p.skip?.length ?? 0, p.key).toBeGreaterThan(10);
      if (p.run === 'sdk') {
        expect((PLAN as Plan[]).some((q) => q.key === p.after && q.run === 'shell')).toBe(true);
        expect(p.reason?.length ?? 0).toBeGreaterThan(10);
      }
    }
  });

  it('runs or skips, with a reason, every line of the quick start', () => {
    const { paired } = planFor(readme) as {
      paired: { block: { code: string }; plan: Plan }[];
    };
    const quick = paired.find((p) => p.plan.run === 'quickstart');
    expect(quick).toBeDefined();
    const [first, ...others] = quick!.block.code.split('\n').filter((l) => l.trim() !== '');
    expect(first).toMatch(/^npm install && npm start\b/);
    for (const line of others) expect(quick!.plan.skipLines?.[line], line).toBeTruthy();
  });

  it('fails on a block it does not know', () => {
    const { unplanned } = planFor(`${readme}\n\`\`\`sh\nnpx provenant something-new\n\`\`\`\n`) as {
      unplanned: string[];
    };
    expect(unplanned).toEqual([expect.stringContaining('npx provenant something-new')]);
    expect(
      codeBlocks('```sh\na\n```\n\n```json\n{}\n```').map((b: { lang: string }) => b.lang),
    ).toEqual(['sh', 'json']);
  });
});

describe('documents link only to files in the repository', () => {
  const docs = execFileSync('git', ['ls-files', '*.md'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !f.startsWith('node_modules/'));

  it('every relative Markdown link resolves to a tracked file or folder', () => {
    const missing: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(repo, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        if (!existsSync(resolve(dirname(join(repo, doc)), target))) missing.push(`${doc}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the README cites no Markdown file that is not in the repository', () => {
    const cited = [...readme.matchAll(/`([\w./-]+\.md)`/g)].map((m) => m[1]!);
    const absent = cited.filter(
      (f) => !existsSync(join(repo, f)) && !docs.some((d) => d.endsWith(`/${f}`) || d === f),
    );
    expect(absent).toEqual([]);
    expect(readme).not.toMatch(/DESIGN\.md/);
    expect(existsSync(join(repo, 'docs', 'ARCHITECTURE.md'))).toBe(true);
  });
});
