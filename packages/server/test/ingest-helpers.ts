import { uuidv7 } from '@provenant/core';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_LIMITS, buildApp } from '../src/index.js';
import { AlertLimiter } from '../src/identity/attributor.js';
import { DEFAULT_DETECTION_CONFIG, Detector } from '../src/investigate/detections.js';
import { ADMIN, TD, makeIdentityApp } from './identity-helpers.js';

export const researcherId = `spiffe://${TD}/agent/researcher/instance/7f3a`;

/** The identity test app plus the detector, as startCollector wires it. */
export async function makeDetectingApp() {
  const made = await makeIdentityApp();
  const app = buildApp({
    log: made.log,
    storage: made.storage,
    limits: DEFAULT_LIMITS,
    identity: made.identity,
    alerts: new AlertLimiter(),
    adminToken: ADMIN,
    // The framing and suppression attacks post anonymously.
    anonymousIngest: 'asserted',
    detector: new Detector({
      ...DEFAULT_DETECTION_CONFIG,
      initiatorsPerInstance: { max: 2, windowMs: 60_000 },
    }),
  });
  return { ...made, app };
}

/** A researcher's action for alice, with `overrides`. */
export function act(overrides: Record<string, unknown> = {}) {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: researcherId, kind: 'agent_instance' },
    action: { name: 'github.get_file', resource: 'repo:acme/payments' },
    outcome: { status: 'success' },
    ...overrides,
  };
}

/** Posts records to /v1/events; anonymously (from `client`, if given) unless a bearer is given. */
export const postRecords = (
  app: FastifyInstance,
  body: unknown,
  { bearer, client }: { bearer?: string; client?: string } = {},
) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    ...(client ? { remoteAddress: client } : {}),
    payload: JSON.stringify(body),
  });

/** Reads a route as an operator does (the admin token holds every role). */
export const readAsAdmin = (app: FastifyInstance, url: string) =>
  app.inject({ url, headers: { authorization: `Bearer ${ADMIN}` } });
