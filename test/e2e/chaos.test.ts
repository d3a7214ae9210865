import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { openNote, parseCheckpoint, parseVerifierKey, verifyConsistency } from '@provenant/ledger';
import pg from 'pg';
import { createRecorder } from '@provenant/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, POLICIES } from '../support/collector.js';
import { PLANNER, RESEARCHER, scenario } from '../support/sdk.js';
import { skipPostgres, startTestPostgres } from '../support/postgres.js';
import type { TestPostgres } from '../support/postgres.js';
import { runCliAsync, startCollectorProcess } from './process.js';
import type { CollectorProcess } from './process.js';

// Issue 8 chaos test: three collectors on one PostgreSQL, concurrent producers, the sequencer
// and a follower killed with SIGKILL again and again, PostgreSQL stopped for 10 seconds. At the
// end every acknowledged id is in the log exactly once, every checkpoint seen during the run is
// consistent with the final one, and `provenant verify` passes.

const COLLECTORS = 3;
const PRODUCERS = 4;
const BATCH = 20;
const SEQUENCER_KILLS = 4;
const OUTAGE_MS = 10_000;
// The address clients reach the cluster at (its load balancer): the issuer of its credentials.
const CLUSTER = 'http://cluster.invalid';

// The refusals the SDK records as a `denied` tool.called outcome (the others record nothing).
const RECORDED_REFUSALS = ['decision_unavailable', 'policy_denied'];

const skip = skipPostgres();

function rec(producer: number) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: `user:producer-${producer}`, kind: 'human' },
    actor: { id: `spiffe://chaos.test/agent/a/instance/${producer}`, kind: 'agent_instance' },
    action: { name: 'fs.write', resource: 'file:/tmp/x', args: { n: Math.random() } },
  };
}

