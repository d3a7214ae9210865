/**
 * `createRecorder`: the agent side of Provenant. Sessions and delegations get credentials from
 * the issuer and run code in a context that nested calls inherit; wrapped tools get a policy
 * decision, run, and record what happened; delivery keeps records off the hot path.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type {
  Action,
  Actor,
  EventRecord,
  JsonValue,
  Outcome,
  PolicyRef,
  Principal,
} from '@provenant/core';
import { digestOf } from '@provenant/core';
import { recordedKind } from '@provenant/core/vocabulary';
import { newId } from './lib/ids.js';
import { storage, type WorkContext } from './context.js';
import { Delivery, type DeliveryStats, type OverflowPolicy } from './delivery/delivery.js';
import { Spool, type FsyncPolicy } from './delivery/spool.js';
import {
  DecisionUnavailableError,
  PolicyDeniedError,
  RecorderClosedError,
  SdkError,
} from './errors.js';
import { IssuerClient, checkIdentity, readIdentityFile, type AgentIdentity } from './lib/auth.js';
import { DecisionCache, remotePdp, type Decision, type Pdp } from './lib/decisions.js';
import { actorOf, decodeCredential } from './lib/principal.js';
import { redact, safeDigest } from './lib/redact.js';
import { activeSpan, setAttributes } from './trace/otel.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from './trace/traceparent.js';
import type { TraceParent } from './trace/traceparent.js';

export const PRODUCER = '@provenant/sdk@0.1.0';

export interface RecorderOptions {
  /** The collector (issuer, decision point and ledger), e.g. http://127.0.0.1:7410. */
  readonly collectorUrl: string;
  /** This agent instance's identity, or the path of its identity file. */
  readonly identity?: AgentIdentity | string;
  readonly identityFile?: string;
  /** Agent definition name and version recorded in `actor`. */
  readonly agent?: { readonly name?: string; readonly version?: string };
  /** The durable spool for outages; `false` keeps records in memory only. */
  readonly spool?:
    { readonly dir: string; readonly maxBytes?: number; readonly fsync?: FsyncPolicy } | false;
  readonly batch?: { readonly maxRecords?: number; readonly maxDelayMs?: number };
  readonly memory?: { readonly maxRecords?: number };
  /** When memory and spool are full: wait, drop low-risk records, or refuse the tool call. */
  readonly overflow?: OverflowPolicy;
  readonly retry?: {
    readonly attempts?: number;
    readonly baseDelayMs?: number;
    readonly maxDelayMs?: number;
  };
  /** Record prompts' text, not only their digest (default false). */
  readonly recordPrompts?: boolean;
  /** Decide in-process (e.g. embedded Cedar) instead of the collector's decision point. */
  readonly pdp?: Pdp;
  /** How long a decision is reused for the same credential, action and resource (default 30 s). */
  readonly decisionCacheTtlMs?: number;
  readonly fetch?: typeof fetch;
  /** Milliseconds since the epoch (tests freeze it). */
  readonly clock?: () => number;
  /** Called for each record the collector refused. */
  readonly onRejected?: (r: { id: string | null; code: string; message: string }) => void;
}

export interface ToolClass {
  readonly privileged?: boolean;
  readonly irreversible?: boolean;
  readonly external?: boolean;
}

export interface ToolOptions<A extends unknown[] = unknown[]> {
  /** What the action is done to, or how to read it from the arguments. */
  readonly resource: string | ((...args: A) => string);
  readonly class?: ToolClass;
  readonly risk?: NonNullable<Action['risk']>;
  /** Dotted paths of the argument (the first one, for a one-argument tool) never to record. */
  readonly redact?: readonly string[];
  /** Send the (redacted) arguments themselves, not only their digest (default false). */
  readonly recordArgs?: boolean;
  /** `action.tool`: the MCP server or toolkit, and the tool's own name (default: after the last dot). */
  readonly server?: string;
  readonly toolName?: string;
  /** The caller's id for this call (e.g. the model's tool call id). */
  readonly callId?: (...args: A) => string | undefined;
  /** What of the arguments is digested (default: the only argument, or the argument list). */
  readonly args?: (...args: A) => unknown;
}

