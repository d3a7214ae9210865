/**
 * One call of a wrapped tool, one step per method: `start` (context, admission, decision),
 * then `deny`, or `intent` (durable first, when the tool fails closed) and `finish` or `fail`.
 * Each step that records fixes what it records now (ids, time, the canonical text of arguments
 * and result) and hands the recorder a builder: the record is built with the pure builders, and
 * its digests taken, when the recorder hands it to the exporter, off the caller's path. The
 * active span is decorated at once.
 */
import { performance } from 'node:perf_hooks';
import { digestOfCanonical } from '@provenant/core';
import type { Action, EventRecord, Outcome, PolicyRef } from '@provenant/core';
import { ACTION_CLASS_FLAGS } from '@provenant/core/vocabulary';
import type { WorkContext } from '../context.js';
import { DecisionUnavailableError, PolicyDeniedError, SdkError } from '../errors.js';
import type { Decision } from '../lib/decisions.js';
import { newId } from '../lib/ids.js';
import { canonicalText } from '../lib/redact.js';
import { toolRecord } from '../records/build.js';
import { decorateToolSpan } from '../trace/decorate.js';
import { activeSpan } from '../trace/otel.js';
import { newSpanId } from '../trace/traceparent.js';
import { resourceOf, toolAction, type ToolSpec } from './spec.js';

/** What a tool call needs from its recorder. */
export interface ToolCallEnv {
  readonly clock: () => number;
  readonly host: string;
  /** Throws `RecorderClosedError` once the recorder is closed. */
  checkOpen(): void;
  /** The exporter's admission (see `RecordExporter.admit`). */
  admit(lowRisk: boolean): null | 'drop' | Promise<void>;
  /** A decision (a cached one synchronously); rejects when none can be had. */
  decide(
    ctx: WorkContext,
    spec: ToolSpec,
    resource: string,
    now: number,
  ): Decision | Promise<Decision>;
  /**
   * Exports one record made under `ctx`, built by `build` when it is handed to the exporter
   * (at once for an intent, which resolves once durable; else with the next batch).
   */
  emit(ctx: WorkContext, build: () => EventRecord, durable: boolean): Promise<void>;
  /** Counts a record not kept (the `drop-low-risk` overflow policy). */
  dropped(): void;
}

/** What a tool's failure is recorded as: its error's class name and message. */
export function errorOf(e: unknown): { code: string; message?: string } {
  const err = e as { name?: unknown; message?: unknown; constructor?: { name?: string } };
  const code =
    String(
      typeof err?.name === 'string' && err.name ? err.name : (err?.constructor?.name ?? 'Error'),
    ).slice(0, 128) || 'Error';
  const message =
    typeof err?.message === 'string' ? err.message.slice(0, 4096) : String(e).slice(0, 4096);
  return message ? { code, message } : { code };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export function isPromise(v: unknown): v is PromiseLike<unknown> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
  );
}

export class ToolCall {
  /** The intent this call's outcome follows (fail-closed tools only). */
  private causeId: string | undefined;
  private started = 0;
  /** Whether `action` has its arguments' digest (added when the first record is built). */
  private digestTaken = false;

  private constructor(
    private readonly env: ToolCallEnv,
    readonly context: WorkContext,
    readonly spec: ToolSpec,
    /** The action without its arguments' digest (taken from `argsText` when built). */
    readonly action: Action,
    private readonly argsText: string | undefined,
    readonly decision: Decision,
    /** False when admission dropped this call's records. */
    private readonly keep: boolean,
  ) {}

  /**
   * Everything before the tool may run: the context, the credential's lifetime, room for the
   * records, and a decision. Throws (nothing has run): a TypeError outside a session,
   * `credential_expired`, `RecorderOverflowError`, `DecisionUnavailableError` (recorded).
   * Synchronous when there is room and the decision is cached: the hot path takes no turn.
   */
  static start(
    env: ToolCallEnv,
    spec: ToolSpec,
    ctx: WorkContext | undefined,
    args: readonly unknown[],
  ): ToolCall | Promise<ToolCall> {
    if (!ctx) {
      throw new TypeError(
        `${spec.name} was called outside a session: wrap the work in recorder.session().`,
      );
    }
    env.checkOpen();
    const now = env.clock();
    if (now >= ctx.credential.exp * 1000) {
      throw new SdkError(
        'credential_expired',
        `The credential for ${spec.name} has expired; start a new session.`,
      );
    }
    const admitted = env.admit(spec.lowRisk);
    if (admitted !== null && admitted !== 'drop') {
      return admitted.then(() => ToolCall.decided(env, spec, ctx, args, now, true));
    }
    return ToolCall.decided(env, spec, ctx, args, now, admitted !== 'drop');
  }

