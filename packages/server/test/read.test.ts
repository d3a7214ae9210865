import {
  hashLeaf,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  verifyConsistency,
  verifyInclusion,
} from '@provenant/ledger';
import { describe, expect, it } from 'vitest';
import { KEYS, makeApp, postJson, record, asAdmin } from './helpers.js';

const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

async function seeded(n: number) {
  const made = await makeApp();
  const records = [...Array(n).keys()].map((i) =>
    record({
      type: i % 2 ? 'tool.called' : 'prompt.received',
      task_id: `task-${i % 3}`,
      time: `2026-11-27T13:00:${String(i).padStart(2, '0')}Z`,
      ...(i % 4 === 0 ? { actor: undefined } : {}),
    }),
  );
  for (const r of records) if (r['actor'] === undefined) delete r['actor'];
  await postJson(made.app, records);
  return { ...made, records };
}

describe('reading records and proofs', () => {
  it('serves a record with an inclusion proof that verifies against the signed checkpoint', async () => {
    const { app, records } = await seeded(11);
    const key = (await app.inject({ url: '/v1/log/key' })).body.trim();
    expect(key).toBe(KEYS.verifierKey);
    const note = (await app.inject({ url: '/v1/log/checkpoint' })).body;
    const cp = parseCheckpoint(openNote(note, [parseVerifierKey(key)]).text);
    expect(cp.size).toBe(11);
    const id = records[6]!['id'] as string;
    const stored = (await app.inject({ headers: asAdmin, url: `/v1/events/${id}` })).json();
    const proof = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${id}/proof?tree_size=11` })
    ).json();
    expect(proof.leaf_index).toBe(6);
    expect(proof.tree_size).toBe(11);
    expect(() =>
      verifyInclusion(
        fromB64(stored.integrity.leaf_hash),
        6,
        11,
        proof.hashes.map(fromB64),
        cp.rootHash,
      ),
    ).not.toThrow();
  });

  it('proves an old tree size against the root the log had then', async () => {
    const { app, records } = await seeded(3);
    const early = parseCheckpoint(
      openNote((await app.inject({ url: '/v1/log/checkpoint' })).body, [
        parseVerifierKey(KEYS.verifierKey),
      ]).text,
    );
    await postJson(app, [record(), record(), record(), record()]);
    const late = parseCheckpoint(
      openNote((await app.inject({ url: '/checkpoint' })).body, [
        parseVerifierKey(KEYS.verifierKey),
      ]).text,
    );
    const c = (await app.inject({ url: '/v1/log/consistency?from=3&to=7' })).json();
    expect(c.from).toBe(3);
    expect(c.to).toBe(7);
    expect(() =>
      verifyConsistency(3, 7, c.hashes.map(fromB64), early.rootHash, late.rootHash),
    ).not.toThrow();
    const p = (
      await app.inject({
        headers: asAdmin,
        url: `/v1/events/${records[1]!['id']}/proof?tree_size=3`,
      })
    ).json();
    const leaf = (
      await app.inject({ headers: asAdmin, url: `/v1/events/${records[1]!['id']}` })
    ).json().integrity.leaf_hash;
    expect(() =>
      verifyInclusion(fromB64(leaf), 1, 3, p.hashes.map(fromB64), early.rootHash),
    ).not.toThrow();
  });

  it('answers bad proof parameters with stable codes', async () => {
    const { app, records } = await seeded(3);
    const id = records[2]!['id'] as string;
    const code = async (url: string) =>
      (await app.inject({ headers: asAdmin, url })).json().error.code;
    expect(await code(`/v1/events/${id}/proof?tree_size=abc`)).toBe('invalid_parameter');
    expect(await code(`/v1/events/${id}/proof?tree_size=9`)).toBe('tree_size_out_of_range');
    expect(await code(`/v1/events/${id}/proof?tree_size=2`)).toBe('leaf_index_out_of_range');
    expect(await code('/v1/log/consistency?from=0&to=3')).toBe('tree_size_out_of_range');
    expect(await code('/v1/log/consistency?from=-1')).toBe('invalid_parameter');
    expect(await code('/v1/log/consistency')).toBe('invalid_parameter');
    expect(await code('/v1/events/not-a-uuid')).toBe('invalid_parameter');
    expect(await code('/v1/events/0192f3c4-0000-7000-8000-000000000000')).toBe('not_found');
    expect(await code('/no/such/route')).toBe('not_found');
  });

  it('filters by each query parameter and pages with an opaque cursor', async () => {
    const { app, records } = await seeded(12);
    const list = async (q: string) =>
      (await app.inject({ headers: asAdmin, url: `/v1/events?${q}` })).json();
    const leaves = (page: { events: { integrity: { leaf_index: number } }[] }) =>
      page.events.map((e) => e.integrity.leaf_index);
    expect(leaves(await list('type=prompt.received'))).toEqual([0, 2, 4, 6, 8, 10]);
    expect(leaves(await list('task_id=task-1'))).toEqual([1, 4, 7, 10]);
    expect(leaves(await list('level=unattributed'))).toEqual([0, 4, 8]);
    expect(leaves(await list('initiator=user%3Aalice&limit=2'))).toEqual([0, 1]);
    expect(
      leaves(
        await list(
          `actor=${encodeURIComponent('spiffe://acme.test/agent/researcher/instance/7f3a')}&type=tool.called`,
        ),
      ),
    ).toEqual([1, 3, 5, 7, 9, 11]);
    expect(leaves(await list('trace_id=4bf92f3577b34da6a3ce929d0e0e4736&limit=3'))).toEqual([
      0, 1, 2,
    ]);
    expect(leaves(await list('from=2026-11-27T13:00:03Z&to=2026-11-27T13:00:05.5Z'))).toEqual([
      3, 4, 5,
    ]);
    const first = await list('limit=5');
    expect(leaves(first)).toEqual([0, 1, 2, 3, 4]);
    const second = await list(`limit=5&cursor=${first.next_cursor}`);
    expect(leaves(second)).toEqual([5, 6, 7, 8, 9]);
    const third = await list(`limit=5&cursor=${second.next_cursor}`);
    expect(leaves(third)).toEqual([10, 11]);
    expect(third.next_cursor).toBeNull();
    expect(first.events[0].id).toBe(records[0]!['id']);
  });

  it('answers bad query parameters with stable codes', async () => {
    const { app } = await seeded(2);
    const code = async (q: string) =>
      (await app.inject({ headers: asAdmin, url: `/v1/events?${q}` })).json().error.code;
    expect(await code('cursor=forged')).toBe('invalid_cursor');
    expect(await code('cursor=c1.LTE')).toBe('invalid_cursor');
    expect(await code('limit=0')).toBe('invalid_parameter');
    expect(await code('limit=5000')).toBe('invalid_parameter');
    expect(await code('level=trusted')).toBe('invalid_parameter');
    expect(await code('from=yesterday')).toBe('invalid_parameter');
    expect(await code('colour=blue')).toBe('invalid_parameter');
    expect(await code('type=a&type=b')).toBe('invalid_parameter');
  });

  it('reports liveness and storage status', async () => {
    const { app } = await seeded(2);
    const res = await app.inject({ url: '/healthz', headers: asAdmin });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      storage: { kind: 'memory', ok: true },
      log: { size: 2 },
    });
    // Without a role: the status only, for liveness probes and witnesses.
    const anonymous = await app.inject({ url: '/healthz' });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ status: 'ok' });
  });
});

describe('tlog-tiles', () => {
  it('serves partial hash and entry tiles that match the records', async () => {
    const { app, records } = await seeded(3);
    const hashes = await app.inject({ url: '/tile/0/000.p/3' });
    expect(hashes.statusCode).toBe(200);
    expect(hashes.rawPayload.length).toBe(96);
    const bundle = (await app.inject({ headers: asAdmin, url: '/tile/entries/000.p/3' }))
      .rawPayload;
    let off = 0;
    const entries: string[] = [];
    while (off < bundle.length) {
      const len = bundle.readUInt16BE(off);
      entries.push(bundle.subarray(off + 2, off + 2 + len).toString('utf8'));
      off += 2 + len;
    }
    expect(entries.map((e) => JSON.parse(e).id)).toEqual(records.map((r) => r['id']));
    entries.forEach((e, i) => {
      expect(Buffer.from(hashLeaf(Buffer.from(e)))).toEqual(
        hashes.rawPayload.subarray(i * 32, i * 32 + 32),
      );
    });
    expect((await app.inject({ url: '/checkpoint' })).body).toBe(
      (await app.inject({ url: '/v1/log/checkpoint' })).body,
    );
  });

  it('serves a full tile once 256 entries exist, and level-1 tiles of subtree hashes', async () => {
    const { app } = await makeApp();
    const batch = [...Array(256 * 2).keys()].map(() => record());
    await postJson(app, batch);
    const full = await app.inject({ url: '/tile/0/001' });
    expect(full.statusCode).toBe(200);
    expect(full.rawPayload.length).toBe(256 * 32);
    expect(full.headers['cache-control']).toContain('immutable');
    const level1 = await app.inject({ url: '/tile/1/000.p/2' });
    expect(level1.statusCode).toBe(200);
    expect(level1.rawPayload.length).toBe(64);
  });

  it('answers missing and non-canonical tile paths with 404', async () => {
    const { app } = await seeded(3);
    const res = async (url: string) => {
      const r = await app.inject({ headers: asAdmin, url });
      return [r.statusCode, r.json().error.code];
    };
    expect(await res('/tile/0/000')).toEqual([404, 'not_found']);
    expect(await res('/tile/0/000.p/4')).toEqual([404, 'not_found']);
    expect(await res('/tile/entries/000.p/9')).toEqual([404, 'not_found']);
    expect(await res('/tile/0/0')).toEqual([404, 'invalid_tile_path']);
    expect(await res('/tile/0/x000/001')).toEqual([404, 'invalid_tile_path']);
    expect(await res('/tile/0/000.p/0')).toEqual([404, 'invalid_tile_path']);
  });
});
