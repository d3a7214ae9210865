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

describe('errors of the SQLite file shared by the registry and policy stores', () => {
  it('answer a full disk as storage_full and a busy or failing file as storage_unavailable, not 500', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { toWireError } = await import('../src/index.js');
    const full = toWireError(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'));
    expect(full.status).toBe(507);
    expect(full.body.error.code).toBe('storage_full');
    expect(full.headers).toEqual({ 'retry-after': '10' });
    const busy = toWireError(new Database.SqliteError('database is locked', 'SQLITE_BUSY'));
    expect(busy.status).toBe(503);
    expect(busy.body.error.code).toBe('storage_unavailable');
    const io = toWireError(new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE'));
    expect(io.body.error.code).toBe('storage_unavailable');
    expect(toWireError(new Error('boom')).status).toBe(500);
  });
});
