// The SDK's tests run without a collector: records go to an in-memory exporter, credentials
// come from an in-memory issuer and decisions from a rule (all from `@provenant/sdk/testing`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecord } from '@provenant/core';
import { exportJWK, generateKeyPair } from 'jose';
import { createRecorder } from '../src/index.js';
import type { AgentIdentity, Recorder, RecorderOptions } from '../src/index.js';
import { InMemoryRecordExporter, memoryDecisions, memoryIssuer } from '../src/testing/index.js';
import type {
  DecisionRule,
  ExportedRecord,
  MemoryDecisions,
  MemoryIssuer,
} from '../src/testing/index.js';
export { buildSdk } from '../../../test/support/build-sdk.js';

export const TD = 'acme.test';
export const PLANNER = `spiffe://${TD}/agent/planner/instance/19c2`;
export const RESEARCHER = `spiffe://${TD}/agent/researcher/instance/7f3a`;

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `provenant-sdk-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function identity(principal: string): Promise<AgentIdentity> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { principal, jwk: { ...(await exportJWK(privateKey)), alg: 'EdDSA' } };
}

/** What the example policies do that the tests lean on: nothing irreversible two hops deep. */
export const examplePolicy: DecisionRule = (request, asker) =>
  request.action.class?.irreversible && asker.chain.length >= 2
    ? { decision: 'deny', determining: ['forbid-deep-irreversible'], reason: 'too deep' }
    : 'allow';

export interface World {
  readonly issuer: MemoryIssuer;
  readonly decisions: MemoryDecisions;
  readonly planner: AgentIdentity;
  readonly researcher: AgentIdentity;
  /** Initiator credentials, as a sign-in gives them. */
  readonly alice: string;
  readonly bob: string;
  /**
   * A recorder of the planner's over this world, with an in-memory exporter of its own (closing
   * it shuts that down), or over HTTP when `collectorUrl` is given; options override the rest.
   */
  recorder(options?: Partial<RecorderOptions>): Recorder;
  /** What every recorder of this world exported so far, optionally only one task's. */
  exported(taskId?: string): ExportedRecord[];
  records(taskId?: string): EventRecord[];
}

export async function world(rule: DecisionRule = examplePolicy): Promise<World> {
  const exporters: InMemoryRecordExporter[] = [];
  const issuer = memoryIssuer();
  const decisions = memoryDecisions(rule);
  const planner = await identity(PLANNER);
  const scope = ['repo:read', 'repo:write'];
  const exported = (taskId?: string) =>
    exporters
      .flatMap((x) => x.getExported())
      .filter((e) => taskId === undefined || e.record.task_id === taskId);
  return {
    issuer,
    decisions,
    planner,
    researcher: await identity(RESEARCHER),
    alice: issuer.initiator('user:alice', { scope }),
    bob: issuer.initiator('user:bob', { scope }),
    recorder: (options = {}) => {
      const base = { identity: planner, issuer, pdp: decisions };
      // With a collector URL: its HTTP exporter (the tests give a fake fetch).
      if (options.collectorUrl !== undefined) return createRecorder({ ...base, ...options });
      const exporter = new InMemoryRecordExporter();
      exporters.push(exporter);
      return createRecorder({ ...base, exporter, ...options });
    },
    exported,
    records: (taskId) => exported(taskId).map((e) => e.record),
  };
}
