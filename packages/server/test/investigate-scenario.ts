import { fileURLToPath } from 'node:url';
import { uuidv7 } from '@provenant/core';
import { CedarEngine, readPolicyFolder } from '@provenant/policy';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_LIMITS, buildApp } from '../src/index.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import { PolicyService, DEFAULT_AUDIT_RULES } from '../src/policy/service.js';
import { ADMIN, TD, aliceScenario, makeIdentityApp } from './identity-helpers.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));
export const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;
export const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** A collector with identity and the example Cedar policies, as the investigation tests need. */
export async function makeInvestigateApp() {
  const made = await makeIdentityApp();
  const policy = await PolicyService.open(new CedarEngine(), new MemoryPolicyStore(), {
    auditRules: DEFAULT_AUDIT_RULES,
    hmacKey: new Uint8Array(32).fill(7),
  });
  await policy.load(readPolicyFolder(EXAMPLES));
  const app = buildApp({
    log: made.log,
    storage: made.storage,
    limits: DEFAULT_LIMITS,
    identity: made.identity,
    policy,
    alerts: new AlertLimiter(),
    adminToken: ADMIN,
    anonymousIngest: 'asserted',
  });
  return { ...made, app, policy };
}

export async function post(app: FastifyInstance, url: string, bearer: string, body: unknown) {
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json() };
}

/** An action record of the researcher, optionally citing a decision. */
export function researcherAction(decisionId?: string, overrides: Record<string, unknown> = {}) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: researcherId, kind: 'agent_instance' },
    action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
    ...(decisionId
      ? { policy: { decision_id: decisionId, engine: 'cedar', decision: 'allow' } }
      : {}),
    outcome: { status: 'success' },
    trace: { trace_id: TRACE, span_id: '00f067aa0ba902b7', parent_span_id: '1111111111111111' },
    task_id: 'task-981',
    ...overrides,
  };
}

/**
 * alice → planner → researcher; a prompt record (root span), a decision, and the researcher's
 * read of repo:acme/payments citing it. Returns the ids.
 */
export async function investigationScenario(app: FastifyInstance) {
  const s = await aliceScenario(app);
  const prompt = {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date(Date.now() - 1000).toISOString(),
    type: 'prompt.received',
    initiator: { id: 'user:alice', kind: 'human' },
    cause: { kind: 'human_prompt' },
    actor: { id: researcherId, kind: 'agent_instance' },
    trace: { trace_id: TRACE, span_id: '1111111111111111' },
    task_id: 'task-981',
  };
  const p = await post(app, '/v1/events', s.researcherToken, prompt);
  if (p.status !== 200) throw new Error(`prompt: ${JSON.stringify(p.body)}`);
  const d = await post(app, '/v1/decisions', s.researcherToken, {
    action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
    task_id: 'task-981',
  });
  if (d.status !== 200) throw new Error(`decision: ${JSON.stringify(d.body)}`);
  const action = researcherAction(d.body.decision_id as string, {
    cause: { kind: 'agent_decision', record_id: prompt.id },
  });
  const a = await post(app, '/v1/events', s.researcherToken, action);
  if (a.status !== 200 || a.body.accepted.length !== 1)
    throw new Error(`action: ${JSON.stringify(a.body)}`);
  return {
    ...s,
    promptId: prompt.id,
    decisionId: d.body.decision_id as string,
    actionId: action.id,
  };
}
