import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ATTRIBUTION_LEVELS, uuidv7 } from '@provenant/core';
import type { AttributionLevel, EventRecord } from '@provenant/core';
import { Log, MemoryStorage, parseSignerKey } from '@provenant/ledger';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import type { LogStorage } from '@provenant/ledger';
import { afterAll, describe, expect, it } from 'vitest';
import { actionClassesOf, isActionRecord } from '@provenant/core';
import { DEFAULT_LIMITS, buildApp } from '../src/index.js';
import { fillCoverageFacts } from '../src/investigate/coverage.js';
import type { CoverageReport } from '../src/index.js';
import { prepareOwnRecord } from '../src/ingest/prepare.js';
import { ADMIN_TOKEN, KEYS, record, asAdmin } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-coverage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-27T13:00:00Z');
const iso = (i: number) => new Date(T0 + i * 1000).toISOString();
const LIFETIMES = [300, 600, 3600, 7200, 86_400, 120];

/**
 * A small ledger with every case the report counts: actions of each class and level, with and
 * without decisions, pooled accounts with several instances and tasks, credential records of
 * every lifetime bucket, witness records that carry an action, and a non-action record.
 */
function crafted(): { record: EventRecord; level: AttributionLevel }[] {
  const out: { record: EventRecord; level: AttributionLevel }[] = [];
  for (let i = 0; i < 72; i++) {
    let level = ATTRIBUTION_LEVELS[i % 4]!;
    const kind = i % 9;
    let r: Record<string, unknown>;
    if (kind === 8) {
      level = 'verified';
      const iat = 1_795_000_000 + i;
      r = record({
        type: i % 2 ? 'credential.issued' : 'delegation.granted',
        action: { name: 'issuer.grant', resource: `credential:${i}` },
        credential: {
          jti: `jti-${i}`,
          iss: 'https://issuer.test',
          iat,
          exp: iat + LIFETIMES[((i / 9) % LIFETIMES.length) | 0]!,
        },
      });
    } else if (kind === 7) {
      r = record({ type: 'prompt.received' });
      delete r['action'];
      delete r['outcome'];
    } else {
      const pooled = level === 'pooled';
      r = record({
        type: kind === 6 ? 'agent.invoked' : 'tool.called',
        actor: pooled
          ? {
              id: `sa:pool-${i % 3}`,
              kind: 'service_account',
              ...(i % 5 === 0 ? {} : { instance: `inst-${i % 5}` }),
            }
          : { id: `spiffe://acme.test/agent/a/instance/${i % 3}`, kind: 'agent_instance' },
        action: {
          name: `tool.${i}`,
          resource: `res:${i}`,
          class: { privileged: i % 2 === 1, irreversible: i % 3 === 0, external: i % 5 === 0 },
        },
        ...(i % 3 === 1
          ? { policy: { decision_id: `dec-${i}`, engine: 'cedar', decision: 'allow' } }
          : {}),
        task_id: `task-${i % 4}`,
      });
    }
    r['id'] = uuidv7();
    r['time'] = iso(i);
    out.push({ record: r as unknown as EventRecord, level });
  }
  return out;
}

async function ledgerOn(storage: LogStorage, records: ReturnType<typeof crafted>) {
  const log = await Log.open({ storage, signer: parseSignerKey(KEYS.signerKey) });
  const prepared = records.map(({ record: r, level }) => {
    // The issuer's grants as the token route writes them (only those count in coverage).
    const reasons = CREDENTIAL.has(r.type) ? ['issuer_witness'] : [];
    const p = prepareOwnRecord(structuredClone(r), { level, reasons });
    if (!p.ok) throw new Error(`${p.code}: ${p.message}`);
    return p.entry;
  });
  await log.append(prepared);
  return {
    log,
    app: buildApp({
      log,
      storage,
      limits: DEFAULT_LIMITS,
      adminToken: ADMIN_TOKEN,
      anonymousIngest: 'asserted',
    }),
  };
}

type App = ReturnType<typeof buildApp>;

async function report(app: App, query = ''): Promise<CoverageReport> {
  const res = await app.inject({ headers: asAdmin, url: `/v1/reports/coverage${query}` });
  expect(res.statusCode).toBe(200);
  return res.json() as CoverageReport;
}

/** Every record behind a link, following `next` with small pages. */
async function follow(app: App, href: string): Promise<string[]> {
  const ids: string[] = [];
  let url: string | null = `${href}&limit=7`;
  while (url) {
    const res = await app.inject({ headers: asAdmin, url });
    expect(res.statusCode, url).toBe(200);
    const page = res.json() as { records: { id: string }[]; next: string | null };
    ids.push(...page.records.map((r) => r.id));
    url = page.next;
  }
  return ids;
}

