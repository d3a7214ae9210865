// Shared by the agent-framework e2e tests: a real collector, the SDK scenario's principals and
// a recorder acting as the planner, started once per test file.
import { createRecorder } from '@provenant/sdk';
import type { Recorder } from '@provenant/sdk';
import type { RunningCollector } from '@provenant/server';
import { afterAll, beforeAll } from 'vitest';
import { testCollector } from './collector.js';
import { scenario, tempDir } from './sdk.js';
import type { Scenario } from './sdk.js';

export interface PlannerWorld {
  /** The collector; set in beforeAll. */
  readonly c: RunningCollector;
  readonly s: Scenario;
  /** Records as the planner agent. */
  readonly recorder: Recorder;
}

/** Registers the file's beforeAll/afterAll; read the fields inside tests only. */
export function plannerWorld(name: string): PlannerWorld {
  const tmp = tempDir(name);
  const world = {} as { c: RunningCollector; s: Scenario; recorder: Recorder };
  beforeAll(async () => {
    world.c = await testCollector(tmp.dir);
    world.s = await scenario(world.c.url);
    world.recorder = createRecorder({
      collectorUrl: world.c.url,
      identity: world.s.planner,
      agent: { name: 'planner' },
      spool: false,
      batch: { maxRecords: 100, maxDelayMs: 5 },
    });
  });
  afterAll(async () => {
    await world.recorder.close();
    await world.c.close();
    tmp.remove();
  });
  return world;
}

/** The class of the scenario's push and delete_repo. */
export const CRITICAL = { privileged: true, irreversible: true, external: true } as const;
export const repoResource = (i: { repo: string }): string => `repo:${i.repo}`;
