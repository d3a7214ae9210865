/**
 * The AuthZEN Authorization API 1.0 facade over the collector's decision point: Access
 * Evaluation (§6), Access Evaluations (§7) and the PDP metadata (§9). Every evaluation is one
 * decision of the same decision point `POST /v1/decisions` uses, recorded as a
 * `policy.decision` record before the answer is sent (no unrecorded decision exists).
 */
import { performance } from 'node:perf_hooks';
import {
  AUTHZEN_EVALUATIONS_PATH,
  AUTHZEN_EVALUATION_PATH,
  AUTHZEN_METADATA_PATH,
  AUTHZEN_REQUEST_ID_HEADER,
  isRequestId,
  parseEvaluationRequest,
  parseEvaluationsRequest,
} from '@provenant/core/authzen';
import type {
  AuthzenDecision,
  AuthzenEvaluation,
  EvaluationsSemantic,
} from '@provenant/core/authzen';
import { recordedKind } from '@provenant/core';
import type { JsonValue } from '@provenant/core';
import type { Decision } from '@provenant/policy';
import type { VerifiedTxnToken } from '@provenant/identity';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { correlationOf, txnTokenOf } from '../identity/txn-token.js';
import { RequestError } from '../errors.js';
import { answerError } from '../error-reply.js';
import { appendRecords } from '../ingest/append.js';
import { prepareOwnRecord } from '../ingest/prepare.js';
import type { Sealed } from '../ingest/draft.js';
import { actionOf, assertedAuthority, checkSubject } from '../authzen/map.js';
import { decisionRecord } from '../policy/service.js';
import { postureTrackerOf } from '../policy/posture.js';
import type { FacadeNote } from '../policy/service.js';

interface Evaluated {
  readonly decision: Decision | null;
  /** Resolves once the decision is stored (awaited with the record's commit). */
  readonly saved?: Promise<void>;
  /** An evaluation that could not be asked (a malformed entry of a boxcar): denied, with why. */
  readonly error?: { status: number; message: string };
}