  private static decided(
    env: ToolCallEnv,
    spec: ToolSpec,
    ctx: WorkContext,
    args: readonly unknown[],
    now: number,
    keep: boolean,
  ): ToolCall | Promise<ToolCall> {
    const resource = resourceOf(spec, args);
    let decided: Decision | Promise<Decision>;
    try {
      decided = env.decide(ctx, spec, resource, now);
    } catch (e) {
      return ToolCall.unavailable(env, spec, ctx, resource, e);
    }
    if (isPromise(decided)) {
      return decided.then(
        (d) => ToolCall.made(env, spec, ctx, args, resource, d, keep),
        (e) => ToolCall.unavailable(env, spec, ctx, resource, e),
      );
    }
    return ToolCall.made(env, spec, ctx, args, resource, decided, keep);
  }

  private static made(
    env: ToolCallEnv,
    spec: ToolSpec,
    ctx: WorkContext,
    args: readonly unknown[],
    resource: string,
    d: Decision,
    keep: boolean,
  ): ToolCall {
    const { action, argsText } = toolAction(spec, resource, args);
    return new ToolCall(env, ctx, spec, asDecided(action, d), argsText, d, keep);
  }

  /** No decision could be had: recorded as denied (`decision_unavailable`), then thrown. */
  private static unavailable(
    env: ToolCallEnv,
    spec: ToolSpec,
    ctx: WorkContext,
    resource: string,
    e: unknown,
  ): never {
    const call = new ToolCall(
      env,
      ctx,
      spec,
      bareAction(spec, resource),
      undefined,
      unknownDecision,
      true,
    );
    void call.record(
      {
        status: 'denied',
        error: {
          code: 'decision_unavailable',
          message: String((e as Error)?.message ?? e).slice(0, 4096) || 'unavailable',
        },
      },
      undefined,
    );
    throw new DecisionUnavailableError(spec.name, e);
  }

  get decisionId(): string {
    return this.decision.decisionId;
  }

  /**
   * A call refused before its decision was asked for (the caller's own check): recorded as
   * `denied` with that error and no policy reference. Returns the record's id.
   */
  static refusal(
    env: ToolCallEnv,
    spec: ToolSpec,
    ctx: WorkContext,
    error: { readonly code: string; readonly message?: string },
  ): string {
    const call = new ToolCall(
      env,
      ctx,
      spec,
      bareAction(spec, resourceOf(spec, [])),
      undefined,
      unknownDecision,
      true,
    );
    const e: { code: string; message?: string } = { code: error.code.slice(0, 128) || 'Error' };
    if (error.message) e.message = error.message.slice(0, 4096);
    const id = newId();
    void call.record({ status: 'denied', error: e }, undefined, false, id);
    return id;
  }

  get denied(): boolean {
    return this.decision.decision === 'deny';
  }

  /** Records the refusal; returns the error to throw (the tool does not run). */
  deny(): PolicyDeniedError {
    const d = this.decision;
    void this.record(
      {
        status: 'denied',
        error: { code: 'policy_denied', message: d.reason ?? 'denied by policy' },
      },
      this.policy(),
    );
    return new PolicyDeniedError(
      this.spec.name,
      this.action.resource ?? '',
      d.decisionId,
      d.determining,
      d.reason,
      d.errors,
    );
  }

  /**
   * For a tool that fails closed (by its own class, or by the class it was decided with: the
   * collector's catalog may raise it): the intent is exported durably (collector or fsynced
   * spool) before the tool runs; rejects with `IntentNotDurableError` when it cannot be. Then
   * the call's duration starts. Nothing to wait for (undefined) when the tool does not fail
   * closed.
   */
  intent(): Promise<void> | undefined {
    const decided = this.decision.class;
    const failClosed =
      this.spec.failClosed || (decided !== undefined && ACTION_CLASS_FLAGS.some((f) => decided[f]));
    if (!failClosed) {
      this.started = performance.now();
      return undefined;
    }
    const id = newId();
    return this.record({ status: 'pending' }, this.policy(), true, id).then(() => {
      this.causeId = id;
      this.started = performance.now();
    });
  }

