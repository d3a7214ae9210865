import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatAddCheckpoint,
  generateSignerKey,
  parseCosignerVerifierKey,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  formatCheckpoint,
  verifyCosignedCheckpoint,
} from '@provenant/ledger';
import { WITNESS_KEY_FILE, startCollector, startWitness } from '../src/index.js';
import { COSIGNED_CHECKPOINT_FILE } from '../src/data-folder.js';
import type { RunningCollector, RunningWitness } from '../src/index.js';
import { ADMIN_TOKEN, bearer, record } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'provenant-witness-'));
const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const o of open.reverse()) await o.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const dir = (name: string) => join(root, `${name}-${n++}`);

async function collector(
  dataDir: string,
  witnesses: readonly RunningWitness[] = [],
  witnessPolicy?: number,
  extra: { url: string; verifierKey: string }[] = [],
): Promise<RunningCollector> {
  const c = await startCollector({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    origin: 'witness.test/log',
    adminToken: ADMIN_TOKEN,
    witnesses: [...witnesses.map((w) => ({ url: w.url, verifierKey: w.verifierKey })), ...extra],
    ...(witnessPolicy === undefined ? {} : { witnessPolicy }),
    witnessIntervalMs: 60_000, // the tests drive cosignNow() themselves
    anonymousIngest: 'asserted', // the tests post records without a credential
  });
  open.push(c);
  return c;
}

async function witness(logKey: string, name?: string, dataDir = dir('w')): Promise<RunningWitness> {
  const w = await startWitness({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    logs: [`witness.test/log=${logKey}`],
    ...(name ? { name } : {}),
  });
  open.push(w);
  return w;
}

async function ingest(c: RunningCollector, count: number, tag = 'a'): Promise<void> {
  const records = Array.from({ length: count }, (_, i) =>
    record({
      action: { name: 'repo.read', resource: `repo:acme/${tag}-${i}` },
    }),
  );
  const r = await fetch(`${c.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
  expect(r.status).toBe(200);
}

async function published(c: RunningCollector): Promise<string> {
  return (await fetch(`${c.url}/v1/log/checkpoint`)).text();
}

const keyOf = (w: RunningWitness) => parseCosignerVerifierKey(w.verifierKey);

/** The collector answers health 503 `log_behind_witness` and refuses appends with that code. */
async function expectRefusing(
  c: RunningCollector,
  problem: { source: string; kind: 'behind' | 'fork'; size: number },
): Promise<void> {
  const health = await fetch(`${c.url}/healthz`, { headers: bearer(ADMIN_TOKEN) });
  expect(health.status).toBe(503);
  expect(await health.json()).toMatchObject({
    status: 'unhealthy',
    reason: 'log_behind_witness',
    problems: expect.arrayContaining([
      expect.objectContaining({ code: 'log_behind_witness', ...problem }),
    ]) as unknown,
    log: { appends_refused: true },
  });
  const before = c.log.size;
  const r = await fetch(`${c.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([record({ action: { name: 'repo.read', resource: 'repo:acme/x' } })]),
  });
  expect(r.status).toBe(503);
  expect(((await r.json()) as { error: { code: string } }).error.code).toBe('log_behind_witness');
  expect(c.log.size).toBe(before);
}

