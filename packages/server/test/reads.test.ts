/**
 * Issue 14, "reads that stall the log": a trace or a provenance over planted records is bounded
 * work, answered a page at a time (traces) or bounded and marked `truncated` when cut
 * (provenance), never 500.
 * The same under 8 parallel readers with a real collector process: test/e2e/reads.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@provenant/core';
import { DEFAULT_CHAIN_OPTIONS, MemoryStorage } from '@provenant/ledger';
import type { LogStorage } from '@provenant/ledger';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadGate } from '../src/investigate/gate.js';
import { provenanceOf } from '../src/investigate/provenance.js';
import { MAX_TRACE_DEPTH, buildTraceTree } from '../src/investigate/trace.js';
import type { TraceNode } from '../src/index.js';
import { makeApp, postJson, record, asAdmin } from './helpers.js';
import { investigationScenario, makeInvestigateApp } from './investigate-scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-reads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PLANTED_TRACE = 'feedfacefeedfacefeedfacefeedface';
const span = (i: number) => i.toString(16).padStart(16, '0');

/** Every node of a forest, without recursion, with its depth. */
function walk(roots: readonly TraceNode[]): { node: TraceNode; depth: number }[] {
  const out: { node: TraceNode; depth: number }[] = [];
  const stack = roots.map((node) => ({ node, depth: 1 }));
  while (stack.length > 0) {
    const top = stack.pop()!;
    out.push(top);
    for (const c of top.node.children) stack.push({ node: c, depth: top.depth + 1 });
  }
  return out;
}

describe('a trace of 10,000 planted records', () => {
  it('answers 200 a page at a time, each record once, never nested deeper than it can draw', async () => {
    const storage = new SqliteStorage(join(dir, 'trace.db'));
    const { app } = await makeApp({ storage });
    // One chain: each span the child of the one before, 10,000 deep.
    const records = Array.from({ length: 10_000 }, (_, i) =>
      record({
        trace: {
          trace_id: PLANTED_TRACE,
          span_id: span(i + 1),
          ...(i === 0 ? {} : { parent_span_id: span(i) }),
        },
      }),
    );
    for (let i = 0; i < records.length; i += 5000) {
      const res = await postJson(app, records.slice(i, i + 5000));
      expect(res.json().accepted).toHaveLength(5000);
    }
    const seen = new Set<string>();
    let url: string | null = `/v1/traces/${PLANTED_TRACE}`;
    let pages = 0;
    while (url !== null) {
      const res = await app.inject({ headers: asAdmin, url });
      expect(res.statusCode).toBe(200);
      const page = res.json() as {
        count: number;
        truncated: boolean;
        next: string | null;
        next_cursor: string | null;
        roots: TraceNode[];
      };
      const nodes = walk(page.roots);
      expect(nodes).toHaveLength(page.count);
      expect(Math.max(...nodes.map((n) => n.depth))).toBeLessThanOrEqual(MAX_TRACE_DEPTH);
      for (const { node } of nodes) {
        expect(seen.has(node.id)).toBe(false);
        seen.add(node.id);
      }
      expect(page.truncated).toBe(page.next !== null);
      expect(page.next === null).toBe(page.next_cursor === null);
      pages++;
      url = page.next;
    }
    expect(pages).toBe(10);
    expect(seen.size).toBe(10_000);
    const small = (
      await app.inject({ headers: asAdmin, url: `/v1/traces/${PLANTED_TRACE}?limit=10` })
    ).json();
    expect([small.count, small.truncated]).toEqual([10, true]);
    expect(small.roots[0].parent_id).toBeNull();
    await app.close();
    await storage.close();
  });

  it('answers bad paging values with stable codes', async () => {
    const { app } = await makeApp();
    await postJson(app, [record({ trace: { trace_id: PLANTED_TRACE, span_id: span(1) } })]);
    const code = async (query: string) => {
      const res = await app.inject({
        headers: asAdmin,
        url: `/v1/traces/${PLANTED_TRACE}?${query}`,
      });
      return [res.statusCode, res.json().error?.code];
    };
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'limit=01', 'limit=1&limit=2'])
      expect(await code(bad), bad).toEqual([400, 'invalid_parameter']);
    for (const bad of ['cursor=abc', 'cursor=c1.!!', `cursor=c1.${'A'.repeat(40)}`])
      expect(await code(bad), bad).toEqual([400, 'invalid_cursor']);
    expect(await code('page=2')).toEqual([400, 'invalid_parameter']);
    // A cursor past the end: an empty last page, not "no such trace".
    const past = (
      await app.inject({
        headers: asAdmin,
        url: `/v1/traces/${PLANTED_TRACE}?cursor=c1.${Buffer.from('999').toString('base64url')}`,
      })
    ).json();
    expect([past.count, past.truncated, past.next]).toEqual([0, false, null]);
  });
});

