import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProvenantError } from '@provenant/core';
import { LogError, StorageError } from '@provenant/ledger';
import { LOCAL_TO_WIRE, RequestError, WIRE_ERRORS, toWireError } from '../src/errors.js';

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

describe('the local-to-wire table', () => {
  it('is the table docs/errors.md lists, row for row', () => {
    const section = doc.slice(doc.indexOf('## Local codes and the wire code each answers as'));
    const rows = [
      ...section
        .slice(0, section.indexOf('\n## ', 4))
        .matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|[^|]*\|\s*`([a-z_]+)`\s*\|/gm),
    ].map((m) => [m[1], m[2]]);
    expect(rows.length).toBeGreaterThan(0);
    expect(Object.fromEntries(rows)).toEqual(LOCAL_TO_WIRE);
  });

  it('answers a local code with its wire code and message', () => {
    const wire = toWireError(new StorageError('storage_unavailable', 'The disk went away.'));
    expect(wire.status).toBe(503);
    expect(wire.body).toEqual({
      error: { code: 'storage_unavailable', message: 'The disk went away.' },
    });
    expect(toWireError(new LogError('log_closed', 'Closed.')).body.error.code).toBe('log_closed');
  });

  it('keeps the message of a local code that is internal, and of an unlisted code', () => {
    for (const e of [
      new LogError('log_not_sequencer', 'secret detail'),
      new ProvenantError('not_found', 'not a RequestError, so not meant for the client'),
      new Error('boom'),
    ]) {
      expect(toWireError(e)).toEqual({
        status: 500,
        body: {
          error: { code: 'internal_error', message: 'The collector hit an unexpected error.' },
        },
      });
    }
  });

  it('passes a RequestError as it is', () => {
    expect(toWireError(new RequestError('not_found', 'No record x.')).body.error).toEqual({
      code: 'not_found',
      message: 'No record x.',
    });
  });
});

describe('errors of the SQLite file shared by the registry and policy stores', () => {
  it('are storage_full on a full file and storage_unavailable otherwise, so never a 500', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { SqliteRegistryStore } = await import('../src/identity/registry-sqlite.js');
    const { SqlitePolicyStore } = await import('../src/policy/store-sqlite.js');
    const dir = mkdtempSync(join(tmpdir(), 'provenant-store-full-'));
    try {
      const file = join(dir, 'ledger.db');
      const registry = new SqliteRegistryStore(file);
      // A real SQLITE_FULL: the file may not grow past its current pages.
      const db = (registry as unknown as { db: { pragma(s: string): unknown } }).db;
      db.pragma('max_page_count = ' + String(db.pragma('page_count', { simple: true } as never)));
      let thrown: unknown;
      for (let i = 0; i < 1000 && thrown === undefined; i++) {
        try {
          await registry.savePrincipal({
            id: `user:u${i}`,
            kind: 'human',
            shared: false,
            disabled: false,
            agent: 'x'.repeat(4000),
          } as never);
        } catch (e) {
          thrown = e;
        }
      }
      expect(thrown).toMatchObject({ code: 'storage_full' });
      const wire = toWireError(thrown);
      expect(wire.status).toBe(507);
      expect(wire.headers).toEqual({ 'retry-after': '10' });
      await registry.close();
      const policy = new SqlitePolicyStore(file);
      await policy.close();
      await expect(policy.saveDecision({ decision_id: 'd1' } as never)).rejects.toThrow(
        expect.objectContaining({ code: 'storage_unavailable' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
