// Coverage counts each action once: a fail-closed action (privileged, irreversible or external)
// is recorded twice by the SDK — its intent (`pending`), durable before the tool runs, then its
// outcome — and the report used to count both.
import { createRecorder } from '@provenant/sdk';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_HEADERS, testCollector as collector } from '../support/collector.js';
import { events, scenario, tempDir } from '../support/sdk.js';
import type { Scenario } from '../support/sdk.js';

const tmp = tempDir('coverage-once');
let c: RunningCollector;
let s: Scenario;

beforeAll(async () => {
  c = await collector(tmp.dir);
  s = await scenario(c.url);
});
afterAll(async () => {
  await c.close();
  tmp.remove();
});

interface Report {
  actions: number;
  by_class: Record<string, { total: number; verified: number }>;
  privileged: { total: number; verified_with_decision: number };
  weak_privileged: { href: string };
  links: Record<string, string>;
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${c.url}${path}`, { headers: ADMIN_HEADERS });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

describe('coverage of a fail-closed action', () => {
  it('counts the intent and its outcome as one action, verified and decided', async () => {
    const planner = createRecorder({
      collectorUrl: c.url,
      identity: s.planner,
      spool: false,
      batch: { maxRecords: 100, maxDelayMs: 5 },
    });
    const deleteRepo = planner.tool(
      'github.delete_repo',
      {
        resource: (repo: string) => `repo:${repo}`,
        class: { privileged: true, irreversible: true, external: true },
      },
      async (repo: string) => ({ deleted: repo }),
    );
    await planner.session({ initiatorToken: s.alice, taskId: 'task-once' }, () =>
      deleteRepo('acme/payments'),
    );
    await planner.flush();
    await planner.close();

    const calls = (await events(c.url, { task_id: 'task-once' })).filter(
      (r) => r.type === 'tool.called',
    );
    // Two records of one action: the intent, then the outcome that follows it.
    expect(calls.map((r) => r.outcome?.status)).toEqual(['pending', 'success']);
    expect(calls[1]!.cause?.record_id).toBe(calls[0]!.id);

    const report = await get<Report>('/v1/reports/coverage');
    // Two actions: the planner's invocation (agent.invoke) and the deletion, once.
    expect(report.actions).toBe(2);
    for (const cls of ['privileged', 'irreversible', 'external']) {
      expect(report.by_class[cls], cls).toMatchObject({ total: 1, verified: 1 });
    }
    expect(report.privileged).toMatchObject({ total: 1, verified_with_decision: 1 });
    // The records behind the count: the intent alone.
    const href = report.links['privileged.total'];
    expect(href, JSON.stringify(report.links)).toBeDefined();
    const behind = await get<{ records: { id: string }[] }>(href!);
    expect(behind.records.map((r) => r.id)).toEqual([calls[0]!.id]);
  });
});
