import { uuidv7 } from '@provenant/core';
import { Log, MemoryStorage, parseSignerKey } from '@provenant/ledger';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, buildApp } from '../src/index.js';
import type { CoverageReport } from '../src/index.js';
import { ADMIN_TOKEN, KEYS, asAdmin, record } from './helpers.js';

/** A collector on an empty in-memory ledger, taking anonymous records (asserted). */
async function collector() {
  const storage = new MemoryStorage();
  const log = await Log.open({ storage, signer: parseSignerKey(KEYS.signerKey) });
  const app = buildApp({
    log,
    storage,
    limits: DEFAULT_LIMITS,
    adminToken: ADMIN_TOKEN,
    anonymousIngest: 'asserted',
  });
  return {
    async post(...records: Record<string, unknown>[]) {
      const res = await app.inject({ method: 'POST', url: '/v1/events', payload: records });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as { rejected: unknown[] }).rejected).toEqual([]);
    },
    async privileged(): Promise<number> {
      const res = await app.inject({ headers: asAdmin, url: '/v1/reports/coverage' });
      return (res.json() as CoverageReport).by_class.privileged.total;
    },
  };
}

/** The two records of one fail-closed call: its intent, and the outcome that follows it. */
function intentAndOutcome(overrides: Record<string, unknown> = {}) {
  const intent = record({ id: uuidv7(), outcome: { status: 'pending' } });
  const outcome = record({
    id: uuidv7(),
    cause: { kind: 'agent_decision', record_id: intent['id'] },
    ...overrides,
  });
  return { intent, outcome };
}

describe('coverage counts each action once', () => {
  it('an intent and its outcome sent together are one action', async () => {
    const c = await collector();
    const { intent, outcome } = intentAndOutcome();
    await c.post(intent, outcome);
    expect(await c.privileged()).toBe(1);
  });

  it('an outcome sent after its stored intent is the same action', async () => {
    const c = await collector();
    const { intent, outcome } = intentAndOutcome();
    await c.post(intent);
    expect(await c.privileged()).toBe(1);
    await c.post(outcome);
    expect(await c.privileged()).toBe(1);
  });

  it('an intent whose outcome never came still counts', async () => {
    const c = await collector();
    await c.post(intentAndOutcome().intent);
    expect(await c.privileged()).toBe(1);
  });

  it('a record of another actor or on another resource naming the intent is an action of its own', async () => {
    const c = await collector();
    const { intent } = intentAndOutcome();
    await c.post(intent);
    const other = {
      id: 'spiffe://acme.test/agent/mallory/instance/1',
      kind: 'agent_instance',
    };
    await c.post(
      record({
        id: uuidv7(),
        actor: other,
        cause: { kind: 'agent_decision', record_id: intent['id'] },
      }),
    );
    const base = record() as { action: Record<string, unknown> };
    await c.post(
      record({
        id: uuidv7(),
        action: { ...base.action, resource: 'repo:acme/other' },
        cause: { kind: 'agent_decision', record_id: intent['id'] },
      }),
    );
    expect(await c.privileged()).toBe(3);
  });

  it('a record naming a finished action (not an intent) as its cause is an action of its own', async () => {
    const c = await collector();
    const { intent, outcome } = intentAndOutcome();
    await c.post(intent, outcome);
    await c.post(
      record({ id: uuidv7(), cause: { kind: 'agent_decision', record_id: outcome['id'] } }),
    );
    expect(await c.privileged()).toBe(2);
  });
});
