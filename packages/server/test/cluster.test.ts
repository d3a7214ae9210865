import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import {
  Log,
  MemoryStorage,
  generateSignerKey,
  openPromise,
  parseSignerKey,
  parseVerifierKey,
  verifyConsistency,
} from '@provenant/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, buildApp, startCollector } from '../src/index.js';
import type { RunningCollector } from '../src/index.js';
import {
  ADMIN,
  ADMIN_HEADERS,
  POLICIES,
  devLogin,
  grantRole,
  register,
} from '../../../test/support/collector.js';
import { skipPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import type { TestPostgres } from '../../../test/support/postgres.js';

const skip = skipPostgres();
const TUNING = { leaseRetryMs: 100, sequenceIdleMs: 20, refreshMs: 100, leaseCheckMs: 200 };

function rec(n: number, extra: Record<string, unknown> = {}) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: `spiffe://cluster.test/agent/a/instance/${n}`, kind: 'agent_instance' },
    action: { name: 'fs.read', resource: `file:/tmp/${n}` },
    ...extra,
  };
}

interface Health {
  log: { size: number };
  cluster: { role: 'sequencer' | 'follower'; pending: number | null };
}

async function health(c: RunningCollector): Promise<Health> {
  return (await (await fetch(`${c.url}/healthz`, { headers: ADMIN_HEADERS })).json()) as Health;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function post(c: RunningCollector, body: unknown, bearer?: string) {
  const res = await fetch(`${c.url}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      accepted: {
        id: string;
        leaf_index: number | null;
        promise?: string;
        promise_proof?: { leaf_hash: string; index: number; path: string[] };
      }[];
      rejected: { code: string }[];
    },
  };
}

describe('a cluster member before the sequencer takes a record', () => {
  it('answers it as queued (404 record_queued, Retry-After), not as unknown', async () => {
    const storage = new MemoryStorage();
    const signer = parseSignerKey(generateSignerKey('cluster.test/log').signerKey);
    const log = await Log.open({ storage, signer, ingest: 'queue' });
    const app = buildApp({
      log,
      storage,
      limits: DEFAULT_LIMITS,
      adminToken: ADMIN,
      anonymousIngest: 'asserted',
    });
    const r = rec(1);
    const posted = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(r),
    });
    expect(posted.json().accepted[0]).toMatchObject({ id: r.id, leaf_index: null });
    const queued = await app.inject({ headers: ADMIN_HEADERS, url: `/v1/events/${r.id}` });
    expect(queued.statusCode).toBe(404);
    expect(queued.json().error.code).toBe('record_queued');
    expect(queued.headers['retry-after']).toBe('1');
    const unknown = await app.inject({ headers: ADMIN_HEADERS, url: `/v1/events/${rec(2).id}` });
    expect(unknown.json().error.code).toBe('not_found');
    await log.sequencePending();
    expect(
      (await app.inject({ headers: ADMIN_HEADERS, url: `/v1/events/${r.id}` })).json().integrity
        .leaf_index,
    ).toBe(0);
    await app.close();
  });
});

describe.skipIf(skip)('several collectors on one PostgreSQL (--cluster)', () => {
  let server: TestPostgres;
  const root = mkdtempSync(join(tmpdir(), 'provenant-cluster-'));
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** `afterFirst` runs once the first member is up, before the others start. */
  async function startNodes(
    count: number,
    tuning = TUNING,
    afterFirst?: (first: RunningCollector) => Promise<void>,
  ) {
    const url = await server.newDatabase();
    const dataDir = mkdtempSync(join(root, 'data-'));
    const nodes: RunningCollector[] = [];
    for (let i = 0; i < count; i++) {
      if (i === 1) await afterFirst?.(nodes[0]!);
      nodes.push(
        await startCollector({
          dataDir, // the same keys for every member
          host: '127.0.0.1',
          port: 0,
          postgres: url,
          cluster: tuning,
          policiesDir: POLICIES,
          identity: { devLogin: true },
          adminToken: ADMIN,
          anonymousIngest: 'asserted',
          issuerUrl: 'https://provenant.cluster.test', // one issuer, whichever member answers
        }),
      );
    }
    return { url, nodes };
  }

  it('acknowledges with promises, elects one sequencer, and every member serves the same tree', async () => {
    const { nodes } = await startNodes(2);
    const [a, b] = nodes as [RunningCollector, RunningCollector];
    try {
      const verifier = parseVerifierKey(a.log.verifierKey);
      const sent = [rec(1), rec(2), rec(3)];
      const ra = await post(a, sent.slice(0, 2));
      const rb = await post(b, sent.slice(2));
      expect(ra.status).toBe(200);
      expect(rb.status).toBe(200);
      for (const acc of [...ra.body.accepted, ...rb.body.accepted]) {
        expect(acc.leaf_index).toBeNull();
        // One signed batch promise for the request, each record with its proof in it.
        const p = acc.promise_proof!;
        const proof = {
          leafHash: Buffer.from(p.leaf_hash, 'base64'),
          index: p.index,
          path: p.path.map((h) => Buffer.from(h, 'base64')),
        };
        const promise = openPromise(acc.promise!, verifier, { id: acc.id, proof });
        expect(promise.id).toBe(acc.id);
        expect(Math.abs(promise.receivedUs / 1000 - Date.now())).toBeLessThan(10_000);
      }
      // One sequencer, one follower.
      const roles = await until('a sequencer', async () => {
        const r = [(await health(a)).cluster.role, (await health(b)).cluster.role].sort();
        return r[0] === 'follower' && r[1] === 'sequencer' ? r : null;
      });
      expect(roles).toEqual(['follower', 'sequencer']);
      // Included, and both members serve it at the same leaf.
      const started = Date.now();
      for (const r of sent) {
        const leafOn = async (c: RunningCollector) => {
          const res = await fetch(`${c.url}/v1/events/${r.id}`, { headers: ADMIN_HEADERS });
          if (res.status !== 200) return null;
          return ((await res.json()) as { integrity: { leaf_index: number } }).integrity.leaf_index;
        };
        const la = await until(`${r.id} on a`, () => leafOn(a).then((l) => l !== null && { l }));
        const lb = await until(`${r.id} on b`, () => leafOn(b).then((l) => l !== null && { l }));
        expect(la.l).toBe(lb.l);
      }
      // The 2 s target is measured under load by bench/cluster.js; here a bound that only a
      // stuck sequencer misses, so a busy CI machine does not fail it.
      expect(Date.now() - started).toBeLessThan(5000);
      await until('same checkpoint', async () => a.log.size === b.log.size && a.log.size >= 3);
      expect(b.log.latestCheckpoint().note).toBe(a.log.latestCheckpoint().note);
      // A re-send after inclusion answers with the leaf index; other content is refused.
      const again = await post(b, [sent[0]]);
      expect(again.body.accepted[0]!.leaf_index).toEqual(expect.any(Number));
      const conflict = await post(a, [{ ...sent[0], action: { name: 'fs.write' } }]);
      expect(conflict.body.rejected[0]!.code).toBe('id_conflict');
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 30_000);

  it('hands the lease over when the sequencer stops, with consistent checkpoints across it', async () => {
    const { nodes } = await startNodes(3);
    try {
      const first = await until('a sequencer', async () => {
        for (const n of nodes) if ((await health(n)).cluster.role === 'sequencer') return n;
        return null;
      });
      await post(first, [rec(1), rec(2)]);
      await until('inclusion', async () => first.log.size >= 2);
      const before = first.log.latestCheckpoint();
      const others = nodes.filter((n) => n !== first);
      await first.close();
      const stoppedAt = Date.now();
      const next = await until('a new sequencer', async () => {
        for (const n of others) if ((await health(n)).cluster.role === 'sequencer') return n;
        return null;
      });
      expect(Date.now() - stoppedAt).toBeLessThan(5000);
      const follower = others.find((n) => n !== next)!;
      const r = await post(follower, [rec(3)]);
      expect(r.status).toBe(200);
      await until('inclusion after failover', async () => next.log.size >= before.size + 1);
      const proof = await next.log.consistencyProof(before.size, next.log.size);
      expect(() =>
        verifyConsistency(
          before.size,
          next.log.size,
          proof,
          before.rootHash,
          next.log.latestCheckpoint().rootHash,
        ),
      ).not.toThrow();
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 30_000);

  it("applies another member's registry changes", async () => {
    const { nodes } = await startNodes(2);
    const [a, b] = nodes as [RunningCollector, RunningCollector];
    try {
      // Registered through b, known to a after a refresh.
      await register(b.url, { id: 'user:alice', kind: 'human' });
      await until('the principal on a', async () => a.identity.directory.get('user:alice'));
      const token = await devLogin(a.url, 'alice', 'fs:read');
      expect(token).toMatch(/^ey/);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 30_000);

  it('finds a decision another member made before any refresh brought it', async () => {
    // Refreshes a minute apart: only the lookup at ingest can find b's decision on a.
    const slow = { ...TUNING, refreshMs: 60_000 };
    // alice decides and records her own action: she needs the producer role.
    const { nodes } = await startNodes(2, slow, async (first) => {
      await register(first.url, { id: 'user:alice', kind: 'human' });
      await grantRole(first.url, 'user:alice', 'producer');
    });
    const [a, b] = nodes as [RunningCollector, RunningCollector];
    try {
      const token = await devLogin(a.url, 'alice', 'fs:read');
      const d = await fetch(`${b.url}/v1/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ action: { name: 'fs.read', resource: 'file:/tmp/1' } }),
      });
      expect(d.status, await d.clone().text()).toBe(200);
      const decision = (await d.json()) as { decision_id: string; decision: string };
      const r = rec(1, {
        actor: { id: 'user:alice', kind: 'human' },
        policy: {
          decision_id: decision.decision_id,
          engine: 'claimed',
          decision: decision.decision,
        },
      });
      const ingested = await post(a, [r], token);
      expect(ingested.status, JSON.stringify(ingested.body)).toBe(200);
      const stored = await until('the record', async () => {
        const res = await fetch(`${a.url}/v1/events/${r.id}`, { headers: ADMIN_HEADERS });
        return res.status === 200 && ((await res.json()) as Record<string, unknown>);
      });
      // Found and checked (the example policies deny a human reading files directly); without
      // the fetch from the shared store it would read decision_not_found.
      expect(decision.decision).toBe('deny');
      expect((stored['attribution'] as { reasons: string[] }).reasons).toEqual(['decision_denied']);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 30_000);

  it('lets a privileged decision back one action across members: the second, on another member, is refused', async () => {
    const { nodes } = await startNodes(2, TUNING, async (first) => {
      await register(first.url, { id: 'user:alice', kind: 'human' });
      await grantRole(first.url, 'user:alice', 'producer');
    });
    const [a, b] = nodes as [RunningCollector, RunningCollector];
    try {
      const token = await devLogin(a.url, 'alice', 'repo:write');
      const action = {
        name: 'github.delete_repo',
        resource: 'repo:acme/scratch',
        class: { privileged: true, irreversible: true, external: true },
        risk: 'critical',
      };
      const d = await fetch(`${a.url}/v1/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ action }),
      });
      expect(d.status, await d.clone().text()).toBe(200);
      const decision = (await d.json()) as { decision_id: string; decision: string };
      const citing = () =>
        rec(1, {
          actor: { id: 'user:alice', kind: 'human' },
          action,
          policy: {
            decision_id: decision.decision_id,
            engine: 'cedar',
            decision: decision.decision,
          },
          outcome: { status: decision.decision === 'allow' ? 'success' : 'denied' },
        });
      const first = await post(a, [citing()], token);
      expect(first.body.accepted, JSON.stringify(first.body)).toHaveLength(1);
      const second = await post(b, [citing()], token);
      expect(second.body.rejected).toMatchObject([{ code: 'decision_reused' }]);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 30_000);

  it('a member with another log key refuses to start, even on an empty database', async () => {
    const member = (url: string) =>
      startCollector({
        dataDir: mkdtempSync(join(root, 'key-')), // a key of its own
        host: '127.0.0.1',
        port: 0,
        postgres: url,
        cluster: TUNING,
        anonymousIngest: 'asserted',
      });
    const url = await server.newDatabase();
    const a = await member(url);
    try {
      await expect(member(url)).rejects.toMatchObject({
        code: 'log_key_mismatch',
        message: expect.stringContaining('needs the same log-signer.key') as string,
      });
      // The member with the recorded key sequences as before.
      const r = await post(a, [rec(1)]);
      expect(r.status).toBe(200);
      await until('inclusion', async () => a.log.size === 1);
    } finally {
      await a.close();
    }
    // Two members starting at once on an empty database: exactly one runs.
    const fresh = await server.newDatabase();
    const both = await Promise.allSettled([member(fresh), member(fresh)]);
    const started = both.filter((s) => s.status === 'fulfilled');
    expect(started).toHaveLength(1);
    expect(both.find((s) => s.status === 'rejected')).toMatchObject({
      reason: { code: 'log_key_mismatch' },
    });
    await (started[0] as PromiseFulfilledResult<RunningCollector>).value.close();
  }, 30_000);

  it('refuses --cluster without PostgreSQL before writing anything', async () => {
    const dataDir = join(root, 'never-started');
    await expect(
      startCollector({ dataDir, host: '127.0.0.1', port: 0, cluster: true }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    expect(existsSync(dataDir)).toBe(false);
  });
});
