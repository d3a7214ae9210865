import { Log, MemoryStorage, generateSignerKey, hashLeaf, parseSignerKey } from '@provenant/ledger';
import type { PreparedEntry } from '@provenant/ledger';
import { describe, expect, it } from 'vitest';
import { MemoryLeases } from '../src/cluster/lease.js';
import { ClusterNode } from '../src/cluster/node.js';

const signer = parseSignerKey(generateSignerKey('cluster-lease.test/log').signerKey);
const encoder = new TextEncoder();
const FAST = { leaseRetryMs: 5, sequenceIdleMs: 5, refreshMs: 5 };

function entry(i: number): PreparedEntry {
  const canonical = `{"n":${i}}`;
  return {
    id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    canonical,
    leafHash: hashLeaf(encoder.encode(canonical)),
    type: 'tool.called',
    timeUs: i,
    initiator: null,
    actor: null,
    taskId: null,
    traceId: null,
    level: 'unattributed',
  };
}

/** Polls `check` until it holds (state, not time: the bound only stops a broken test). */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('ClusterNode over the SequencerLease port (in-memory leases)', () => {
  it('one member sequences; when its lease is lost or it stops, another takes over', async () => {
    const storage = new MemoryStorage();
    const leases = new MemoryLeases();
    const events: string[] = [];
    const member = async (name: string) => {
      const log = await Log.open({ storage, signer, ingest: 'queue' });
      const onEvent = (_level: string, message: string) => events.push(`${name}: ${message}`);
      return { log, node: new ClusterNode({ ...FAST, leases, log, queue: storage, onEvent }) };
    };
    const a = await member('a');
    a.node.start();
    await until(() => a.node.role === 'sequencer', 'a sequences');
    const b = await member('b');
    b.node.start();
    await b.log.append([entry(1), entry(2)]);
    await until(async () => (await storage.readState()).size === 2, 'a sequenced what b queued');
    expect(b.node.role).toBe('follower');

    // The holder's session ends: it notices, and one member (either) sequences again.
    leases.revoke('session ended');
    await until(() => events.includes('a: sequencer lease lost'), 'a noticed');
    const sequencers = () => [a, b].filter((m) => m.node.role === 'sequencer');
    await until(() => sequencers().length === 1, 'one member holds the lease again');
    await a.log.append([entry(3)]);
    await until(async () => (await storage.readState()).size === 3, 'the new holder sequenced');

    // The holder stops (releasing the lease): the other takes over and follows the tree.
    const holder = sequencers()[0]!;
    const other = holder === a ? b : a;
    await holder.node.close();
    await until(() => other.node.role === 'sequencer', 'the other took over');
    await other.log.append([entry(4)]);
    await until(async () => (await storage.readState()).size === 4, 'sequenced after the handover');
    await until(() => other.log.size === 4, 'its log serves the tree');
    expect(await storage.pendingCount()).toBe(0);
    await other.node.close();
    expect(await leases.tryAcquire(() => {})).not.toBeNull(); // released on close
  });
});