/** A wrapped tool: the same parameters; the result, once recorded, as a promise. */
export type RecordedTool<F extends (...args: never[]) => unknown> = (
  this: ThisParameterType<F>,
  ...args: Parameters<F>
) => Promise<Awaited<ReturnType<F>>>;

export interface SessionOptions {
  /** The credential of whoever this work is for (a human's or a workflow's). */
  readonly initiatorToken: string;
  readonly taskId?: string;
  readonly conversationId?: string;
  /** The prompt received: recorded as a digest (and as text with `recordPrompts`). */
  readonly prompt?: string;
  /** Narrow the credential to these scopes. */
  readonly scope?: readonly string[];
  /**
   * Ask for this credential lifetime in seconds (the issuer caps it; default 5 minutes). Records
   * must reach the collector within it, spooled ones included.
   */
  readonly lifetimeSec?: number;
  /** Continue an incoming trace (W3C `traceparent`). */
  readonly traceparent?: string;
}

export interface DelegateOptions {
  readonly scope?: readonly string[];
  /** Credential lifetime in seconds, never beyond the parent's. */
  readonly lifetimeSec?: number;
  readonly prompt?: string;
  readonly agent?: { readonly name?: string; readonly version?: string };
}

/** A context to run code in: the credential, chain, task and trace that its calls inherit. */
export interface Session {
  readonly context: WorkContext;
  readonly traceId: string;
  /** The `traceparent` to send downstream from this context. */
  traceparent(): string;
  run<R>(fn: () => R): R;
}

export interface RecorderStats extends DeliveryStats {
  decisionCacheHits: number;
  decisionCacheMisses: number;
}