export function authzenRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const services = () => {
    if (!ctx.policy || !ctx.identity)
      throw new RequestError('not_found', 'This collector runs no decision point.');
    return { policy: ctx.policy, identity: ctx.identity };
  };

  /** The request id, echoed on every answer of these routes (errors included, §10.1.3). */
  const requestIdOf = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
    const sent = request.headers[AUTHZEN_REQUEST_ID_HEADER];
    if (sent === undefined) return undefined;
    if (!isRequestId(sent)) {
      throw new RequestError(
        'invalid_request_id',
        'X-Request-ID must be 1-256 visible ASCII characters.',
      );
    }
    void reply.header('x-request-id', sent);
    return sent;
  };
  const echo = {
    onRequest: (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const sent = request.headers[AUTHZEN_REQUEST_ID_HEADER];
      if (isRequestId(sent)) void reply.header('x-request-id', sent);
      done();
    },
    // AuthZEN 1.0 "Error Responses": the status says the error, the body is an error message
    // string; the stable code goes in Provenant-Error-Code.
    // The request id is echoed here too: a refusal by a hook before the route's own (the
    // credential's, the body's admission) never ran `onRequest` above.
    errorHandler: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      const sent = request.headers[AUTHZEN_REQUEST_ID_HEADER];
      if (isRequestId(sent)) void reply.header('x-request-id', sent);
      return answerError(error, request, reply, (wire) => wire.body.error.message);
    },
  };

  const bodyOf = (request: FastifyRequest): unknown => {
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw new RequestError('unsupported_media_type', 'AuthZEN requests are application/json.');
    }
    try {
      return JSON.parse(typeof request.body === 'string' ? request.body : '');
    } catch {
      throw new RequestError('malformed_json', 'The body is not valid JSON.');
    }
  };

  /** Decides each evaluation in order, stopping where `semantic` short-circuits. */
  const evaluate = async (
    request: FastifyRequest,
    evaluations: readonly AuthzenEvaluation[],
    semantic: EvaluationsSemantic,
    requestId: string | undefined,
    boxcar: boolean,
  ): Promise<{ results: Evaluated[]; note: FacadeNote }> => {
    const { policy, identity } = services();
    const caller = request.caller;
    const credential = caller?.credential ?? null;
    const trusted = caller?.via === 'admin_token';
    if (credential === null && !trusted) {
      throw new RequestError(
        'invalid_credential',
        "An evaluation needs the subject's credential (Authorization: Bearer <credential>), or the admin token of a trusted PEP.",
      );
    }
    // A subject the credential does not name refuses the whole request, before any decision.
    if (credential !== null) for (const e of evaluations) checkSubject(e.subject, credential);
    const note: FacadeNote = {
      subject: credential === null ? 'pep' : 'credential',
      ...(requestId === undefined ? {} : { requestId }),
    };
    const results: Evaluated[] = [];
    for (const e of evaluations) {
      let asked;
      try {
        asked = {
          action: actionOf(e),
          authority: credential ?? assertedAuthority(e, requestId),
        };
      } catch (err) {
        // One malformed entry of a boxcar is denied on its own (§7.2.1); a single one is a 400.
        if (!boxcar || !(err instanceof RequestError)) throw err;
        results.push({ decision: null, error: { status: 400, message: err.message } });
        if (semantic === 'deny_on_first_deny') break;
        continue;
      }
      const { decision, saved } = await policy.decideUnsaved(
        asked.authority,
        asked.action,
        identity.directory,
      );
      results.push({ decision, saved });
      const allowed = decision.decision === 'allow';
      if (semantic === 'deny_on_first_deny' && !allowed) break;
      if (semantic === 'permit_on_first_permit' && allowed) break;
    }
    return { results, note };
  };

  /**
   * Records every decision in one commit, beside the decisions' own store writes; resolves once
   * both are durable. A verified
   * `Txn-Token` of the request puts its `txn` in each record's `correlation`.
   */
  const record = async (
    request: FastifyRequest,
    results: Evaluated[],
    note: FacadeNote,
    txn: VerifiedTxnToken | null,
  ) => {
    const { identity } = services();
    const kindOf = (id: string) => recordedKind(id, identity.directory.get(id)?.kind);
    const sealed: Sealed[] = [];
    for (const r of results) {
      if (r.decision === null) continue;
      // The risk state of the request's chain (AIMS), from the collector's own alerts only.
      const chain = r.decision.request.context['chain'];
      const posture = postureTrackerOf(ctx).assess(
        Array.isArray(chain) ? chain.filter((x): x is string => typeof x === 'string') : [],
        r.decision.time,
      );
      const made = decisionRecord(
        r.decision,
        request.caller?.credential ?? null,
        kindOf,
        note,
        posture,
      );
      if (txn !== null) made.correlation = correlationOf(txn);
      const p = prepareOwnRecord(made, {
        level: 'verified',
        reasons: ['decision_point_witness'],
      });
      if (p.ok) sealed.push(p);
    }
    await Promise.all([appendRecords(ctx, sealed), ...results.map((r) => r.saved)]);
  };

  const answer = (r: Evaluated): AuthzenDecision => {
    if (r.decision === null) return { decision: false, context: { error: { ...r.error! } } };
    const d = r.decision;
    const context: Record<string, JsonValue> = {
      decision_id: d.decision_id,
      policy_set: d.policy_set,
      determining: [...d.determining],
      ...(d.reason === undefined ? {} : { reason: d.reason }),
    };
    return { decision: d.decision === 'allow', context };
  };

  const timed = async (
    reply: FastifyReply,
    run: () => Promise<{ results: Evaluated[]; write: () => Promise<void> }>,
  ) => {
    const t0 = performance.now();
    const { results, write } = await run();
    const t1 = performance.now();
    await write();
    const t2 = performance.now();
    // What the decision took before its writes, and the writes: its record's commit and, beside
    // it, its row in the policy store (both in the ledger's file on SQLite; bench/authzen.js).
    void reply.header(
      'server-timing',
      `decide;dur=${(t1 - t0).toFixed(3)}, ledger;dur=${(t2 - t1).toFixed(3)}`,
    );
    return results;
  };

  app.post(AUTHZEN_EVALUATION_PATH, echo, async (request, reply) => {
    const requestId = requestIdOf(request, reply);
    const parsed = parseEvaluationRequest(bodyOf(request));
    if (!parsed.ok) throw new RequestError('invalid_evaluation_request', parsed.problem);
    const txn = await txnTokenOf(request, ctx);
    const results = await timed(reply, async () => {
      const { results, note } = await evaluate(
        request,
        [parsed.value],
        'execute_all',
        requestId,
        false,
      );
      return { results, write: () => record(request, results, note, txn) };
    });
    return answer(results[0]!);
  });

  app.post(AUTHZEN_EVALUATIONS_PATH, echo, async (request, reply) => {
    const requestId = requestIdOf(request, reply);
    const body = bodyOf(request);
    const parsed = parseEvaluationsRequest(body);
    if (!parsed.ok) throw new RequestError('invalid_evaluation_request', parsed.problem);
    const boxcar = Array.isArray((body as { evaluations?: unknown }).evaluations)
      ? (body as { evaluations: unknown[] }).evaluations.length > 0
      : false;
    const txn = await txnTokenOf(request, ctx);
    const results = await timed(reply, async () => {
      const { results, note } = await evaluate(
        request,
        parsed.value.evaluations,
        parsed.value.semantic,
        requestId,
        boxcar,
      );
      return { results, write: () => record(request, results, note, txn) };
    });
    // Without entries the request is the single evaluation, and so is its answer (§7.1).
    if (!boxcar) return answer(results[0]!);
    return { evaluations: results.map(answer) };
  });

  app.get(AUTHZEN_METADATA_PATH, echo, async (request) => {
    services();
    const base = (ctx.identity?.config.issuer ?? `${request.protocol}://${request.host}`).replace(
      /\/+$/,
      '',
    );
    return {
      policy_decision_point: base,
      access_evaluation_endpoint: `${base}${AUTHZEN_EVALUATION_PATH}`,
      access_evaluations_endpoint: `${base}${AUTHZEN_EVALUATIONS_PATH}`,
    };
  });
}