describe('witness server (POST /add-checkpoint)', () => {
  it('makes its key on first start (0600) and keeps it', async () => {
    const data = dir('key');
    const logKey = generateSignerKey('witness.test/log').verifierKey;
    const a = await witness(logKey, 'w.test/keep', data);
    expect(statSync(join(data, WITNESS_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(a.verifierKey).toMatch(/^w\.test\/keep\+[0-9a-f]{8}\+/);
    await a.close();
    const b = await witness(logKey, undefined, data);
    expect(b.verifierKey).toBe(a.verifierKey);
    expect((await (await fetch(`${b.url}/key`)).text()).trim()).toBe(a.verifierKey);
  });

  it('answers each status code of the spec', async () => {
    const keys = generateSignerKey('witness.test/log');
    const signer = parseSignerKey(keys.signerKey);
    const wData = dir('codes');
    const w = await witness(keys.verifierKey, undefined, wData);
    const post = (body: string) => fetch(`${w.url}/add-checkpoint`, { method: 'POST', body });
    const root = (b: number) => new Uint8Array(32).fill(b);
    const cp = (size: number, r: Uint8Array, s = signer) =>
      signNote(formatCheckpoint({ origin: s.name, size, rootHash: r, extensions: [] }), [s]);

    // 400: malformed
    const bad = await post('hello');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe(
      'malformed_add_checkpoint',
    );
    // 404: unknown origin
    const other = parseSignerKey(generateSignerKey('other.test/log').signerKey);
    const unknown = await post(
      formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: cp(1, root(1), other) }),
    );
    expect(unknown.status).toBe(404);
    // 403: not signed by the known key
    const impostor = parseSignerKey(generateSignerKey('witness.test/log').signerKey);
    const forged = await post(
      formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: cp(1, root(1), impostor) }),
    );
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe(
      'log_signature_invalid',
    );
    // 200: first checkpoint
    const ok = await post(
      formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: cp(1, root(1)) }),
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^\u2014 \S+ \S+\n$/);
    // 409: old does not match; the body is the witness's size
    const conflict = await post(
      formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: cp(2, root(2)) }),
    );
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('content-type')).toBe('text/x.tlog.size');
    expect(await conflict.text()).toBe('1\n');
    // 422: a proof that does not lead from the cosigned root
    const unproven = await post(
      formatAddCheckpoint({ oldSize: 1, proof: [root(9)], checkpoint: cp(2, root(2)) }),
    );
    expect(unproven.status).toBe(422);
    expect(((await unproven.json()) as { error: { code: string } }).error.code).toBe(
      'consistency_proof_failed',
    );
    // 405 / 404 for other routes
    expect((await fetch(`${w.url}/add-checkpoint`)).status).toBe(405);
    expect((await fetch(`${w.url}/nope`)).status).toBe(404);

    // The state survives a restart: a rolled-back client still gets 409 with size 1.
    await w.close();
    const restarted = await startWitness({
      dataDir: wData,
      host: '127.0.0.1',
      port: 0,
      logs: [keys.verifierKey], // a bare key: its name is the origin
    });
    open.push(restarted);
    const after = await fetch(`${restarted.url}/add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: cp(1, root(1)) }),
    });
    expect(after.status).toBe(409);
    expect(await after.text()).toBe('1\n');
  });
});

describe('collector with witnesses', () => {
  it('publishes checkpoints cosigned by k of n witnesses', async () => {
    const data = dir('c');
    // The log key exists once the collector has started once.
    const first = await collector(data);
    const logKey = first.log.verifierKey;
    await first.close();
    const ws = [await witness(logKey, 'w.test/a'), await witness(logKey, 'w.test/b')];
    const down = {
      url: 'http://127.0.0.1:9',
      verifierKey: (await witness(logKey, 'w.test/c')).verifierKey,
    };
    const c = await collector(data, ws, 2, [down]);
    const logVerifier = parseVerifierKey(logKey);
    const keys = [...ws.map(keyOf), parseCosignerVerifierKey(down.verifierKey)];

    await ingest(c, 3);
    await c.cosigner!.cosignNow();
    let note = await published(c);
    let v = verifyCosignedCheckpoint(note, logVerifier, keys, 2);
    expect(v.checkpoint.size).toBe(3);
    expect(v.cosignatures.map((s) => s.name).sort()).toEqual(['w.test/a', 'w.test/b']);
    expect(() => verifyCosignedCheckpoint(note, logVerifier, keys, 3)).toThrow(/policy needs 3/);
    // /checkpoint (tlog-tiles) stays the latest, as signed by the log alone.
    expect(await (await fetch(`${c.url}/checkpoint`)).text()).toBe(c.log.latestCheckpoint().note);
    const status = c.cosigner!.status();
    expect(status.find((s) => s.name === 'w.test/c')!.lastError).toMatch(/cannot be reached/);

    // The log grows: the next round sends a consistency proof from size 3.
    await ingest(c, 4, 'b');
    note = await published(c);
    expect(verifyCosignedCheckpoint(note, logVerifier, keys, 2).checkpoint.size).toBe(3);
    await c.cosigner!.cosignNow();
    v = verifyCosignedCheckpoint(await published(c), logVerifier, keys, 2);
    expect(v.checkpoint.size).toBe(7);

    // A restarted collector does not remember the witnesses' sizes: 409 tells it, then it proves.
    await c.close();
    const again = await collector(data, ws, 2);
    // The published checkpoint is kept in the data folder and served again at once.
    expect(
      verifyCosignedCheckpoint(await published(again), logVerifier, keys, 2).checkpoint.size,
    ).toBe(7);
    await ingest(again, 1, 'c');
    await again.cosigner!.cosignNow();
    expect(
      verifyCosignedCheckpoint(await published(again), logVerifier, keys, 2).checkpoint.size,
    ).toBe(8);
    await again.close();
  });

  it('a rolled-back or replaced ledger is not extended: unhealthy, appends refused, no cosignature', async () => {
    const data = dir('fork');
    const backup = dir('backup');
    const replaced = dir('replaced');
    const first = await collector(data);
    const logKey = first.log.verifierKey;
    await ingest(first, 3);
    await first.close();
    cpSync(data, backup, { recursive: true }); // a backup at size 3
    const w = await witness(logKey, 'w.test/fork');
    const logVerifier = parseVerifierKey(logKey);

    const c = await collector(data, [w], 1);
    await ingest(c, 3, 'later');
    await c.cosigner!.cosignNow();
    expect(
      verifyCosignedCheckpoint(await published(c), logVerifier, [keyOf(w)], 1).checkpoint.size,
    ).toBe(6);
    await c.close();

    // Rolled back: the backup (size 3) is restored over the data folder; the witness cosigned 6.
    // The collector asks its witnesses before it listens, so it refuses from the first request.
    const rolled = await collector(backup, [w], 1);
    expect(rolled.cosigner!.status()[0]!.lastError).toMatch(/rolled back or replaced/);
    await expectRefusing(rolled, { source: 'witness w.test/fork', kind: 'behind', size: 6 });
    const note1 = await published(rolled);
    expect(() => verifyCosignedCheckpoint(note1, logVerifier, [keyOf(w)], 1)).toThrow(
      expect.objectContaining({ code: 'witness_policy_unmet' }) as Error,
    );
    expect(rolled.log.size).toBe(3);
    await rolled.close();

    // Only ledger.db rolled back: the data folder's own cosigned checkpoint shows it, no witness needed.
    const ledgerOnly = dir('ledger-only');
    cpSync(data, ledgerOnly, { recursive: true });
    cpSync(join(backup, 'ledger.db'), join(ledgerOnly, 'ledger.db'));
    const alone = await collector(ledgerOnly);
    await expectRefusing(alone, { source: 'cosigned-checkpoint', kind: 'behind', size: 6 });
    await alone.close();

    // Replaced: a new database under the same log key, with other records, same size (409).
    cpSync(join(data, 'log-signer.key'), join(replaced, 'log-signer.key'), { recursive: true });
    const building = await collector(replaced);
    await ingest(building, 6, 'other');
    await building.close();
    const other = await collector(replaced, [w], 1);
    expect(other.cosigner!.status()[0]!.lastError).toMatch(/forked/);
    await expectRefusing(other, { source: 'witness w.test/fork', kind: 'fork', size: 6 });
    // Even the genuine cosigned checkpoint of the other tree is not served over this one.
    cpSync(join(data, COSIGNED_CHECKPOINT_FILE), join(replaced, COSIGNED_CHECKPOINT_FILE));
    await other.close();
    const both = await collector(replaced, [w], 1);
    await expectRefusing(both, { source: 'cosigned-checkpoint', kind: 'fork', size: 6 });
    const note3 = await published(both);
    expect(() => verifyCosignedCheckpoint(note3, logVerifier, [keyOf(w)], 1)).toThrow(
      expect.objectContaining({ code: 'witness_policy_unmet' }) as Error,
    );
    await both.close();

    // Recovery: the missing entries restored (the newer ledger.db back in place), the collector
    // starts healthy, appends again and the witness cosigns the extension.
    cpSync(join(data, 'ledger.db'), join(backup, 'ledger.db'));
    const restored = await collector(backup, [w], 1);
    const healthy = await fetch(`${restored.url}/healthz`, { headers: bearer(ADMIN_TOKEN) });
    expect(healthy.status).toBe(200);
    await ingest(restored, 2, 'after');
    await restored.cosigner!.cosignNow();
    expect(
      verifyCosignedCheckpoint(await published(restored), logVerifier, [keyOf(w)], 1).checkpoint
        .size,
    ).toBe(8);
    await restored.close();
  });

  it('a grown-over fork (the witness refuses the proof, 422) is refused too', async () => {
    const data = dir('grown');
    const first = await collector(data);
    const w = await witness(first.log.verifierKey, 'w.test/grown');
    await first.close();
    const c = await collector(data, [w], 1);
    await ingest(c, 2);
    await c.cosigner!.cosignNow();
    await c.close();
    const forked = dir('grown-fork');
    cpSync(join(data, 'log-signer.key'), join(forked, 'log-signer.key'));
    const building = await collector(forked);
    await ingest(building, 5, 'other'); // past the witness's size 2, with other records
    await building.close();
    const f = await collector(forked, [w], 1);
    expect(f.cosigner!.status()[0]!.lastError).toMatch(/\(422\)/);
    await expectRefusing(f, { source: 'witness w.test/grown', kind: 'fork', size: 2 });
    await f.close();
  });
});
