import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEventRecord } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import type { AgentIdentity } from '../src/index.js';
import {
  ADMIN,
  POLICIES,
  devLogin,
  makeIdentity,
  register,
  testCollector as collector,
} from '../../../test/support/collector.js';
export { ADMIN, POLICIES, collector, devLogin, makeIdentity, register };

export const TD = 'acme.test';
export const PLANNER = `spiffe://${TD}/agent/planner/instance/19c2`;
export const RESEARCHER = `spiffe://${TD}/agent/researcher/instance/7f3a`;

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `provenant-sdk-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

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
    const res = await fetch(`${url}/v1/events?${q}`);
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

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Builds packages/sdk (dist) for tests that run it in a child process. Test files run in
 * parallel processes, so the build is serialized with a lock folder.
 */
export async function buildSdk(): Promise<void> {
  const lock = join(tmpdir(), 'provenant-sdk-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for the SDK build lock');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    execFileSync('npx', ['tsc', '-b', 'packages/sdk'], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