interface Health {
  cluster?: { role: string; pending: number | null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)('chaos: three collectors, one PostgreSQL (real processes)', () => {
  let server: TestPostgres;
  const root = mkdtempSync(join(tmpdir(), 'provenant-chaos-'));
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('loses no acknowledged record and never forks under kills and an outage', async () => {
    const pgUrl = await server.newDatabase();
    const dir = join(root, 'data'); // one set of keys for every member
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'admin.token'), `${ADMIN}\n`, { mode: 0o600 });
    const start = async () =>
      watchExit(
        await startCollectorProcess(dir, [
          ...['--postgres', pgUrl, '--cluster', '--issuer-url', CLUSTER],
          ...['--policies', POLICIES, '--dev-login'],
        ]),
      );
    const live: CollectorProcess[] = [];
    const crashes: string[] = [];
    const watchExit = (c: CollectorProcess) => {
      void c.exited.then((code) => {
        if (live.includes(c)) crashes.push(`${c.url} exited (${code}): ${c.stderr().slice(-2000)}`);
      });
      return c;
    };
    live.push(await start()); // creates the keys
    live.push(...(await Promise.all(Array.from({ length: COLLECTORS - 1 }, () => start()))));
    const key = (await (await fetch(`${live[0]!.url}/v1/log/key`)).text()).trim();
    const verifier = parseVerifierKey(key);

    const acked = new Set<string>();
    const unavailable: { status: number; retryAfter: string | null }[] = [];
    const seen = new Map<number, string>(); // checkpoint size -> root (base64)
    const forks: string[] = [];
    const stop = { now: false };

    // Producers: like the SDK, a batch not acknowledged is sent again (ids make it idempotent).
    const producer = async (n: number) => {
      let batch = Array.from({ length: BATCH }, () => rec(n));
      while (!stop.now) {
        const target = live[Math.floor(Math.random() * live.length)];
        if (!target) {
          await sleep(50);
          continue;
        }
        try {
          const res = await fetch(`${target.url}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(batch),
            signal: AbortSignal.timeout(5000),
          });
          if (res.status === 200) {
            const body = (await res.json()) as {
              accepted: { id: string; leaf_index: number | null; promise?: string }[];
              rejected: unknown[];
            };
            expect(body.rejected).toEqual([]);
            for (const a of body.accepted) {
              expect(a.promise !== undefined || a.leaf_index !== null).toBe(true);
              acked.add(a.id);
            }
            batch = Array.from({ length: BATCH }, () => rec(n));
          } else {
            if (res.status === 503 || res.status === 507) {
              unavailable.push({ status: res.status, retryAfter: res.headers.get('retry-after') });
            } else {
              throw new Error(`unexpected ${res.status}: ${await res.text()}`);
            }
            await sleep(100);
          }
        } catch (e) {
          if ((e as Error).message.startsWith('unexpected')) throw e;
          await sleep(50); // killed, reset or timed out: send the same batch again
        }
      }
    };

    // Watch every member's checkpoint: one size must never have two roots.
    const watcher = async () => {
      while (!stop.now) {
        for (const c of [...live]) {
          try {
            const note = await (
              await fetch(`${c.url}/v1/log/checkpoint`, { signal: AbortSignal.timeout(2000) })
            ).text();
            const cp = parseCheckpoint(openNote(note, [verifier]).text);
            const root = Buffer.from(cp.rootHash).toString('base64');
            const prior = seen.get(cp.size);
            if (prior !== undefined && prior !== root) forks.push(`size ${cp.size}`);
            seen.set(cp.size, root);
          } catch {
            // a member down or restarting
          }
        }
        await sleep(100);
      }
    };

    const roleOf = async (c: CollectorProcess) => {
      try {
        const h = (await (
          await fetch(`${c.url}/healthz`, { headers: c.admin, signal: AbortSignal.timeout(1000) })
        ).json()) as Health;
        return h.cluster?.role ?? null;
      } catch {
        return null;
      }
    };
    const findSequencer = async (timeoutMs: number) => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        for (const c of [...live]) if ((await roleOf(c)) === 'sequencer') return c;
        await sleep(50);
      }
      return null;
    };
    const kill = async (c: CollectorProcess) => {
      live.splice(live.indexOf(c), 1);
      c.child.kill('SIGKILL');
      await c.exited;
    };

    // An agent with the SDK too: its fetch reaches whichever member is up (a load balancer),
    // and it spools while none can take its records.
    const s = await scenario(live[0]!.url);
    let refusedOnce = false;
    // The other members pick the principals up (their registry caches re-read the database).
    const scenarioIds = ['user:alice', 'user:bob', PLANNER, RESEARCHER];
    const knowsScenario = async (c: CollectorProcess) => {
      const res = await fetch(`${c.url}/v1/principals`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const { principals } = (await res.json()) as { principals: { id: string }[] };
      return scenarioIds.every((id) => principals.some((p) => p.id === id));
    };
    for (const end = Date.now() + 20_000; ;) {
      if ((await Promise.all(live.map(knowsScenario))).every(Boolean)) break;
      if (Date.now() > end) throw new Error('the members did not pick the principals up');
      await sleep(50);
    }
    const recorder = createRecorder({
      collectorUrl: CLUSTER,
      identity: s.planner,
      spool: { dir: join(root, 'spool'), fsync: 'batch' },
      batch: { maxRecords: 20, maxDelayMs: 5 },
      retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 200 },
      decisionCacheTtlMs: 600_000,
      fetch: (input, init) => {
        const member = live[Math.floor(Math.random() * live.length)];
        // The first decision request finds no member, as one may under load: every run then
        // has a refused call that is recorded (decision_unavailable) among the counted ones.
        const refuse = !refusedOnce && String(input).endsWith('/v1/decisions');
        if (refuse) refusedOnce = true;
        if (!member || refuse) return Promise.reject(new TypeError('fetch failed'));
        return fetch(String(input).replace(CLUSTER, member.url), init);
      },
    });
    const read = recorder.tool(
      'github.get_file',
      { resource: 'repo:acme/payments', risk: 'low' },
      (i: number) => i,
    );
    const sdkDone: number[] = [];
    const sdkRefused: string[] = [];
    const sdkAgent = async () => {
      const session = await recorder.session({ initiatorToken: s.alice, taskId: 'chaos-sdk' });
      await session.run(async () => {
        for (let i = 0; !stop.now; i++) {
          try {
            sdkDone.push(await read(i));
          } catch (e) {
            // No member reachable for a credential or decision: the call does not run, as an
            // agent would see it; it tries the next one.
            sdkRefused.push((e as { code?: string }).code ?? String(e));
          }
          await sleep(5);
        }
      });
    };

    let ended: PromiseSettledResult<void>[] = [];
    const running = [
      ...Array.from({ length: PRODUCERS }, (_, i) => producer(i)),
      watcher(),
      sdkAgent(),
    ];
    try {
      const takeovers: number[] = [];
      for (let round = 0; round < SEQUENCER_KILLS; round++) {
        await sleep(1200);
        const sequencer = await findSequencer(10_000);
        expect(sequencer, 'no sequencer elected').not.toBeNull();
        await kill(sequencer!);
        const killedAt = Date.now();
        const next = await findSequencer(10_000);
        takeovers.push(Date.now() - killedAt);
        expect(next, 'nobody took over').not.toBeNull();
        if (round === 1) {
          // A follower too.
          const follower = live.find((c) => c !== next);
          if (follower) await kill(follower);
          live.push(await start());
        }
        live.push(await start());
      }
      // Takeover within 5 s of the holder's death.
      expect(Math.max(...takeovers)).toBeLessThan(5000);
      console.log(`chaos: sequencer takeovers after kill -9 took ${takeovers.join(', ')} ms`);

      // PostgreSQL stopped for 10 s: members answer 503 with Retry-After, then recover alone.
      if (server.canPause) {
        const before = unavailable.length;
        server.pause();
        await sleep(OUTAGE_MS);
        server.start();
        const outageAnswers = unavailable.slice(before);
        expect(outageAnswers.length).toBeGreaterThan(0);
        expect(outageAnswers.every((u) => u.status === 503 && u.retryAfter !== null)).toBe(true);
        const ackedBefore = acked.size;
        const end = Date.now() + 20_000;
        while (acked.size === ackedBefore && Date.now() < end) await sleep(100);
        expect(acked.size, 'ingest did not recover after the outage').toBeGreaterThan(ackedBefore);
        expect(await findSequencer(10_000)).not.toBeNull();
      }
      await sleep(1000);
    } finally {
      stop.now = true;
      ended = await Promise.allSettled(running);
    }
    for (const e of ended) if (e.status === 'rejected') throw e.reason;
    expect(await recorder.drain(30_000)).toBe(true);
    const sdkStats = recorder.stats();
    await recorder.close();
    expect(sdkStats).toMatchObject({ rejected: 0, dropped: 0, queued: 0 });

    try {
      expect(crashes, 'a member died on its own').toEqual([]);
      expect(forks).toEqual([]);
      expect(acked.size).toBeGreaterThan(SEQUENCER_KILLS * BATCH);
      // Everything queued gets sequenced: the queue drains and the members agree on the tree.
      const db = new pg.Client({ connectionString: pgUrl });
      await db.connect();
      try {
        const end = Date.now() + 20_000;
        for (;;) {
          const { rows } = await db.query<{ n: string }>(
            'SELECT count(*) AS n FROM ledger_pending',
          );
          if (rows[0]!.n === '0') break;
          if (Date.now() > end) throw new Error(`queue did not drain: ${rows[0]!.n} left`);
          await sleep(100);
        }
        const { rows } = await db.query<{ id: string; n: string }>(
          'SELECT id, count(*) AS n FROM ledger_entries WHERE id = ANY($1::text[]) GROUP BY id',
          [[...acked]],
        );
        const found = new Map(rows.map((r) => [r.id, Number(r.n)]));
        const missing = [...acked].filter((id) => !found.has(id));
        expect(missing, 'acknowledged records missing from the log').toEqual([]);
        expect(rows.every((r) => r.n === '1')).toBe(true);
        // Every call the SDK agent made has exactly one outcome record, spooled or not: a success
        // for each call that ran, a denial for each refusal the SDK records (no decision, or
        // denied by policy), and none for a refusal before anything was recorded.
        const calls = await db.query<{ record: string }>(
          "SELECT record FROM ledger_entries WHERE task_id = 'chaos-sdk' AND type = 'tool.called'",
        );
        const outcomes = calls.rows.map(
          (r) =>
            (JSON.parse(r.record) as { outcome: { status: string; error?: { code: string } } })
              .outcome,
        );
        const byStatus = (status: string) => outcomes.filter((o) => o.status === status);
        expect(byStatus('success').length).toBe(sdkDone.length);
        const recordedRefusals = sdkRefused.filter((c) => RECORDED_REFUSALS.includes(c)).sort();
        expect(
          byStatus('denied')
            .map((o) => o.error?.code)
            .sort(),
        ).toEqual(recordedRefusals);
        expect(outcomes.length).toBe(sdkDone.length + recordedRefusals.length);
        expect(sdkRefused).toContain('decision_unavailable');
        expect(sdkDone.length).toBeGreaterThan(50);
        console.log(
          `chaos: SDK agent made ${sdkDone.length} calls (${sdkRefused.length} refused: ${[...new Set(sdkRefused)].join(', ')}), ${sdkStats.replayed} records replayed from its spool`,
        );
      } finally {
        await db.end();
      }

      // Every checkpoint seen is consistent with the final tree.
      const c = live[0]!;
      // Followers re-read the tree every 250 ms: wait until every member serves the same one.
      let finalNote = '';
      for (const end = Date.now() + 10_000; ;) {
        const notes = await Promise.all(
          live.map(async (m) => (await fetch(`${m.url}/v1/log/checkpoint`)).text()),
        );
        if (notes.every((n) => n === notes[0])) {
          finalNote = notes[0]!;
          break;
        }
        if (Date.now() > end) throw new Error('members do not agree on the checkpoint');
        await sleep(100);
      }
      const final = parseCheckpoint(openNote(finalNote, [verifier]).text);
      expect(final.size).toBeGreaterThanOrEqual(acked.size);
      console.log(
        `chaos: ${acked.size} acknowledged records, final tree ${final.size}, ${seen.size} checkpoints seen, ${unavailable.length} 503/507 answers`,
      );
      expect(seen.size).toBeGreaterThan(SEQUENCER_KILLS);
      for (const [size, root] of seen) {
        if (size === 0 || size > final.size) continue;
        if (size === final.size) {
          expect(root).toBe(Buffer.from(final.rootHash).toString('base64'));
          continue;
        }
        const proof = (await (
          await fetch(`${c.url}/v1/log/consistency?from=${size}&to=${final.size}`)
        ).json()) as { hashes: string[] };
        expect(() =>
          verifyConsistency(
            size,
            final.size,
            proof.hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64'))),
            Buffer.from(root, 'base64'),
            final.rootHash,
          ),
        ).not.toThrow();
      }

      // And the whole log verifies against its signed checkpoint, through the API.
      const v = await runCliAsync(['verify', '--server', c.url, '--key', key, '--json'], {
        PROVENANT_TOKEN: c.admin.authorization.slice('Bearer '.length),
        PROVENANT_HOME: join(root, 'home'),
      });
      expect(v.status, v.stderr).toBe(0);
      expect((JSON.parse(v.stdout) as { ok: boolean }).ok).toBe(true);

      // And straight from the database, read-only (as after restoring a backup)...
      const home = { PROVENANT_HOME: join(root, 'home-pg') };
      const fromDb = await runCliAsync(
        ['verify', '--postgres', pgUrl, '--key', key, '--json'],
        home,
      );
      expect(fromDb.status, fromDb.stderr).toBe(0);
      const dbResult = JSON.parse(fromDb.stdout) as { ok: boolean; size: number };
      expect(dbResult.ok).toBe(true);
      // The member read above may lag the stored tree by one refresh (250 ms).
      expect(dbResult.size).toBeGreaterThanOrEqual(final.size);
      // ...where one edited byte of one record fails it.
      const db2 = new pg.Client({ connectionString: pgUrl });
      await db2.connect();
      const victim = [...acked][0]!;
      const { rows: hit } = await db2.query<{ leaf_index: string }>(
        "UPDATE ledger_entries SET record = replace(record, 'fs.write', 'fs.wrote') WHERE id = $1 RETURNING leaf_index",
        [victim],
      );
      expect(hit).toHaveLength(1);
      await db2.end();
      const tampered = await runCliAsync(
        ['verify', '--postgres', pgUrl, '--key', key, '--json'],
        home,
      );
      expect(tampered.status).toBe(1);
      expect(tampered.stdout).toContain(`"leaf_index":${hit[0]!.leaf_index}`);
    } finally {
      for (const c of live) c.child.kill('SIGTERM');
      await Promise.all(live.map((c) => c.exited));
    }
  }, 240_000);
});
