import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../src/index.js';

const doc = readFileSync(
  fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)),
  'utf8',
);

describe('docs/errors.md', () => {
  it('lists every wire error code with its HTTP status, and no other', () => {
    const rows = [...doc.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const documented = Object.fromEntries(rows);
    const actual = Object.fromEntries(
      Object.entries(WIRE_ERRORS).map(([code, e]) => [code, e.status]),
    );
    expect(documented).toEqual(actual);
  });
});
