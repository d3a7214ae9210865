import { uuidv7 } from '@provenant/core';
import { Log, MemoryStorage, generateSignerKey, parseSignerKey } from '@provenant/ledger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryLeases } from '../src/cluster/lease.js';
import { ClusterNode } from '../src/cluster/node.js';
import { prepareRecord } from '../src/offline.js';
import { record } from './helpers.js';

const TUNING = { leaseRetryMs: 20, sequenceIdleMs: 10, refreshMs: 20 };

/** Polls `fn` on timers (monotonic in Node) until it holds; never reads the wall clock. */
async function until(what: string, fn: () => boolean, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never: ${what}`);
}

function entry() {
  const prepared = prepareRecord(record({ id: uuidv7() }));
  if (!prepared.ok) throw new Error(prepared.message);
  return prepared.entry;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('cluster schedules on a monotonic clock', () => {
  it('a member whose wall clock steps back an hour still follows and takes over', async () => {
    const storage = new MemoryStorage();
    const signer = parseSignerKey(generateSignerKey('clock.test/log').signerKey);
    const leases = new MemoryLeases();
    const member = async () => {
      const log = await Log.open({ storage, signer, ingest: 'queue' });
      const node = new ClusterNode({ ...TUNING, leases, log, queue: storage });
      node.start();
      return { log, node };
    };
    const a = await member();
    await until('a sequences', () => a.node.role === 'sequencer');
    const b = await member();
    // b has run its loop (scheduled its next refresh and lease try) before the step.
    await new Promise((r) => setTimeout(r, 50));
    expect(b.node.role).toBe('follower');
    const wall = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => wall() - 3_600_000);

    await a.log.append([entry()]);
    await until('b follows the tree a sequenced', () => b.log.size === 1);
    await a.node.close(); // gives the lease up
    await until('b takes over', () => b.node.role === 'sequencer');
    await b.log.append([entry()]);
    await until('b sequences', () => b.log.size === 2);
    expect(a.log.size).toBe(1); // a stopped following when it gave the lease up
    await b.node.close();
    await Promise.all([a.log.close(), b.log.close()]);
  });
});
