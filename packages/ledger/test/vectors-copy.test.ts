import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_VECTORS_DIR, VECTORS_DIR } from './vectors.js';

describe('test vectors', () => {
  it('keeps a byte-identical copy of every shared vector file', () => {
    const ours = readdirSync(VECTORS_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(ours).toEqual(['c2sp-signed-note.json', 'rfc6962-merkle.json']);
    // CI clones may lack ../shared; where it exists, the copy must not drift from it.
    if (!existsSync(SHARED_VECTORS_DIR)) return;
    for (const f of readdirSync(SHARED_VECTORS_DIR).filter((x) => x.endsWith('.json'))) {
      expect(
        readFileSync(join(VECTORS_DIR, f)).equals(readFileSync(join(SHARED_VECTORS_DIR, f))),
        f,
      ).toBe(true);
    }
  });
});
