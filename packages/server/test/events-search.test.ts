import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '@provenant/ledger';
import type { LogStorage } from '@provenant/ledger';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { asAdmin, makeApp, postJson, record } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-events-search-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const ACTIONS = [
  'github.delete_repo',
  'github.create_issue',
  'slack.post_message',
  'fs.write_file',
];
const RESOURCES = ['repo:acme/payments', 'repo:acme/web', 'channel:ops', 'repo:acme/payments'];
const OUTCOMES = ['success', 'denied', 'success', 'error', 'success', 'pending'];

interface Page {
  events: { id: string; integrity: { leaf_index: number } }[];
  next_cursor: string | null;
  prev_cursor: string | null;
  total: { count: number; exact: boolean };
}

/** 24 records: action i % 4, resource i % 4, outcome i % 6, alice or (every 5th) bob. */
async function seeded(storage: LogStorage) {
  const made = await makeApp({ storage });
  const records = [...Array(24).keys()].map((i) =>
    record({
      time: `2026-11-27T13:00:${String(i).padStart(2, '0')}Z`,
      initiator: { id: i % 5 === 0 ? 'user:bob' : 'user:alice', kind: 'human' },
      action: {
        name: ACTIONS[i % 4],
        resource: RESOURCES[i % 4],
        class: { privileged: false, irreversible: false, external: false },
      },
      outcome: { status: OUTCOMES[i % 6] },
      trace: {
        trace_id: i < 3 ? 'a'.repeat(31) + 'b' : '4bf92f3577b34da6a3ce929d0e0e4736',
        span_id: '00f067aa0ba902b7',
      },
    }),
  );
  const res = await postJson(made.app, records);
  expect(res.statusCode).toBe(200);
  const list = async (q: string): Promise<Page> => {
    const r = await made.app.inject({ headers: asAdmin, url: `/v1/events?${q}` });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };
  const code = async (q: string) => {
    const r = await made.app.inject({ headers: asAdmin, url: `/v1/events?${q}` });
    expect(r.statusCode, q).toBe(400);
    return r.json().error as { code: string; message: string };
  };
  return { ...made, records, list, code };
}

const leaves = (p: Page) => p.events.map((e) => e.integrity.leaf_index);
const where = (pred: (i: number) => boolean) => [...Array(24).keys()].filter(pred);