/** What each measure counts, written out from the records (independent of MEASURES). */
function expected(
  records: ReturnType<typeof crafted>,
  from?: number,
  to?: number,
): Record<string, string[]> {
  const m: Record<string, string[]> = {};
  const add = (k: string, id: string) => (m[k] ??= []).push(id);
  for (const { record: r, level } of records) {
    const t = Date.parse(r.time);
    if ((from !== undefined && t < from) || (to !== undefined && t >= to)) continue;
    add('records', r.id);
    if (CREDENTIAL.has(r.type) && r.credential) {
      const s = r.credential.exp - r.credential.iat;
      add('credential_lifetimes', r.id);
      add(
        `credential_lifetimes.${s <= 300 ? 'le_5m' : s <= 900 ? 'le_15m' : s <= 3600 ? 'le_1h' : 'over_1h'}`,
        r.id,
      );
    }
    if (!isActionRecord(r)) continue;
    add('actions', r.id);
    const decided = r.policy?.decision_id !== undefined;
    for (const c of actionClassesOf(r)) {
      add(`by_class.${c}.total`, r.id);
      add(`by_class.${c}.${level}`, r.id);
    }
    if (r.action?.class?.privileged) {
      add('privileged.total', r.id);
      if (level === 'verified') add('privileged.verified', r.id);
      if (decided) add('privileged.with_decision', r.id);
      if (decided && level === 'verified') add('privileged.verified_with_decision', r.id);
      if (level === 'asserted' || level === 'unattributed') add('weak_privileged', r.id);
    }
    if (!decided) add('without_decision', r.id);
    if (level === 'pooled') {
      add('pooled_accounts', r.id);
      add(`pooled:${r.actor!.id}`, r.id);
    }
  }
  return m;
}
const CREDENTIAL = new Set(['credential.issued', 'delegation.granted']);

/** The number the report gives for a measure. */
function countOf(r: CoverageReport, measure: string): number {
  const path = measure.split('.');
  if (measure === 'pooled_accounts') return r.pooled_accounts.reduce((a, p) => a + p.records, 0);
  if (measure === 'credential_lifetimes') return r.credential_lifetimes.count;
  if (path[0] === 'credential_lifetimes') return r.credential_lifetimes.buckets[path[1] as 'le_5m'];
  if (measure === 'weak_privileged' || measure === 'without_decision') return r[measure].count;
  let v: unknown = r;
  for (const k of path) v = (v as Record<string, unknown>)[k];
  return v as number;
}

async function checkLinks(app: App, r: CoverageReport, want: Record<string, string[]>) {
  const links = r.links!;
  expect(Object.keys(links).length).toBeGreaterThanOrEqual(33);
  for (const [measure, href] of Object.entries(links)) {
    const ids = await follow(app, href);
    expect(ids.length, measure).toBe(countOf(r, measure));
    expect(ids, measure).toEqual(want[measure] ?? []);
  }
  for (const p of r.pooled_accounts) {
    const ids = await follow(app, p.href!);
    expect(ids.length).toBe(p.records);
    expect(ids).toEqual(want[`pooled:${p.account}`]);
  }
  expect(r.weak_privileged.href).toBe(links['weak_privileged']);
  expect(r.without_decision.href).toBe(links['without_decision']);
  expect(r.credential_lifetimes.over_1h.href).toBe(links['credential_lifetimes.over_1h']);
}