describe('buildTraceTree', () => {
  it('builds a long chain without recursion, cutting it into roots at the depth limit', () => {
    const n = 3000;
    const records = Array.from({ length: n }, (_, i) => ({
      leafIndex: i,
      record: record({
        time: new Date(Date.UTC(2026, 10, 27) + i).toISOString(),
        trace: {
          trace_id: PLANTED_TRACE,
          span_id: span(i + 1),
          ...(i === 0 ? {} : { parent_span_id: span(i) }),
        },
      }) as never,
    }));
    const roots = buildTraceTree(records, 100);
    expect(roots.map((r) => r.leaf_index)).toEqual(
      Array.from({ length: n / 100 }, (_, k) => k * 100),
    );
    expect(roots[0]!.parent_id).toBeNull();
    // A cut root names the parent it continues from.
    expect(roots[1]!.parent_id).toBe((records[99]!.record as { id: string }).id);
    expect(roots[1]!.linked_by).toBe('span');
    expect(JSON.stringify(roots).length).toBeGreaterThan(0); // serializable: no stack overflow
    expect(walk(roots)).toHaveLength(n);
  });

  it('drops exactly the links that would close a cycle, as walking up from the parent finds them', () => {
    // Random spans, parent spans and causes over few values, so cycles of every length occur;
    // the parents chosen must be those of the plain rule (walk up the candidate's ancestors).
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n) + 0;
    for (let round = 0; round < 20; round++) {
      const n = 300;
      const ids = Array.from({ length: n }, () => uuidv7());
      const records = ids.map((id, i) => ({
        leafIndex: i,
        record: record({
          id,
          time: new Date(Date.UTC(2026, 10, 27) + rand(50)).toISOString(),
          trace: {
            trace_id: PLANTED_TRACE,
            span_id: span(rand(120) + 1),
            ...(rand(5) === 0 ? {} : { parent_span_id: span(rand(120) + 1) }),
          },
          ...(rand(3) === 0 ? { cause: { record_id: ids[rand(n)]! } } : {}),
        }) as never,
      }));
      const expected = referenceParents(records);
      const got = new Map(
        walk(buildTraceTree(records, n + 1)).map(({ node }) => [
          node.id,
          `${node.parent_id}:${node.linked_by}`,
        ]),
      );
      expect(got).toEqual(expected);
    }
  });
});

/** The parent rule with the cycle check done the plain way (walk up), for comparison. */
function referenceParents(
  records: readonly { record: { id: string; time: string; trace?: never; cause?: never } }[],
): Map<string, string> {
  type R = {
    id: string;
    time: string;
    trace?: { span_id?: string; parent_span_id?: string };
    cause?: { record_id?: string };
  };
  const rs = records.map((r, i) => ({ r: r.record as unknown as R, i }));
  const sorted = [...rs].sort((a, b) => Date.parse(a.r.time) - Date.parse(b.r.time) || a.i - b.i);
  const bySpan = new Map<string, number>();
  for (const { r, i } of sorted) {
    const s = r.trace?.span_id;
    if (s !== undefined && !bySpan.has(s)) bySpan.set(s, i);
  }
  const byId = new Map(rs.map(({ r, i }) => [r.id, i]));
  const parent = new Array<number | null>(rs.length).fill(null);
  const how = new Array<string>(rs.length).fill('none');
  const isAncestor = (candidate: number, of: number) => {
    for (let p: number | null = candidate; p !== null; p = parent[p]!) if (p === of) return true;
    return false;
  };
  for (const { r, i } of rs) {
    const ps = r.trace?.parent_span_id;
    const viaSpan = ps === undefined ? undefined : bySpan.get(ps);
    const viaCause = r.cause?.record_id === undefined ? undefined : byId.get(r.cause.record_id);
    for (const [p, h] of [
      [viaSpan, 'span'],
      [viaCause, 'cause'],
    ] as const) {
      if (p !== undefined && p !== i && !isAncestor(p, i)) {
        parent[i] = p;
        how[i] = h;
        break;
      }
    }
  }
  return new Map(
    rs.map(({ r, i }) => [r.id, `${parent[i] === null ? null : rs[parent[i]!]!.r.id}:${how[i]}`]),
  );
}