export interface Recorder {
  session(options: SessionOptions): Promise<Session>;
  session<R>(options: SessionOptions, fn: () => R): Promise<Awaited<R>>;
  delegate(identity: AgentIdentity | string, options?: DelegateOptions): Promise<Session>;
  delegate<R>(
    identity: AgentIdentity | string,
    options: DelegateOptions,
    fn: () => R,
  ): Promise<Awaited<R>>;
  tool<F extends (...args: never[]) => unknown>(
    name: string,
    options: ToolOptions<Parameters<F>>,
    fn: F,
  ): RecordedTool<F>;
  /** The context of the calling code, if any. */
  current(): WorkContext | undefined;
  stats(): RecorderStats;
  /** Hands every queued record to the collector or the spool. */
  flush(): Promise<void>;
  /** Waits until the collector has acknowledged everything, spool included; false on timeout. */
  drain(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

interface ToolSpec {
  readonly name: string;
  readonly tool: NonNullable<Action['tool']>;
  readonly resource: string | ((...args: never[]) => string);
  readonly cls: NonNullable<Action['class']> | undefined;
  readonly risk: NonNullable<Action['risk']> | undefined;
  readonly failClosed: boolean;
  readonly lowRisk: boolean;
  readonly redact: readonly string[];
  readonly recordArgs: boolean;
  readonly callId: ((...args: never[]) => string | undefined) | undefined;
  readonly args: ((...args: never[]) => unknown) | undefined;
}

export function createRecorder(options: RecorderOptions): Recorder {
  return new RecorderImpl(options);
}

class RecorderImpl implements Recorder {
  private readonly identity: AgentIdentity;
  private readonly issuer: IssuerClient;
  private readonly pdp: Pdp;
  private readonly cache: DecisionCache;
  private readonly delivery: Delivery;
  private readonly spool: Spool | null;
  private readonly clock: () => number;
  private readonly host = hostname();

  constructor(private readonly o: RecorderOptions) {
    if (typeof o.collectorUrl !== 'string')
      throw new TypeError('createRecorder needs collectorUrl.');
    const identity =
      typeof o.identity === 'string'
        ? readIdentityFile(o.identity)
        : o.identity !== undefined
          ? checkIdentity(o.identity)
          : o.identityFile !== undefined
            ? readIdentityFile(o.identityFile)
            : undefined;
    if (!identity) throw new TypeError('createRecorder needs identity or identityFile.');
    this.identity = o.agent ? { ...identity, agent: o.agent } : identity;
    const fetchFn = o.fetch ?? globalThis.fetch;
    this.clock = o.clock ?? Date.now;
    this.issuer = new IssuerClient(o.collectorUrl, fetchFn, this.clock);
    this.pdp = o.pdp ?? remotePdp(o.collectorUrl, fetchFn);
    this.cache = new DecisionCache(o.decisionCacheTtlMs ?? 30_000);
    const maxDelayMs = o.batch?.maxDelayMs ?? 50;
    this.spool = o.spool
      ? new Spool(
          o.spool.dir,
          o.spool.maxBytes ?? 256 * 1024 * 1024,
          o.spool.fsync ?? 'batch',
          maxDelayMs,
        )
      : null;
    this.delivery = new Delivery({
      collectorUrl: o.collectorUrl,
      fetch: fetchFn,
      spool: this.spool,
      maxBatch: o.batch?.maxRecords ?? 500,
      maxDelayMs,
      maxQueued: o.memory?.maxRecords ?? 10_000,
      overflow: o.overflow ?? 'block',
      retry: {
        attempts: o.retry?.attempts ?? 3,
        baseDelayMs: o.retry?.baseDelayMs ?? 100,
        maxDelayMs: o.retry?.maxDelayMs ?? 2_000,
      },
      onRejected: o.onRejected,
    });
  }

  current(): WorkContext | undefined {
    return storage.getStore();
  }

  stats(): RecorderStats {
    return {
      ...this.delivery.stats(),
      decisionCacheHits: this.cache.hits,
      decisionCacheMisses: this.cache.misses,
    };
  }

  flush(): Promise<void> {
    return this.delivery.flush();
  }

  drain(timeoutMs?: number): Promise<boolean> {
    return this.delivery.drain(timeoutMs);
  }

  async close(): Promise<void> {
    await this.delivery.close();
    this.spool?.close();
  }

  // ---- sessions and delegation -------------------------------------------------------------

  session(options: SessionOptions): Promise<Session>;
  session<R>(options: SessionOptions, fn: () => R): Promise<Awaited<R>>;
  async session<R>(options: SessionOptions, fn?: () => R): Promise<Session | Awaited<R>> {
    this.checkOpen();
    const token = await this.issuer.exchange(
      options.initiatorToken,
      this.identity,
      options.scope,
      options.lifetimeSec,
    );
    const credential = decodeCredential(token);
    const incoming = parseTraceparent(options.traceparent);
    const span = activeSpan();
    const trace: TraceParent = span
      ? { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId, sampled: true }
      : (incoming ?? { traceId: newTraceId(), spanId: newSpanId(), sampled: true });
    const initiator: Principal = { id: credential.subject, kind: recordedKind(credential.subject) };
    // Ids in the order the records are made: prompt first, then the invocation.
    const promptId = options.prompt !== undefined ? newId() : undefined;
    const ctx: WorkContext = {
      credential,
      identity: this.identity,
      initiator,
      actor: actorOf(credential.actor, this.identity.agent),
      taskId: credential.taskId ?? options.taskId,
      sessionId: newId(),
      conversationId: options.conversationId,
      traceId: trace.traceId,
      spanId: newSpanId(),
      sampled: trace.sampled,
      invocationId: newId(),
    };
    if (promptId !== undefined && options.prompt !== undefined) {
      this.delivery.push(
        this.promptRecord(ctx, promptId, options.prompt, trace.spanId),
        token,
        false,
      );
    }
    const causeKind = initiator.kind === 'workflow' ? 'workflow_trigger' : 'human_prompt';
    this.delivery.push(
      this.invokedRecord(
        ctx,
        { kind: causeKind, ...(promptId ? { record_id: promptId } : {}) },
        trace.spanId,
      ),
      token,
      false,
    );
    if (span) this.agentSpanAttributes(span, ctx);
    return this.finish(ctx, fn);
  }

  delegate(identity: AgentIdentity | string, options?: DelegateOptions): Promise<Session>;
  delegate<R>(
    identity: AgentIdentity | string,
    options: DelegateOptions,
    fn: () => R,
  ): Promise<Awaited<R>>;
  async delegate<R>(
    identityIn: AgentIdentity | string,
    options: DelegateOptions = {},
    fn?: () => R,
  ): Promise<Session | Awaited<R>> {
    this.checkOpen();
    const parent = storage.getStore();
    if (!parent) throw new TypeError('delegate() must be called inside a session or delegation.');
    let identity =
      typeof identityIn === 'string' ? readIdentityFile(identityIn) : checkIdentity(identityIn);
    if (options.agent) identity = { ...identity, agent: options.agent };
    const token = await this.issuer.exchange(
      parent.credential.token,
      identity,
      options.scope,
      options.lifetimeSec,
    );
    const credential = decodeCredential(token);
    const promptId = options.prompt !== undefined ? newId() : undefined;
    const ctx: WorkContext = {
      credential,
      identity,
      initiator: parent.initiator,
      actor: actorOf(credential.actor, identity.agent),
      taskId: credential.taskId ?? parent.taskId,
      sessionId: parent.sessionId,
      conversationId: parent.conversationId,
      traceId: parent.traceId,
      spanId: newSpanId(),
      sampled: parent.sampled,
      invocationId: newId(),
    };
    if (promptId !== undefined && options.prompt !== undefined) {
      const r = this.promptRecord(ctx, promptId, options.prompt, parent.spanId);
      r.cause = { kind: 'delegation', record_id: parent.invocationId };
      this.delivery.push(r, token, false);
    }
    this.delivery.push(
      this.invokedRecord(
        ctx,
        { kind: 'delegation', record_id: promptId ?? parent.invocationId },
        parent.spanId,
      ),
      token,
      false,
    );
    const span = activeSpan();
    if (span) this.agentSpanAttributes(span, ctx);
    return this.finish(ctx, fn);
  }

  private finish<R>(ctx: WorkContext, fn: (() => R) | undefined): Session | Promise<Awaited<R>> {
    const session: Session = {
      context: ctx,
      traceId: ctx.traceId,
      traceparent: () =>
        formatTraceparent({ traceId: ctx.traceId, spanId: ctx.spanId, sampled: ctx.sampled }),
      run: <T>(f: () => T): T => storage.run(ctx, f),
    };
    if (!fn) return session;
    return Promise.resolve(storage.run(ctx, fn)) as Promise<Awaited<R>>;
  }

  // ---- tools -------------------------------------------------------------------------------

  tool<F extends (...args: never[]) => unknown>(
    name: string,
    options: ToolOptions<Parameters<F>>,
    fn: F,
  ): RecordedTool<F> {
    if (typeof fn !== 'function') throw new TypeError(`tool ${name}: fn must be a function.`);
    if (typeof options?.resource !== 'string' && typeof options?.resource !== 'function') {
      throw new TypeError(`tool ${name}: options.resource is required.`);
    }
    const c = options.class;
    const cls = c
      ? {
          privileged: c.privileged === true,
          irreversible: c.irreversible === true,
          external: c.external === true,
        }
      : undefined;
    const failClosed = cls !== undefined && (cls.privileged || cls.irreversible || cls.external);
    const tool: NonNullable<Action['tool']> = {
      name: options.toolName ?? name.slice(name.lastIndexOf('.') + 1),
    };
    if (options.server !== undefined) tool.server = options.server;
    const spec: ToolSpec = {
      name,
      tool,
      resource: options.resource as ToolSpec['resource'],
      cls,
      risk: options.risk,
      failClosed,
      lowRisk: !failClosed && (options.risk === undefined || options.risk === 'low'),
      redact: options.redact ?? [],
      recordArgs: options.recordArgs === true,
      callId: options.callId as ToolSpec['callId'],
      args: options.args as ToolSpec['args'],
    };
    const call = this.call.bind(this);
    const wrapped = function (this: ThisParameterType<F>, ...args: Parameters<F>) {
      return call(spec, fn, this, args);
    };
    Object.defineProperty(wrapped, 'name', { value: fn.name || name });
    return wrapped as RecordedTool<F>;
  }

  private async call<F extends (...args: never[]) => unknown>(
    spec: ToolSpec,
    fn: F,
    self: unknown,
    args: Parameters<F>,
  ): Promise<Awaited<ReturnType<F>>> {
    const ctx = storage.getStore();
    if (!ctx) {
      throw new TypeError(
        `${spec.name} was called outside a session: wrap the work in recorder.session().`,
      );
    }
    this.checkOpen();
    const now = this.clock();
    if (now >= ctx.credential.exp * 1000) {
      throw new SdkError(
        'credential_expired',
        `The credential for ${spec.name} has expired; start a new session.`,
      );
    }
    const admitted = this.delivery.admit(spec.lowRisk);
    const record = admitted !== 'drop';
    if (admitted !== null && admitted !== 'drop') await admitted;

    const resource =
      typeof spec.resource === 'string'
        ? spec.resource
        : (spec.resource as (...a: Parameters<F>) => string)(...args);
    const decided = this.decide(ctx, spec, resource, now);
    const decision = isPromise(decided) ? await decided : decided;
    const input = spec.args
      ? (spec.args as (...a: Parameters<F>) => unknown)(...args)
      : args.length === 1
        ? (args[0] as unknown)
        : (args as unknown);
    const redacted = spec.redact.length > 0 ? redact(input, spec.redact) : input;
    const action: Action = { name: spec.name, tool: spec.tool, resource };
    const callId = spec.callId
      ? (spec.callId as (...a: Parameters<F>) => string | undefined)(...args)
      : undefined;
    if (callId !== undefined) action.tool = { ...spec.tool, call_id: callId };
    if (spec.cls) action.class = spec.cls;
    if (spec.risk) action.risk = spec.risk;
    const argsDigest = safeDigest(redacted);
    if (argsDigest) action.args_digest = argsDigest;
    if (
      spec.recordArgs &&
      typeof redacted === 'object' &&
      redacted !== null &&
      !Array.isArray(redacted)
    ) {
      action.args = redacted as Record<string, JsonValue>;
    }
    const policy: PolicyRef = {
      decision_id: decision.decisionId,
      engine: decision.engine,
      decision: decision.decision,
    };

    if (decision.decision === 'deny') {
      if (record) {
        const r = this.toolRecord(
          ctx,
          newId(),
          action,
          policy,
          {
            status: 'denied',
            error: { code: 'policy_denied', message: decision.reason ?? 'denied by policy' },
          },
          undefined,
          callId,
          spec,
        );
        this.delivery.push(r, ctx.credential.token, spec.lowRisk);
      } else this.delivery.countDropped();
      throw new PolicyDeniedError(
        spec.name,
        resource,
        decision.decisionId,
        decision.determining,
        decision.reason,
      );
    }

    let causeId: string | undefined;
    if (spec.failClosed) {
      // Fail closed: the intent must be durable (collector or fsynced spool) before the tool runs.
      causeId = newId();
      const intent = this.toolRecord(
        ctx,
        causeId,
        action,
        policy,
        { status: 'pending' },
        undefined,
        callId,
        spec,
      );
      await this.delivery.pushDurable(intent, ctx.credential.token, spec.name);
    }

    const started = performance.now();
    let result: Awaited<ReturnType<F>>;
    try {
      const out = fn.apply(self, args);
      // Only a thenable is awaited: a synchronous tool costs no extra turn.
      result = (isPromise(out) ? await out : out) as Awaited<ReturnType<F>>;
    } catch (e) {
      if (record) {
        const err = e as { name?: unknown; message?: unknown; constructor?: { name?: string } };
        const code =
          String(
            typeof err?.name === 'string' && err.name
              ? err.name
              : (err?.constructor?.name ?? 'Error'),
          ).slice(0, 128) || 'Error';
        const message =
          typeof err?.message === 'string' ? err.message.slice(0, 4096) : String(e).slice(0, 4096);
        const outcome: Outcome = {
          status: 'error',
          duration_ms: round(performance.now() - started),
          error: message ? { code, message } : { code },
        };
        this.delivery.push(
          this.toolRecord(ctx, newId(), action, policy, outcome, causeId, callId, spec),
          ctx.credential.token,
          spec.lowRisk,
        );
      } else this.delivery.countDropped();
      throw e;
    }
    if (record) {
      const outcome: Outcome = {
        status: 'success',
        duration_ms: round(performance.now() - started),
      };
      const rd = safeDigest(result);
      if (rd) outcome.result_digest = rd;
      this.delivery.push(
        this.toolRecord(ctx, newId(), action, policy, outcome, causeId, callId, spec),
        ctx.credential.token,
        spec.lowRisk,
      );
    } else this.delivery.countDropped();
    return result;
  }

  /** A cached decision synchronously; otherwise the decision point's answer. */
  private decide(
    ctx: WorkContext,
    spec: ToolSpec,
    resource: string,
    now: number,
  ): Decision | Promise<Decision> {
    const key = `${ctx.credential.jti}\u0000${spec.name}\u0000${resource}`;
    const cached = this.cache.get(key, now);
    if (cached) return cached;
    return this.decideUncached(ctx, spec, resource, now, key);
  }

  private async decideUncached(
    ctx: WorkContext,
    spec: ToolSpec,
    resource: string,
    now: number,
    key: string,
  ): Promise<Decision> {
    let d: Decision;
    try {
      const action: {
        name: string;
        resource: string;
        class?: NonNullable<Action['class']>;
        risk?: NonNullable<Action['risk']>;
      } = { name: spec.name, resource };
      if (spec.cls) action.class = spec.cls;
      if (spec.risk) action.risk = spec.risk;
      d = await this.pdp.decide({
        action,
        credential: ctx.credential.token,
        ...(ctx.taskId !== undefined ? { taskId: ctx.taskId } : {}),
      });
    } catch (e) {
      const action: Action = { name: spec.name, tool: spec.tool, resource };
      if (spec.cls) action.class = spec.cls;
      if (spec.risk) action.risk = spec.risk;
      const r = this.toolRecord(
        ctx,
        newId(),
        action,
        undefined,
        {
          status: 'denied',
          error: {
            code: 'decision_unavailable',
            message: String((e as Error)?.message ?? e).slice(0, 4096) || 'unavailable',
          },
        },
        undefined,
        undefined,
        spec,
      );
      this.delivery.push(r, ctx.credential.token, spec.lowRisk);
      throw new DecisionUnavailableError(spec.name, e);
    }
    this.cache.set(key, d, now, ctx.credential.exp * 1000);
    return d;
  }

  // ---- records -----------------------------------------------------------------------------

  private toolRecord(
    ctx: WorkContext,
    id: string,
    action: Action,
    policy: PolicyRef | undefined,
    outcome: Outcome,
    causeId: string | undefined,
    callId: string | undefined,
    spec: ToolSpec,
  ): EventRecord {
    const span = activeSpan();
    const ms = this.clock();
    const record: EventRecord = {
      schema: 'provenant.event/v1',
      id,
      time: new Date(ms).toISOString(),
      type: 'tool.called',
      initiator: ctx.initiator,
      cause: { kind: 'agent_decision', record_id: causeId ?? ctx.invocationId },
      actor: ctx.actor,
      action,
      outcome,
      trace: span
        ? { trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId }
        : { trace_id: ctx.traceId, span_id: newSpanId(), parent_span_id: ctx.spanId },
      session_id: ctx.sessionId,
      source: { producer: PRODUCER, host: this.host },
    };
    if (policy) record.policy = policy;
    if (ctx.taskId !== undefined) record.task_id = ctx.taskId;
    if (ctx.conversationId !== undefined) record.conversation_id = ctx.conversationId;
    if (span) {
      const attrs: Record<string, string> = {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': spec.tool.name,
        'gen_ai.agent.id': ctx.actor.id,
        'provenant.initiator': ctx.initiator.id,
        'provenant.attribution.level': 'verified',
        'provenant.record.id': id,
        'provenant.action': spec.name,
        'provenant.outcome': outcome.status,
      };
      if (callId !== undefined) attrs['gen_ai.tool.call.id'] = callId;
      if (ctx.actor.agent !== undefined) attrs['gen_ai.agent.name'] = ctx.actor.agent;
      if (ctx.conversationId !== undefined) attrs['gen_ai.conversation.id'] = ctx.conversationId;
      if (policy) attrs['provenant.decision.id'] = policy.decision_id;
      setAttributes(span, attrs);
    }
    return record;
  }

  private promptRecord(
    ctx: WorkContext,
    id: string,
    prompt: string,
    parentSpan: string,
  ): EventRecord {
    const action: Action = {
      name: 'agent.prompt',
      resource: `agent:${ctx.actor.agent ?? ctx.actor.id}`,
      args_digest: digestOf({ prompt }),
    };
    if (this.o.recordPrompts) action.args = { prompt };
    return this.agentRecord(
      ctx,
      id,
      'prompt.received',
      action,
      { kind: ctx.initiator.kind === 'workflow' ? 'workflow_trigger' : 'human_prompt' },
      parentSpan,
    );
  }

  private invokedRecord(
    ctx: WorkContext,
    cause: NonNullable<EventRecord['cause']>,
    parentSpan: string,
  ): EventRecord {
    return this.agentRecord(
      ctx,
      ctx.invocationId,
      'agent.invoked',
      { name: 'agent.invoke', resource: `agent:${ctx.actor.agent ?? ctx.actor.id}` },
      cause,
      parentSpan,
    );
  }

  private agentRecord(
    ctx: WorkContext,
    id: string,
    type: string,
    action: Action,
    cause: NonNullable<EventRecord['cause']>,
    parentSpan: string,
  ): EventRecord {
    const record: EventRecord = {
      schema: 'provenant.event/v1',
      id,
      time: new Date(this.clock()).toISOString(),
      type,
      initiator: ctx.initiator,
      cause,
      actor: ctx.actor,
      action,
      outcome: { status: 'success' },
      trace: { trace_id: ctx.traceId, span_id: ctx.spanId, parent_span_id: parentSpan },
      session_id: ctx.sessionId,
      source: { producer: PRODUCER, host: this.host },
    };
    if (ctx.taskId !== undefined) record.task_id = ctx.taskId;
    if (ctx.conversationId !== undefined) record.conversation_id = ctx.conversationId;
    return record;
  }

  private agentSpanAttributes(
    span: NonNullable<ReturnType<typeof activeSpan>>,
    ctx: WorkContext,
  ): void {
    const attrs: Record<string, string> = {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.id': ctx.actor.id,
      'provenant.initiator': ctx.initiator.id,
      'provenant.attribution.level': 'verified',
      'provenant.record.id': ctx.invocationId,
    };
    if (ctx.actor.agent !== undefined) attrs['gen_ai.agent.name'] = ctx.actor.agent;
    if (ctx.conversationId !== undefined) attrs['gen_ai.conversation.id'] = ctx.conversationId;
    setAttributes(span, attrs);
  }

  private checkOpen(): void {
    if (this.delivery.isClosed) throw new RecorderClosedError();
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

function isPromise(v: unknown): v is PromiseLike<unknown> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
  );
}

export type { Actor };
