// The HTTP + spool exporter under failure, against a fake ingest endpoint (the real collector
// stopping and restarting is test/e2e/sdk-spool.test.ts).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntentNotDurableError, RecorderOverflowError } from '../src/index.js';
import { tempDir, world } from './helpers.js';
import type { World } from './helpers.js';

const tmp = tempDir('delivery');
let w: World;
beforeAll(async () => {
  w = await world();
});
afterAll(() => tmp.remove());

const FAST_RETRY = { attempts: 2, baseDelayMs: 10, maxDelayMs: 100 };
const PRIVILEGED = { privileged: true, irreversible: true, external: true };

/** The collector's ingest answering every record accepted, or unreachable while `down`. */
function switchableIngest() {
  const state = { down: false, received: 0 };
  const f: typeof fetch = async (input, init) => {
    if (!String(input).endsWith('/v1/events')) throw new Error(`unexpected ${String(input)}`);
    if (state.down) throw new TypeError('fetch failed');
    const records = JSON.parse(String(init?.body)) as { id: string }[];
    state.received += records.length;
    return new Response(
      JSON.stringify({ accepted: records.map((r) => ({ id: r.id })), rejected: [] }),
      { status: 200, headers: { 'content-type': 'application/json' } },
    );
  };
  return { state, fetch: f };
}

const overHttp = (fetchFn: typeof fetch) => ({
  collectorUrl: 'http://collector.invalid',
  fetch: fetchFn,
});

describe('fail closed and overflow', () => {
  it('refuses a privileged tool when neither the collector nor the spool can take its intent', async () => {
    for (const spool of [false, { dir: join(tmp.dir, 'tiny-spool'), maxBytes: 2_000 }] as const) {
      const sw = switchableIngest();
      const r = w.recorder({ ...overHttp(sw.fetch), spool, retry: FAST_RETRY });
      let runs = 0;
      const destroy = r.tool(
        'github.delete_repo',
        { resource: 'repo:acme/scratch', class: PRIVILEGED },
        () => {
          runs++;
        },
      );
      const read = r.tool(
        'github.get_file',
        { resource: 'repo:acme/payments', risk: 'low' },
        () => 1,
      );
      const err = await r.session({ initiatorToken: w.alice }, async () => {
        await destroy(); // collector up: runs
        sw.state.down = true;
        await read(); // low risk: recorded for later, runs
        await r.flush();
        return destroy().catch((e: unknown) => e);
      });
      expect(err).toBeInstanceOf(IntentNotDurableError);
      expect(err).toMatchObject({ code: 'intent_not_durable' });
      expect(runs).toBe(1);
      expect(r.stats().refusedIntents).toBe(1);
      sw.state.down = false;
      expect(await r.drain(5_000)).toBe(true);
      await r.close();
      // What the exporter counts as delivered is what the collector received, once.
      expect(sw.state.received).toBe(r.stats().delivered);
    }
  });

  it('applies the overflow policy when memory and spool are full', async () => {
    const sw = switchableIngest();
    const make = (overflow: 'fail' | 'drop-low-risk') =>
      w.recorder({
        ...overHttp(sw.fetch),
        spool: false,
        memory: { maxRecords: 5 },
        overflow,
        retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 50 },
      });
    const failing = make('fail');
    const dropping = make('drop-low-risk');
    sw.state.down = true;
    for (const r of [failing, dropping]) {
      const read = r.tool(
        'github.get_file',
        { resource: 'repo:acme/payments', risk: 'low' },
        () => 1,
      );
      const session = await r.session({ initiatorToken: w.alice });
      const outcomes = await session.run(async () => {
        const out: unknown[] = [];
        for (let i = 0; i < 10; i++) out.push(await read().catch((e: unknown) => e));
        return out;
      });
      if (r === failing) {
        expect(outcomes.filter((o) => o instanceof RecorderOverflowError).length).toBeGreaterThan(
          0,
        );
      } else {
        expect(outcomes.every((o) => o === 1)).toBe(true);
        expect(r.stats().dropped).toBeGreaterThan(0);
      }
      expect(r.stats().queued).toBeLessThanOrEqual(6);
    }
    sw.state.down = false;
    for (const r of [failing, dropping]) {
      expect(await r.drain(5_000)).toBe(true);
      await r.close();
    }
  });
});
