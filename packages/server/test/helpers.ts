import { uuidv7 } from '@provenant/core';
import { Log, MemoryStorage, generateSignerKey, parseSignerKey } from '@provenant/ledger';
import type { LogStorage } from '@provenant/ledger';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/index.js';
import { DEFAULT_LIMITS } from '../src/index.js';
import type { AnonymousIngest, CollectorLimits } from '../src/index.js';

export const KEYS = generateSignerKey('collector.test/log');

/** The admin token of the test apps: it holds every role (access/routes.ts). */
export const ADMIN_TOKEN = 'test-admin-token';
/** Headers that read with the admin token: `app.inject({ url, headers: asAdmin })`. */
export const asAdmin: Readonly<Record<string, string>> = {
  authorization: `Bearer ${ADMIN_TOKEN}`,
};
/** Bearer headers of a credential (a collector-issued JWT carrying its roles). */
export const bearer = (token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
});

/** An app without identity; it takes anonymous records (`asserted`) unless told otherwise. */
export async function makeApp(
  options: {
    storage?: LogStorage;
    limits?: Partial<CollectorLimits>;
    anonymousIngest?: AnonymousIngest;
  } = {},
): Promise<{ app: FastifyInstance; log: Log; storage: LogStorage }> {
  const storage = options.storage ?? new MemoryStorage();
  const log = await Log.open({ storage, signer: parseSignerKey(KEYS.signerKey) });
  const app = buildApp({
    log,
    storage,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    adminToken: ADMIN_TOKEN,
    anonymousIngest: options.anonymousIngest ?? 'asserted',
  });
  return { app, log, storage };
}

/** GET `url` with the admin token. */
export const getAsAdmin = (app: FastifyInstance, url: string) =>
  app.inject({ method: 'GET', url, headers: asAdmin });

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
