import { uuidv7 } from '@provenant/core';
import { Log, MemoryStorage, generateSignerKey, parseSignerKey } from '@provenant/ledger';
import type { LogStorage } from '@provenant/ledger';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/index.js';
import { DEFAULT_LIMITS } from '../src/index.js';
import type { CollectorLimits } from '../src/index.js';

export const KEYS = generateSignerKey('collector.test/log');

export async function makeApp(
  options: { storage?: LogStorage; limits?: Partial<CollectorLimits> } = {},
): Promise<{ app: FastifyInstance; log: Log; storage: LogStorage }> {
  const storage = options.storage ?? new MemoryStorage();
  const log = await Log.open({ storage, signer: parseSignerKey(KEYS.signerKey) });
  const app = buildApp({ log, storage, limits: { ...DEFAULT_LIMITS, ...options.limits } });
  return { app, log, storage };
}

export function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: '2026-11-27T13:05:01.123456Z',
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    cause: { kind: 'agent_decision' },
    actor: {
      id: 'spiffe://acme.test/agent/researcher/instance/7f3a',
      kind: 'agent_instance',
      agent: 'researcher',
      version: '2.1.0',
      instance: '7f3a',
    },
    action: {
      name: 'github.delete_repo',
      tool: { server: 'github-mcp', name: 'delete_repo', call_id: 'call_42' },
      resource: 'repo:acme/payments',
      class: { privileged: true, irreversible: true, external: true },
      risk: 'critical',
      args: { repo: 'acme/payments' },
    },
    outcome: { status: 'success', duration_ms: 412 },
    trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
    task_id: 'task-981',
    ...overrides,
  };
}

export interface IngestAnswer {
  accepted: { id: string; leaf_index: number; attribution: { level: string } }[];
  rejected: { index: number; id: string | null; code: string; message: string }[];
}

export function postJson(app: FastifyInstance, body: unknown) {
  return app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
