// Shared by the MCP proxy's e2e tests: the proxy's scenario at a real collector, and reading back
// what the collector stored. (The proxy's unit tests run without a collector: see
// packages/mcp/test/helpers.ts.)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventRecord } from '@provenant/core';
import type { AgentIdentity } from '@provenant/sdk';
import { PROXY, tempDir } from '../../packages/mcp/test/helpers.js';
import {
  ADMIN_HEADERS,
  devLogin,
  makeIdentity,
  register,
  testCollector as collector,
} from './collector.js';
export { PROXY, tempDir };

/** Registers alice, bob and the proxy's agent instance; alice may write, bob only read. */
export async function scenario(
  url: string,
): Promise<{ proxy: AgentIdentity; alice: string; bob: string }> {
  const proxy = await makeIdentity(PROXY);
  await register(url, { id: 'user:alice', kind: 'human' });
  await register(url, { id: 'user:bob', kind: 'human' });
  await register(url, {
    id: PROXY,
    kind: 'agent_instance',
    agent: 'mcp-proxy',
    publicJwks: [proxy.publicJwk],
  });
  return {
    proxy: proxy.identity,
    alice: await devLogin(url, 'alice', 'repo:read repo:write'),
    bob: await devLogin(url, 'bob', 'repo:read'),
  };
}

/**
 * The set-up of the proxy's end-to-end tests: a temp folder, a collector in it, the scenario,
 * and the proxy's identity written to a 0600 key file (as `mcp-proxy --identity` reads it).
 */
export async function proxyWorld(prefix: string) {
  const tmp = tempDir(prefix);
  const c = await collector(join(tmp.dir, 'data'));
  const who = await scenario(c.url);
  const identityFile = join(tmp.dir, 'proxy.key.json');
  writeFileSync(identityFile, JSON.stringify(who.proxy), { mode: 0o600 });
  return { tmp, c, who, identityFile };
}

export type Stored = EventRecord & { attribution: { level: string } };

export async function events(url: string, query: Record<string, string>): Promise<Stored[]> {
  const res = await fetch(`${url}/v1/events?${new URLSearchParams({ ...query, limit: '1000' })}`, {
    headers: ADMIN_HEADERS,
  });
  return ((await res.json()) as { events: Stored[] }).events;
}
