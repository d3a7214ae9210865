// Shared by the SDK's e2e tests (and chaos): the agents and people of the SDK scenario,
// registered at a real collector, and reading back what the collector stored.
import { parseEventRecord } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import type { AgentIdentity } from '@provenant/sdk';
import { PLANNER, RESEARCHER } from '../../packages/sdk/test/helpers.js';
import { ADMIN_HEADERS, devLogin, makeIdentity, register } from './collector.js';
export { buildSdk } from './build-sdk.js';

export { PLANNER, RESEARCHER, TD, tempDir } from '../../packages/sdk/test/helpers.js';

export interface Scenario {
  planner: AgentIdentity;
  researcher: AgentIdentity;
  alice: string;
  bob: string;
}

/** Registers alice, bob, the planner and the researcher; signs alice and bob in. */
export async function scenario(url: string): Promise<Scenario> {
  const planner = await makeIdentity(PLANNER);
  const researcher = await makeIdentity(RESEARCHER);
  await register(url, { id: 'user:alice', kind: 'human' });
  await register(url, { id: 'user:bob', kind: 'human' });
  await register(url, {
    id: PLANNER,
    kind: 'agent_instance',
    agent: 'planner',
    publicJwks: [planner.publicJwk],
  });
  await register(url, {
    id: RESEARCHER,
    kind: 'agent_instance',
    agent: 'researcher',
    publicJwks: [researcher.publicJwk],
  });
  return {
    planner: planner.identity,
    researcher: researcher.identity,
    alice: await devLogin(url, 'alice', 'repo:read repo:write'),
    bob: await devLogin(url, 'bob', 'repo:read repo:write'),
  };
}

export type Stored = EventRecord & {
  attribution: { level: string; reasons: string[] };
  integrity: { leaf_index: number };
};

/** Every record matching the query, in log order; each must parse as provenant.event/v1. */
export async function events(url: string, query: Record<string, string> = {}): Promise<Stored[]> {
  const out: Stored[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ ...query, limit: '1000', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${url}/v1/events?${q}`, { headers: ADMIN_HEADERS });
    const body = (await res.json()) as { events: Stored[]; next_cursor: string | null };
    for (const e of body.events) {
      const parsed = parseEventRecord(e);
      if (!parsed.ok) throw new Error(`stored record does not parse: ${parsed.message}`);
    }
    out.push(...body.events);
    cursor = body.next_cursor;
  } while (cursor);
  return out;
}