describe.each([
  ['memory', () => new MemoryStorage()],
  ['sqlite', () => new SqliteStorage(join(dir, `e${files++}.db`))],
] as const)('GET /v1/events search (%s)', (_name, open) => {
  it('filters by action glob, resource prefix and outcome, newest first, with a total', async () => {
    const { list, storage } = await seeded(open());
    const deletes = await list('action=github.delete_repo&order=desc');
    expect(leaves(deletes)).toEqual(where((i) => i % 4 === 0).reverse());
    expect(deletes.total).toEqual({ count: 6, exact: true });
    expect(leaves(await list('action=github.*'))).toEqual(where((i) => i % 4 < 2));
    expect(leaves(await list('action=*.delete_*'))).toEqual(where((i) => i % 4 === 0));
    expect(leaves(await list('action=github'))).toEqual([]);
    const payments = await list(`resource=${encodeURIComponent('repo:acme/payments')}`);
    expect(leaves(payments)).toEqual(where((i) => i % 4 === 0 || i % 4 === 3));
    expect(leaves(await list('resource=repo%3A'))).toEqual(where((i) => i % 4 !== 2));
    // "Who deleted repo acme/payments?"
    const who = await list('resource=repo%3Aacme%2Fpayments&action=github.delete*&order=desc');
    expect(leaves(who)).toEqual(where((i) => i % 4 === 0).reverse());
    expect(leaves(await list('outcome=denied'))).toEqual(where((i) => i % 6 === 1));
    expect(leaves(await list('outcome=denied&action=github.*'))).toEqual(
      where((i) => i % 6 === 1 && i % 4 < 2),
    );
    expect(
      leaves(await list('resource=repo%3A&from=2026-11-27T13:00:05Z&to=2026-11-27T13:00:09Z')),
    ).toEqual([5, 7, 8]);
    expect(leaves(await list('type=tool.called&level=asserted&limit=2&order=desc'))).toEqual([
      23, 22,
    ]);
    const all = await list('limit=1');
    expect(all.total).toEqual({ count: 24, exact: true });
    await storage.close();
  });

  it('pages both ways with cursors that carry their order', async () => {
    const { list, storage } = await seeded(open());
    const q = 'resource=repo%3A&order=desc&limit=5';
    const expected = where((i) => i % 4 !== 2).reverse(); // 18 records
    const pages: Page[] = [await list(q)];
    expect(pages[0]!.prev_cursor).toBeNull();
    while (pages.at(-1)!.next_cursor !== null) {
      pages.push(await list(`${q}&cursor=${pages.at(-1)!.next_cursor}`));
    }
    expect(pages.length).toBe(4);
    expect(pages.flatMap(leaves)).toEqual(expected);
    expect(pages.every((p) => p.total.count === 18 && p.total.exact)).toBe(true);
    // Back from the last page to the first, page by page: the same pages.
    let back = pages.at(-1)!;
    for (let k = pages.length - 2; k >= 0; k--) {
      expect(back.prev_cursor).not.toBeNull();
      back = await list(`${q}&cursor=${back.prev_cursor}`);
      expect(leaves(back)).toEqual(leaves(pages[k]!));
      expect(back.next_cursor).not.toBeNull();
    }
    expect(back.prev_cursor).toBeNull();
    // Ascending, the same records the other way round; the order may be left to the cursor.
    const up = await list('resource=repo%3A&limit=10');
    const rest = await list(`resource=repo%3A&limit=10&cursor=${up.next_cursor}`);
    expect([...leaves(up), ...leaves(rest)]).toEqual([...expected].reverse());
    expect(rest.next_cursor).toBeNull();
    expect(
      leaves(await list(`resource=repo%3A&limit=10&order=asc&cursor=${rest.prev_cursor}`)),
    ).toEqual(leaves(up));
    await storage.close();
  });

  it('searches one box by record id, trace id, resource prefix, action glob, actor or initiator', async () => {
    const { list, records, storage } = await seeded(open());
    const q = async (text: string) => leaves(await list(`q=${encodeURIComponent(text)}`));
    expect(await q(records[7]!['id'] as string)).toEqual([7]);
    expect(await q('a'.repeat(31) + 'b')).toEqual([0, 1, 2]);
    expect(await q('channel:')).toEqual(where((i) => i % 4 === 2));
    expect(await q('slack.*')).toEqual(where((i) => i % 4 === 2));
    expect(await q('user:bob')).toEqual(where((i) => i % 5 === 0));
    expect(await q('spiffe://acme.test/agent/researcher/instance/7f3a')).toHaveLength(24);
    expect(await q('nobody')).toEqual([]);
    // With other filters: both must hold.
    const failed = await list(`q=user%3Abob&outcome=error&order=desc`);
    expect(leaves(failed)).toEqual([15]);
    expect(failed.total).toEqual({ count: 1, exact: true });
    await storage.close();
  });

  it('answers bad input on every new parameter with invalid_parameter and a clear message', async () => {
    const { list, code, storage } = await seeded(open());
    expect(await code('outcome=failed')).toMatchObject({
      code: 'invalid_parameter',
      message: expect.stringContaining('success, error, denied, pending'),
    });
    expect(await code('order=newest')).toMatchObject({
      code: 'invalid_parameter',
      message: expect.stringContaining('"order"'),
    });
    expect(await code('action=a*b*c*d*e*f*g*h*i*j')).toMatchObject({
      code: 'invalid_parameter',
      message: expect.stringContaining('glob'),
    });
    expect((await code(`action=${'x'.repeat(257)}`)).code).toBe('invalid_parameter');
    expect((await code('action=github.%01delete')).code).toBe('invalid_parameter');
    expect((await code('resource=repo%0A')).code).toBe('invalid_parameter');
    expect((await code('q=%00')).code).toBe('invalid_parameter');
    expect((await code('action=')).code).toBe('invalid_parameter');
    expect((await code('resource=a&resource=b')).code).toBe('invalid_parameter');
    expect((await code('level=trusted')).code).toBe('invalid_parameter');
    expect((await code('from=2026-11-27T13:00:09Z&to=2026-11-27T13:00:05Z')).code).toBe(
      'invalid_time_range',
    );
    expect((await code('cursor=c2.forged')).code).toBe('invalid_cursor');
    expect((await code('cursor=c2.eG4x')).code).toBe('invalid_cursor');
    const desc = await list('order=desc&limit=2');
    expect(await code(`order=asc&cursor=${desc.next_cursor}`)).toMatchObject({
      code: 'invalid_parameter',
      message: expect.stringContaining('order=desc'),
    });
    await storage.close();
  });
});
