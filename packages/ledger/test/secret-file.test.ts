import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSecretFile, writeSecretFile } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('secret files', () => {
  it('writes a secret readable by its owner only, leaving no temporary file', () => {
    const file = join(dir, 'a.key');
    writeSecretFile(file, 'secret\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['a.key']);
    writeSecretFile(file, 'rotated\n');
    expect(readSecretFile(file)).toBe('rotated\n');
    expect(readdirSync(dir)).toEqual(['a.key']);
  });

  it('tightens a secret that others could read before reading it', () => {
    const file = join(dir, 'loose.key');
    writeFileSync(file, 'x');
    chmodSync(file, 0o644);
    expect(readSecretFile(file)).toBe('x');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
