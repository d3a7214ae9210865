import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function binTargets(): { pkg: string; name: string; target: string }[] {
  const out: { pkg: string; name: string; target: string }[] = [];
  for (const dir of readdirSync(join(repo, 'packages'))) {
    const pj = join(repo, 'packages', dir, 'package.json');
    const json = JSON.parse(readFileSync(pj, 'utf8')) as { bin?: string | Record<string, string> };
    if (json.bin === undefined) continue;
    const bins = typeof json.bin === 'string' ? { [dir]: json.bin } : json.bin;
    for (const [name, target] of Object.entries(bins)) {
      out.push({ pkg: dir, name, target: resolve(dirname(pj), target) });
    }
  }
  return out;
}

describe('the bins a fresh npm install links', () => {
  it('points every bin at a committed, executable file, so npm links it before the build runs', () => {
    const bins = binTargets();
    expect(bins.map((b) => b.name)).toContain('provenant');
    for (const bin of bins) {
      const rel = relative(repo, bin.target);
      // git ls-files prints nothing for a path git does not track (a build output).
      const tracked = execFileSync('git', ['ls-files', '--', rel], { cwd: repo, encoding: 'utf8' });
      expect(tracked.trim(), `${bin.pkg}: bin ${bin.name} -> ${rel}`).toBe(rel);
      accessSync(bin.target, constants.X_OK);
    }
  });

  it('links node_modules/.bin/provenant to the local CLI, which runs', () => {
    const link = join(repo, 'node_modules', '.bin', 'provenant');
    expect(realpathSync(link)).toBe(realpathSync(join(repo, 'packages/cli/bin/provenant.js')));
    const r = spawnSync(process.execPath, [link, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('provenant <command>');
  });
});
