import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { uuidv7 } from '@provenant/core';
import { startCollector } from '@provenant/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, runCliAsync, startCollectorProcess } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-tamper-'));
const N = 300; // more than one 256-entry tile

function rec(i: number) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date(Date.UTC(2026, 10, 27, 13, 0, 0, i)).toISOString(),
    type: 'tool.called',
    initiator: { id: i % 2 ? 'user:alice' : 'user:bob', kind: 'human' },
    actor: { id: `spiffe://acme.test/agent/a${i % 5}/instance/1`, kind: 'agent_instance' },
    action: { name: 'github.read_file', resource: `repo:acme/r${i}` },
  };
}

/** Builds a pristine ledger once; each test tampers with its own copy. */
async function buildLedger(dir: string, origin: string, count: number) {
  const c = await startCollector({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    origin,
    anonymousIngest: 'asserted',
  });
  // Three requests, so the ledger holds checkpoints at 100, 200 and 300.
  for (let start = 0; start < count; start += 100) {
    const body = JSON.stringify([...Array(100).keys()].map((i) => rec(start + i)));
    const res = await fetch(`${c.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    if (res.status !== 200) throw new Error(`seed failed ${res.status}`);
  }
  await c.close();
}

const pristine = join(root, 'pristine');
const other = join(root, 'other');
let key = '';
let n = 0;

beforeAll(async () => {
  await buildLedger(pristine, 'tamper.test/log', N);
  await buildLedger(other, 'tamper.test/log', N); // same origin, another key: a different valid log
  key = readFileSync(join(pristine, 'log-verifier.key'), 'utf8').trim();
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function copyLedger(from = pristine): string {
  const dir = join(root, `case-${n++}`);
  for (const f of ['ledger.db', 'log-signer.key', 'log-verifier.key']) {
    copyFileSync(join(from, f), join(dir, f), 0);
  }
  return dir;
}

describe('provenant verify detects tampering (real process)', () => {
  let dir: string;
  let home: string;
  const verify = (extra: string[] = []) =>
    runCli(['verify', '--data', dir, '--key', key, ...extra], { PROVENANT_HOME: home });
  const sql = (statement: string) => {
    const db = new Database(join(dir, 'ledger.db'));
    db.exec(statement);
    db.close();
  };

  beforeEach(() => {
    mkdirSync(join(root, `case-${n}`), { recursive: true });
    dir = copyLedger();
    home = join(root, `home-${n}`);
  });

  it('passes an untouched log and remembers its checkpoint', () => {
    const r = verify();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`OK tamper.test/log: ${N} entries verified`));
    expect(verify().stdout).toMatch(/consistent with the checkpoint seen before \(size 300\)/);
  });

  it('names the leaf whose record bytes were edited', () => {
    sql(`UPDATE entries SET record = replace(record, 'alice', 'mallory') WHERE leaf_index = 17`);
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL at leaf 17: leaf_hash_mismatch/);
  });

  it('catches an edit whose stored leaf hash was forged to match', () => {
    const db = new Database(join(dir, 'ledger.db'));
    const row = db.prepare('SELECT record FROM entries WHERE leaf_index = 17').get() as {
      record: string;
    };
    const edited = row.record.replace('alice', 'mallory');
    const leaf = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), Buffer.from(edited)]))
      .digest();
    db.prepare('UPDATE entries SET record = ?, leaf_hash = ? WHERE leaf_index = 17').run(
      edited,
      leaf,
    );
    db.close();
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL at leaf 17: subtree_mismatch: Leaf 17 no longer hashes/);
  });

  it('names the leaf whose row was deleted', () => {
    sql('DELETE FROM entries WHERE leaf_index = 40');
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL at leaf 40: missing_entry/);
  });

  it('a deleted row: the collector starts unhealthy, and verify --server exits 1 with its JSON', async () => {
    sql('DELETE FROM entries WHERE leaf_index = 40');
    const c = await startCollectorProcess(dir);
    try {
      // Anyone sees that it is unhealthy and why; the detail needs a role.
      const anonymous = await fetch(`${c.url}/healthz`);
      expect(anonymous.status).toBe(503);
      expect(await anonymous.json()).toEqual({
        status: 'unhealthy',
        reason: 'log_entries_missing',
      });
      const health = await fetch(`${c.url}/healthz`, { headers: c.admin });
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'unhealthy',
        reason: 'log_entries_missing',
        problems: [{ code: 'log_entries_missing', first_missing_leaf: 40 }],
      });
      const tile = await fetch(`${c.url}/tile/entries/000`, { headers: c.admin });
      expect(tile.status).toBe(503);
      expect(((await tile.json()) as { error: { code: string } }).error.code).toBe(
        'log_entries_missing',
      );
      const token = c.admin.authorization.slice('Bearer '.length);
      const r = await runCliAsync(
        ['verify', '--server', c.url, '--key', key, '--token', token, '--json'],
        { PROVENANT_HOME: home },
      );
      expect(r.status, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: false,
        code: 'missing_entry',
        leaf_index: 40,
      });
    } finally {
      c.child.kill('SIGTERM');
      await c.exited;
    }
  });

  it('detects two swapped rows', () => {
    sql(`
      UPDATE entries SET leaf_index = -1 WHERE leaf_index = 5;
      UPDATE entries SET leaf_index = 5 WHERE leaf_index = 6;
      UPDATE entries SET leaf_index = 6 WHERE leaf_index = -1;`);
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL at leaf 5: subtree_mismatch/);
  });

  it('detects an altered inner tile (the hashes proofs read beside a tile)', () => {
    // Tile level 64: the inner tiles of level-0 tiles; one hash of tile 0/0's changed.
    sql(`UPDATE tiles SET hashes = CAST(zeroblob(32) || substr(hashes, 33) AS BLOB)
      WHERE level = 64 AND idx = 0`);
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL at leaf 0: subtree_mismatch: Leaves 0\.\.255 .*inner/);
  });

  it('detects a truncated log against its own checkpoint', () => {
    sql('DELETE FROM entries WHERE leaf_index >= 250');
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL at leaf 250: log_truncated/);
  });

  it('detects a log truncated together with its checkpoints, against the checkpoint seen before', () => {
    expect(verify().status).toBe(0);
    // What remains is a valid, signed log of 200 entries: only the memory of 300 exposes it.
    sql('DELETE FROM entries WHERE leaf_index >= 200; DELETE FROM checkpoints WHERE size > 200;');
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /log_truncated: The signed checkpoint has 200 entries but 300 were seen before/,
    );
  });

  it('detects a database replaced by another valid log', () => {
    expect(verify().status).toBe(0);
    copyFileSync(join(other, 'ledger.db'), join(dir, 'ledger.db'));
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad_checkpoint_signature/);
  });

  it('detects a replaced database and key file by the key seen before', () => {
    expect(verify().status).toBe(0);
    copyFileSync(join(other, 'ledger.db'), join(dir, 'ledger.db'));
    copyFileSync(join(other, 'log-verifier.key'), join(dir, 'log-verifier.key'));
    const r = runCli(['verify', '--data', dir], { PROVENANT_HOME: home });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/key_changed/);
  });

  it('rejects a forged checkpoint signature', () => {
    sql(
      `UPDATE checkpoints SET note = replace(note, char(10) || '300' || char(10), char(10) || '299' || char(10)) WHERE size = 300`,
    );
    const r = verify();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad_checkpoint_signature/);
  });

  it('makes the collector refuse to start on a tampered ledger', async () => {
    sql('DELETE FROM entries WHERE leaf_index = 299');
    await expect(startCollectorProcess(dir)).rejects.toThrow(/log_inconsistent/);
  });

  it('answers usage errors with exit code 2', () => {
    expect(runCli(['verify']).status).toBe(2);
    expect(runCli(['verify', '--data', dir, '--server', 'http://x']).status).toBe(2);
    expect(runCli(['verify', '--data', dir, '--key', 'not-a-key']).status).toBe(2);
    const pgNoKey = runCli(['verify', '--postgres', 'postgres://127.0.0.1:1/x']);
    expect(pgNoKey.status).toBe(2);
    expect(pgNoKey.stderr).toMatch(/--postgres needs --key/);
    expect(runCli(['verify', '--postgres', 'postgres://x/y', '--data', dir]).status).toBe(2);
    expect(runCli(['frobnicate']).status).toBe(2);
    const cluster = runCli(['serve', '--cluster', '--data', join(root, 'never')]);
    expect(cluster.status).toBe(2);
    expect(cluster.stderr).toMatch(/--cluster needs --postgres/);
  });

  it('answers an unreadable ledger with exit code 3', () => {
    const r = runCli(['verify', '--data', join(root, 'nowhere'), '--key', key]);
    expect(r.status).toBe(3);
    // A PostgreSQL nobody listens on (port 1): cannot read, not "verification failed".
    const pg = runCli(['verify', '--postgres', 'postgres://127.0.0.1:1/none', '--key', key]);
    expect(pg.status).toBe(3);
  });
});
