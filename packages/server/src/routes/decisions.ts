import { ACTION_CLASS_FLAGS, actionClassFlagList, isUuid } from '@provenant/core';
import { isActionName } from '@provenant/core/vocabulary';
import type { FastifyInstance } from 'fastify';
import type { ActionInput } from '@provenant/policy';
import type { CollectorContext } from '../context.js';
import { appendRecords } from '../ingest/append.js';
import { RequestError } from '../errors.js';
import { prepareOwnRecord } from '../ingest/prepare.js';
import { decidedAction } from '@provenant/policy';
import { decisionRecord } from '../policy/service.js';
import { postureTrackerOf } from '../policy/posture.js';
import { correlationOf, txnTokenOf } from '../identity/txn-token.js';

const RISKS = new Set(['low', 'medium', 'high', 'critical']);

/** Parses the body of POST /v1/decisions: the action the caller wants to take. */
function parseAction(raw: unknown): ActionInput {
  let body: unknown;
  try {
    body = JSON.parse(typeof raw === 'string' ? raw : '');
  } catch {
    throw new RequestError('malformed_json', 'The body is not valid JSON.');
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const action = (
    typeof b['action'] === 'object' && b['action'] !== null ? b['action'] : {}
  ) as Record<string, unknown>;
  const name = action['name'];
  const resource = action['resource'];
  if (!isActionName(name)) {
    throw new RequestError(
      'invalid_parameter',
      '"action.name" is required: 1-128 letters, digits and _ . : - (e.g. github.delete_repo).',
    );
  }
  if (typeof resource !== 'string' || resource.length === 0 || resource.length > 1024) {
    throw new RequestError(
      'invalid_parameter',
      '"action.resource" is required (1-1024 characters).',
    );
  }
  const out: { -readonly [K in keyof ActionInput]: ActionInput[K] } = { name, resource };
  const cls = action['class'];
  if (cls !== undefined) {
    const c = cls as Record<string, unknown>;
    if (
      typeof c !== 'object' ||
      c === null ||
      !ACTION_CLASS_FLAGS.every((k) => typeof c[k] === 'boolean')
    ) {
      throw new RequestError(
        'invalid_parameter',
        `"action.class" needs boolean ${actionClassFlagList('and')}.`,
      );
    }
    out.class = {
      privileged: c['privileged'] as boolean,
      irreversible: c['irreversible'] as boolean,
      external: c['external'] as boolean,
    };
  }
  const risk = action['risk'];
  if (risk !== undefined) {
    if (typeof risk !== 'string' || !RISKS.has(risk)) {
      throw new RequestError(
        'invalid_parameter',
        '"action.risk" must be low, medium, high or critical.',
      );
    }
    out.risk = risk as NonNullable<ActionInput['risk']>;
  }
  const taskId = b['task_id'];
  if (taskId !== undefined) {
    if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 1024) {
      throw new RequestError(
        'invalid_parameter',
        '"task_id" must be a string of 1-1024 characters.',
      );
    }
    out.taskId = taskId;
  }
  return out;
}

/**
 * The policy decision point: decides for the bearer credential and records its own decision
 * (with the posture it was made under), and records each policy set that replaces another.
 */
export function decisionRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  if (ctx.policy) {
    ctx.policy.onPolicyChanged = async (record) => {
      const p = prepareOwnRecord(record, {
        level: 'verified',
        reasons: ['decision_point_witness'],
      });
      if (p.ok) await appendRecords(ctx, [p]);
    };
  }
  const services = () => {
    if (!ctx.policy || !ctx.identity)
      throw new RequestError('not_found', 'This collector runs no decision point.');
    return { policy: ctx.policy, identity: ctx.identity };
  };

  app.post('/v1/decisions', async (request) => {
    const { policy, identity } = services();
    // Verified by the access hook; the admin token holds the role but names no actor.
    const credential = request.caller?.credential;
    if (!credential)
      throw new RequestError(
        'invalid_credential',
        "A decision needs the actor's credential: Authorization: Bearer <credential>.",
      );
    const txn = await txnTokenOf(request, ctx);
    const action = parseAction(request.body);
    const { decision, saved } = await policy.decideUnsaved(credential, action, identity.directory);
    const kindOf = (id: string) =>
      identity.directory.get(id)?.kind ?? (id.startsWith('user:') ? 'human' : 'agent_instance');
    // The risk state of every principal of the chain, from the collector's own alerts only.
    const posture = postureTrackerOf(ctx).assess(credential.chain, decision.time);
    const record = decisionRecord(decision, credential, kindOf, undefined, posture);
    if (txn !== null) record.correlation = correlationOf(txn);
    const p = prepareOwnRecord(record, {
      level: 'verified',
      reasons: ['decision_point_witness'],
    });
    // The decision is answered only once its record and its store row are durable (written side
    // by side): no unrecorded decision exists.
    const [[outcome]] = await Promise.all([p.ok ? appendRecords(ctx, [p]) : [], saved]);
    const { request: _request, ...rest } = decision;
    return {
      ...rest,
      // The class and risk decided on (the catalog's, raised by the caller's): what records
      // citing the decision must say.
      action: decidedAction(decision),
      leaf_index: outcome?.leafIndex ?? null,
      ...(outcome?.status === 'accepted' && outcome.promise ? { promise: outcome.promise } : {}),
    };
  });

  app.get('/v1/decisions/:id', async (request) => {
    const { policy } = services();
    const id = (request.params as { id: string }).id;
    if (!isUuid(id)) throw new RequestError('invalid_parameter', 'A decision id is a UUID.');
    const explanation = await policy.explain(id);
    if (!explanation) throw new RequestError('not_found', `No decision ${id}.`);
    return explanation;
  });
}