describe('provenance over planted records', () => {
  it('keeps planted records out of its searches: they neither join the chain nor use its bound', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    // Anonymous "alerts" about the action and alice, more than one search may read.
    const planted = Array.from({ length: 6000 }, () =>
      record({
        id: uuidv7(),
        time: new Date().toISOString(),
        type: 'security.alert',
        initiator: { id: 'user:alice', kind: 'human' },
        action: { name: 'planted', resource: `record:${s.actionId}` },
        trace: undefined,
      }),
    );
    for (let i = 0; i < planted.length; i += 3000)
      expect((await postJson(app, planted.slice(i, i + 3000))).statusCode).toBe(200);
    const res = await app.inject({ headers: asAdmin, url: `/v1/events/${s.actionId}/provenance` });
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect([p.ok, p.truncated, p.truncated_reason]).toEqual([true, false, null]);
    expect(p.chain.map((c: { role: string }) => c.role)).toEqual([
      'credential',
      'delegation',
      'delegation',
      'decision',
      'action',
    ]);
  });

  it('answers what it found, truncated and not ok, when a bound cuts a search', async () => {
    const { app, log, storage } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const entry = (await storage.getEntryById(s.actionId))!;
    const deps = { storage, log, chainOptions: DEFAULT_CHAIN_OPTIONS };
    const whole = await provenanceOf(deps, entry);
    expect([whole.ok, whole.truncated]).toEqual([true, false]);
    let read = 0;
    const counting = new Proxy(storage, {
      get(target, key, receiver) {
        if (key === 'queryEntries')
          return async (f: Parameters<LogStorage['queryEntries']>[0]) => {
            const rows = await target.queryEntries(f);
            read += rows.length;
            return rows;
          };
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const cut = await provenanceOf(
      { ...deps, storage: counting, bounds: { budget: 2, lookup: 1 } },
      entry,
    );
    expect(read).toBeLessThanOrEqual(2);
    expect(cut.truncated).toBe(true);
    expect(cut.truncated_reason).toMatch(/read more than the bound allows for: /);
    expect(cut.ok).toBe(false);
    expect(cut.chain.map((c) => c.role)).toContain('action');
  });

  it('is untouched by a planted grant naming the most ancestors a record may (64)', async () => {
    const { app } = await makeInvestigateApp();
    const s = await investigationScenario(app);
    const stored = (await app.inject({ headers: asAdmin, url: `/v1/events/${s.actionId}` })).json();
    const jti = stored.credential.jti as string;
    const deep = record({
      id: uuidv7(),
      time: new Date().toISOString(),
      type: 'credential.issued',
      initiator: { id: 'user:alice', kind: 'human' },
      actor: { id: 'service:provenant-issuer', kind: 'service' },
      action: undefined,
      outcome: undefined,
      trace: undefined,
      credential: {
        jti,
        iss: 'planted',
        sub: 'user:alice',
        iat: 1,
        exp: 2,
        ancestors: Array.from({ length: 64 }, () => uuidv7()),
      },
    });
    const planted = await postJson(app, [deep]);
    expect(planted.json().rejected).toEqual([]);
    const p = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${s.actionId}/provenance` })
    ).json();
    expect([p.ok, p.truncated]).toEqual([true, false]);
    expect(p.chain.map((c: { id: string }) => c.id)).not.toContain(deep['id']);
  });
});

describe('the read gate', () => {
  it('runs at most its limit at once, the rest in order, and refuses past its queue', async () => {
    const gate = new ReadGate(1, 1);
    const order: string[] = [];
    let release!: () => void;
    const first = gate.run(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      order.push('first');
    });
    const second = gate.run(async () => {
      order.push('second');
    });
    await expect(gate.run(async () => 'third')).rejects.toMatchObject({ code: 'reads_busy' });
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(await gate.run(async () => 'again')).toBe('again');
  });

  it('answers a trace read past the limits 503 reads_busy with Retry-After', async () => {
    const memory = new MemoryStorage();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let hold = false;
    let entered!: () => void;
    const inStorage = new Promise<void>((resolve) => (entered = resolve));
    const storage = new Proxy(memory, {
      get(target, key, receiver) {
        if (key === 'queryEntries')
          return async (f: Parameters<LogStorage['queryEntries']>[0]) => {
            if (hold) {
              entered();
              await held;
            }
            return target.queryEntries(f);
          };
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const { app } = await makeApp({ storage, limits: { maxActiveReads: 1, maxQueuedReads: 0 } });
    await postJson(app, [record({ trace: { trace_id: PLANTED_TRACE, span_id: span(1) } })]);
    hold = true;
    const first = app.inject({ headers: asAdmin, url: `/v1/traces/${PLANTED_TRACE}` });
    // The first read holds the only slot until released: once it is in the storage, another
    // read finds no slot and no room to wait.
    await inStorage;
    const busy = await app.inject({ headers: asAdmin, url: `/v1/traces/${PLANTED_TRACE}` });
    expect([busy.statusCode, busy.json().error.code, busy.headers['retry-after']]).toEqual([
      503,
      'reads_busy',
      '1',
    ]);
    release();
    expect((await first).statusCode).toBe(200);
    expect(
      (await app.inject({ headers: asAdmin, url: `/v1/traces/${PLANTED_TRACE}` })).statusCode,
    ).toBe(200);
  });
});