  /** Records success, with the digest of what the tool returned. */
  finish(result: unknown, id?: string): void {
    const outcome: Outcome = { status: 'success', duration_ms: this.elapsed() };
    void this.record(outcome, this.policy(), false, id, canonicalText(result));
  }

  /** Records what the tool threw as an error outcome (its class name and message). */
  fail(thrown: unknown, id?: string): void {
    this.failWith(errorOf(thrown), undefined, id);
  }

  /**
   * Records an error outcome with this code and message (the tool answered, but failed), and
   * the digest of its answer when there is one: the collector keys it like any result digest,
   * so it never goes into the message, where it would be stored unkeyed.
   */
  failWith(
    error: { readonly code: string; readonly message?: string },
    answer?: unknown,
    id?: string,
  ): void {
    const e: { code: string; message?: string } = { code: error.code.slice(0, 128) || 'Error' };
    if (error.message) e.message = error.message.slice(0, 4096);
    const outcome: Outcome = { status: 'error', duration_ms: this.elapsed(), error: e };
    void this.record(outcome, this.policy(), false, id, canonicalText(answer));
  }

  private elapsed(): number {
    return round(performance.now() - this.started);
  }

  private policy(): PolicyRef {
    const d = this.decision;
    return { decision_id: d.decisionId, engine: d.engine, decision: d.decision };
  }

  /**
   * Records `outcome` for this call: the id, time, span and the canonical text of the result
   * are fixed now; the record (digests, time text) is built when the recorder exports it.
   */
  private record(
    outcome: Outcome,
    policy: PolicyRef | undefined,
    durable = false,
    id: string = newId(),
    resultText?: string,
  ): Promise<void> {
    if (!this.keep) {
      this.env.dropped();
      return Promise.resolve();
    }
    const ctx = this.context;
    const time = this.env.clock();
    const causeId = this.causeId;
    const span = activeSpan();
    const sc = span?.spanContext();
    // A single-use decision backs this call's records only, not also its span's.
    if (span) {
      decorateToolSpan(span, ctx, {
        id,
        action: this.action,
        status: outcome.status,
        decisionId: policy && this.decision.singleUse !== true ? policy.decision_id : undefined,
      });
    }
    const build = (): EventRecord => {
      if (resultText !== undefined) outcome.result_digest = digestOfCanonical(resultText);
      return toolRecord({
        context: ctx,
        id,
        time,
        host: this.env.host,
        action: this.withDigest(),
        outcome,
        policy,
        causeId,
        trace: sc
          ? { trace_id: sc.traceId, span_id: sc.spanId }
          : { trace_id: ctx.traceId, span_id: newSpanId(), parent_span_id: ctx.spanId },
      });
    };
    return this.env.emit(ctx, build, durable);
  }

  /** The action with its arguments' digest, taken once (for the call's first record built). */
  private withDigest(): Action {
    if (!this.digestTaken) {
      this.digestTaken = true;
      // This call's own action object (made for it): every record of the call shares it.
      if (this.argsText !== undefined) this.action.args_digest = digestOfCanonical(this.argsText);
    }
    return this.action;
  }
}

/**
 * The action with the class and risk it was decided with, as the collector expects. The action
 * is this call's own (made by `toolAction` for it), so it is set in place: no spread on the
 * call's path.
 */
function asDecided(action: Action, d: Decision): Action {
  if (d.class) action.class = d.class;
  if (d.risk) action.risk = d.risk;
  return action;
}

const unknownDecision: Decision = { decision: 'deny', decisionId: '', engine: '', determining: [] };

/** The action of a call refused before its arguments were read (no decision to be had). */
function bareAction(spec: ToolSpec, resource: string): Action {
  const action: Action = { name: spec.name, tool: spec.tool, resource };
  if (spec.cls) action.class = spec.cls;
  if (spec.risk) action.risk = spec.risk;
  return action;
}
