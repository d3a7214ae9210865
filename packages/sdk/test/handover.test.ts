// Records leave the caller's path: the recorder fixes what a call records when it happens and
// builds the record (digests, time text) when it hands it to the exporter, in batches, after
// the call returns. Nothing recorded may change or be lost on the way.
import type { EventRecord } from '@provenant/core';
import { digestOf } from '@provenant/core';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportBatch, Recorder, RecordExporter } from '../src/index.js';
import { isoTime } from '../src/records/build.js';
import { world } from './helpers.js';
import type { World } from './helpers.js';

/** An exporter that takes records in batches (not `eager`), as the HTTP exporter does. */
function batchingExporter() {
  const batches: ExportBatch[] = [];
  const exporter: RecordExporter = {
    export: (batch) => {
      batches.push(batch);
      return Promise.resolve();
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const records = (): EventRecord[] => batches.flatMap((b) => [...b.records]);
  return { exporter, batches, records };
}

let w: World;
beforeAll(async () => {
  w = await world();
});

describe('handing records over after the call', () => {
  let r: Recorder;
  let out: ReturnType<typeof batchingExporter>;
  beforeAll(() => {
    out = batchingExporter();
    r = w.recorder({ exporter: out.exporter });
  });
  afterAll(() => r.close());

  it('hands a call’s record over on the next turn, not on the call’s path', async () => {
    const read = r.tool('github.get_file', { resource: 'repo:acme/a', risk: 'low' }, () => 'ok');
    const session = await r.session({ initiatorToken: w.alice, taskId: 'handover-1' });
    await nextTurn();
    const before = out.records().length;
    await session.run(() => read());
    // Made and counted, not yet handed over: the exporter has nothing new.
    expect(out.records().length).toBe(before);
    expect(r.stats().queued).toBe(1);
    await nextTurn();
    const got = out.records().filter((x) => x.task_id === 'handover-1');
    expect(got.map((x) => x.type)).toEqual(['agent.invoked', 'tool.called']);
    expect(got[1]!.action!.args_digest).toBe(digestOf([]));
    expect(got[1]!.outcome!.result_digest).toBe(digestOf('ok'));
    expect(r.stats().queued).toBe(0);
  });

  it('records the arguments and the result as they were at the call, not as changed later', async () => {
    const input = { repo: 'acme/b', path: 'README.md' };
    const answer = { text: 'v1' };
    const read = r.tool(
      'github.get_file',
      { resource: 'repo:acme/b', risk: 'low', recordArgs: true },
      (i: { repo: string; path: string }) => {
        i.path = 'changed-by-the-tool';
        return answer;
      },
    );
    const session = await r.session({ initiatorToken: w.alice, taskId: 'handover-2' });
    const asCalled = { ...input };
    await session.run(() => read(input));
    answer.text = 'changed-by-the-caller';
    await r.flush();
    const call = out.records().find((x) => x.task_id === 'handover-2' && x.type === 'tool.called')!;
    expect(call.action!.args_digest).toBe(digestOf(asCalled));
    expect(call.action!.args).toEqual(asCalled);
    expect(call.outcome!.result_digest).toBe(digestOf({ text: 'v1' }));
  });

  it('keeps the order records were made in, across credentials, and sends an intent after them', async () => {
    const cut = out.records().length;
    const read = r.tool('github.get_file', { resource: 'repo:acme/c', risk: 'low' }, () => 1);
    const push = r.tool(
      'github.push',
      { resource: 'repo:acme/c', class: { privileged: true } },
      () => 2,
    );
    const a = await r.session({ initiatorToken: w.alice, taskId: 'order-a' });
    const b = await r.session({ initiatorToken: w.bob, taskId: 'order-b' });
    await a.run(() => read());
    await b.run(() => read());
    await a.run(() => read());
    // An intent is durable before its tool runs: everything made before it goes first.
    await b.run(() => push());
    await r.flush();
    const got = out.records().slice(cut);
    const ids = got.map((x) => x.id);
    expect([...ids].sort()).toEqual(ids);
    expect(got.map((x) => `${x.task_id}:${x.type}:${x.outcome?.status}`)).toEqual([
      'order-a:agent.invoked:success',
      'order-b:agent.invoked:success',
      'order-a:tool.called:success',
      'order-b:tool.called:success',
      'order-a:tool.called:success',
      'order-b:tool.called:pending',
      'order-b:tool.called:success',
    ]);
    // One batch per run of records made under the same credential.
    for (const batch of out.batches) {
      const tasks = new Set(batch.records.map((x) => x.task_id));
      expect(tasks.size).toBe(1);
    }
  });

  it('hands everything over on close', async () => {
    const mine = batchingExporter();
    const r2 = w.recorder({ exporter: mine.exporter });
    const read = r2.tool('github.get_file', { resource: 'repo:acme/d', risk: 'low' }, () => 1);
    await r2.session({ initiatorToken: w.alice, taskId: 'close' }, () => read());
    await r2.close();
    expect(mine.records().map((x) => x.type)).toEqual(['agent.invoked', 'tool.called']);
  });
});

describe('record time text', () => {
  it('is what Date.toISOString gives, for any time', () => {
    const times = [0, 1, 999, 1000, 1_764_820_000_123.7, -1, -1500.5, Date.UTC(10000, 0, 1)];
    for (let i = 0; i < 2000; i++) times.push(Math.random() * Date.UTC(9999, 11, 31));
    for (const t of times) expect(isoTime(t)).toBe(new Date(t).toISOString());
  });
});
