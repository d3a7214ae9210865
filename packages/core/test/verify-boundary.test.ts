import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Every source file `@provenant/core/verify` loads, with the import specifiers of each. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map(
      (m) => m[1]!,
    );
    graph.set(file, specifiers);
    for (const s of specifiers) {
      if (s.startsWith('.')) visit(join(dirname(file), s.replace(/\.js$/, '.ts')));
    }
  };
  visit(join(SRC, entry));
  return graph;
}

describe('@provenant/core/verify stays runtime-neutral', () => {
  const graph = importGraph('verify/index.ts');

  it('imports nothing but its own relative modules (no node:*, no zod, no package)', () => {
    const external = [...graph].flatMap(([file, specs]) =>
      specs.filter((s) => !s.startsWith('.')).map((s) => `${relative(SRC, file)}: ${s}`),
    );
    expect(external).toEqual([]);
    // Neither the schema (zod) nor the node:crypto digests are reachable from it.
    const files = [...graph.keys()].map((f) => relative(SRC, f));
    expect(files).not.toContain('index.ts');
    expect(files).not.toContain('digest.ts');
    expect(files).toContain('canonical/jcs.ts'); // the one canonicalizer, shared
  });

  it('uses no Node global (Buffer, process, require)', () => {
    const uses = [...graph.keys()].flatMap((file) => {
      const code = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      return /\b(Buffer|process|require)\b/.test(code) ? [relative(SRC, file)] : [];
    });
    expect(uses).toEqual([]);
  });
});