/** The schema-1 SQLite layout (before coverage facts), as earlier versions created it. */
const V1_DDL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
  leaf_index INTEGER PRIMARY KEY, id TEXT NOT NULL, record TEXT NOT NULL, leaf_hash BLOB NOT NULL,
  type TEXT NOT NULL, time_us INTEGER NOT NULL, initiator TEXT, actor TEXT, task_id TEXT,
  trace_id TEXT, level TEXT NOT NULL
);
CREATE UNIQUE INDEX entries_id ON entries(id);
CREATE INDEX entries_time ON entries(time_us);
CREATE INDEX entries_level ON entries(level);
CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root_hash BLOB NOT NULL, note TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
`;

/** Copies a ledger file into a new file of the schema-1 layout. */
function downgrade(from: string, to: string): void {
  const old = new Database(to);
  old.exec(V1_DDL);
  old.exec(`ATTACH DATABASE '${from}' AS cur`);
  old.exec(`INSERT INTO entries SELECT leaf_index, id, record, leaf_hash, type, time_us, initiator,
    actor, task_id, trace_id, level FROM cur.entries`);
  // The subtree hashes a read-only opening reads (those of every eighth level), from the tiles.
  const insertNode = old.prepare('INSERT INTO nodes VALUES (?, ?, ?)');
  const tiles = old.prepare('SELECT level, idx, hashes FROM cur.tiles WHERE level > 0').all() as {
    level: number;
    idx: number;
    hashes: Buffer;
  }[];
  for (const t of tiles) {
    for (let k = 0; k < t.hashes.length / 32; k++) {
      insertNode.run(8 * t.level, 256 * t.idx + k, t.hashes.subarray(32 * k, 32 * k + 32));
    }
  }
  old.exec('INSERT INTO checkpoints SELECT * FROM cur.checkpoints');
  old.exec('DETACH DATABASE cur');
  old.close();
}

describe('coverage: every count links to exactly its records', () => {
  const records = crafted();
  const want = expected(records);
  const FROM = '2026-11-27T13:00:10Z';
  const TO = '2026-11-27T13:00:50Z';
  const wantRanged = expected(records, Date.parse(FROM), Date.parse(TO));

  it('on the memory driver, over everything and over a range', async () => {
    const { app } = await ledgerOn(new MemoryStorage(), records);
    const r = await report(app);
    expect(r.records).toBe(72);
    expect(r.pooled_accounts.length).toBe(3);
    expect(r.credential_lifetimes.buckets).toEqual({ le_5m: 3, le_15m: 2, le_1h: 1, over_1h: 2 });
    expect(r.credential_lifetimes.over_1h.items.map((i) => i.lifetime_sec)).toEqual([7200, 86_400]);
    await checkLinks(app, r, want);
    const ranged = await report(app, `?from=${FROM}&to=${TO}`);
    expect(ranged.records).toBe(40);
    expect(ranged.links!['records']).toContain(`from=${encodeURIComponent(FROM)}`);
    await checkLinks(app, ranged, wantRanged);
  });

  it('on SQLite: the same report and links; a schema-1 file is migrated and gives them too', async () => {
    const mem = await report((await ledgerOn(new MemoryStorage(), records)).app);
    const file = join(dir, 'current.db');
    const storage = new SqliteStorage(file);
    const { app, log } = await ledgerOn(storage, records);
    const r = await report(app);
    expect(r).toEqual(mem);
    await checkLinks(app, r, want);
    await log.close();
    await storage.close();

    // A file of the old layout: read-only it is served by reading the records …
    const oldFile = join(dir, 'v1.db');
    downgrade(file, oldFile);
    const ro = new SqliteStorage(oldFile, { readonly: true });
    expect(await ro.lacksCoverageFacts({})).toBe(true);
    const roApp = buildApp({
      log: await Log.open({ storage: ro, signer: parseSignerKey(KEYS.signerKey) }),
      storage: ro,
      limits: DEFAULT_LIMITS,
      adminToken: ADMIN_TOKEN,
      anonymousIngest: 'asserted',
    });
    const roReport = await report(roApp);
    expect(roReport).toEqual(mem);
    await checkLinks(roApp, roReport, want);
    await ro.close();

    // … and opened for writing it is migrated to schema 3, its facts filled from the records by
    // core's rule (the collector does this at start).
    const migrated = new SqliteStorage(oldFile);
    expect(await migrated.lacksCoverageFacts({})).toBe(true);
    expect(await fillCoverageFacts(migrated)).toBe(records.length);
    expect(await migrated.lacksCoverageFacts({})).toBe(false);
    const mLog = await Log.open({ storage: migrated, signer: parseSignerKey(KEYS.signerKey) });
    const mApp = buildApp({
      log: mLog,
      storage: migrated,
      limits: DEFAULT_LIMITS,
      adminToken: ADMIN_TOKEN,
      anonymousIngest: 'asserted',
    });
    const mReport = await report(mApp);
    expect(mReport).toEqual(mem);
    await checkLinks(mApp, mReport, want);
    const ranged = await report(mApp, `?from=${FROM}&to=${TO}`);
    await checkLinks(mApp, ranged, wantRanged);
    await mLog.close();
    await migrated.close();
    const db = new Database(oldFile, { readonly: true });
    expect(
      db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string },
    ).toEqual({ value: '6' });
    db.close();
  });

  it('answers bad input on the records route with stable codes', async () => {
    const { app } = await ledgerOn(new MemoryStorage(), records.slice(0, 5));
    const bad = async (query: string) => {
      const res = await app.inject({
        headers: asAdmin,
        url: `/v1/reports/coverage/records${query}`,
      });
      return [res.statusCode, (res.json() as { error: { code: string } }).error.code];
    };
    expect(await bad('?measure=nope')).toEqual([400, 'unknown_measure']);
    expect(await bad('?measure=toString')).toEqual([400, 'unknown_measure']);
    expect(await bad('')).toEqual([400, 'invalid_parameter']);
    expect(await bad('?measure=records&measure=actions')).toEqual([400, 'invalid_parameter']);
    expect(await bad('?measure=records&from=2026-11-27T13:00:00Z&to=2026-11-27T12:00:00Z')).toEqual(
      [400, 'invalid_time_range'],
    );
    expect(await bad('?measure=records&from=yesterday')).toEqual([400, 'invalid_parameter']);
    for (const limit of ['0', '1001', '-1', 'x', '1.5'])
      expect(await bad(`?measure=records&limit=${limit}`)).toEqual([400, 'invalid_parameter']);
    expect(await bad('?measure=records&after=abc')).toEqual([400, 'invalid_parameter']);
    expect(await bad('?measure=actions&account=sa:x')).toEqual([400, 'invalid_parameter']);
    expect(await bad('?measure=records&level=verified')).toEqual([400, 'invalid_parameter']);
    const ok = await app.inject({
      headers: asAdmin,
      url: '/v1/reports/coverage/records?measure=records&limit=2',
    });
    expect(ok.statusCode).toBe(200);
    const page = ok.json() as { records: { leaf_index: number }[]; next_after: string };
    expect(page.records.map((r) => r.leaf_index)).toEqual([0, 1]);
    expect(page.next_after).toBe('1');
  });
});

describe('coverage of an older ledger counts each action once', () => {
  it('an intent and its outcome stored before the facts existed are one action once filled', async () => {
    const file = join(dir, 'once.db');
    const storage = new SqliteStorage(file);
    const log = await Log.open({ storage, signer: parseSignerKey(KEYS.signerKey) });
    const app = buildApp({
      log,
      storage,
      limits: DEFAULT_LIMITS,
      adminToken: ADMIN_TOKEN,
      anonymousIngest: 'asserted',
    });
    const post = async (...records: Record<string, unknown>[]) => {
      const res = await app.inject({ method: 'POST', url: '/v1/events', payload: records });
      expect(res.statusCode, res.body).toBe(200);
    };
    const privileged = async (a: App) => (await report(a)).by_class.privileged.total;
    const pair = () => {
      const intent = record({ id: uuidv7(), outcome: { status: 'pending' } });
      const outcome = record({
        id: uuidv7(),
        cause: { kind: 'agent_decision', record_id: intent['id'] },
      });
      return { intent, outcome };
    };
    // One pair sent together, one apart, and a record of another actor naming an intent: three
    // actions (the other actor's is one of its own), as the live ledger counts them.
    const first = pair();
    const second = pair();
    await post(first.intent, first.outcome);
    await post(second.intent);
    await post(second.outcome);
    await post(
      record({
        id: uuidv7(),
        actor: { id: 'spiffe://acme.test/agent/mallory/instance/1', kind: 'agent_instance' },
        cause: { kind: 'agent_decision', record_id: second.intent['id'] },
      }),
    );
    expect(await privileged(app)).toBe(3);
    await log.close();
    await storage.close();

    const oldFile = join(dir, 'once-v1.db');
    downgrade(file, oldFile);
    const appOn = async (s: SqliteStorage) =>
      buildApp({
        log: await Log.open({ storage: s, signer: parseSignerKey(KEYS.signerKey) }),
        storage: s,
        limits: DEFAULT_LIMITS,
        adminToken: ADMIN_TOKEN,
        anonymousIngest: 'asserted',
      });
    // Read-only, the facts are computed from the records: the same rule, the same count.
    const ro = new SqliteStorage(oldFile, { readonly: true });
    expect(await ro.lacksCoverageFacts({})).toBe(true);
    expect(await privileged(await appOn(ro))).toBe(3);
    await ro.close();
    // Migrated and filled (as the collector does at start): stored facts, the same count.
    const migrated = new SqliteStorage(oldFile);
    expect(await fillCoverageFacts(migrated)).toBe(5);
    expect(await migrated.lacksCoverageFacts({})).toBe(false);
    const mApp = await appOn(migrated);
    expect(await privileged(mApp)).toBe(3);
    const res = await mApp.inject({
      headers: asAdmin,
      url: '/v1/reports/coverage/records?measure=privileged.total',
    });
    const ids = (res.json() as { records: { id: string }[] }).records.map((r) => r.id);
    expect(ids).toContain(first.intent['id']);
    expect(ids).toContain(second.intent['id']);
    expect(ids).not.toContain(first.outcome['id']);
    expect(ids).not.toContain(second.outcome['id']);
    await migrated.close();
  });
});
