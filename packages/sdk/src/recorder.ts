/**
 * `createRecorder`: the agent side of Provenant. Sessions and delegations get credentials from
 * the issuer and run code in a context that nested calls inherit; wrapped tools get a policy
 * decision, run, and record what happened; delivery keeps records off the hot path.
 */
import { hostname } from 'node:os';
import type { Actor, EventRecord, Principal } from '@provenant/core';
import { recordedKind } from '@provenant/core/vocabulary';
import { newId } from './lib/ids.js';
import { madeContext, storage, type WorkContext } from './context.js';
import { IDLE_STATS, type ExporterStats, type RecordExporter } from './export/exporter.js';
import { HttpRecordExporter, type OverflowPolicy } from './export/http.js';
import { Spool, type FsyncPolicy } from './export/spool.js';
import { RecorderClosedError, SdkError } from './errors.js';
import {
  IssuerClient,
  checkIdentity,
  readIdentityFile,
  type AgentIdentity,
  type CredentialIssuer,
} from './lib/auth.js';
import { DecisionCache, remotePdp, type Decision, type Pdp } from './lib/decisions.js';
import { actorOf, decodeCredential } from './lib/principal.js';
import { PRODUCER, invokedRecord, promptRecord } from './records/build.js';
import { ToolCall, isPromise, type ToolCallEnv } from './tool/call.js';
import { decisionAction, toolSpec, type ToolOptions, type ToolSpec } from './tool/spec.js';
import { decorateAgentSpan } from './trace/decorate.js';
import { activeSpan } from './trace/otel.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from './trace/traceparent.js';
import type { TraceParent } from './trace/traceparent.js';

export { PRODUCER };
export type { ToolClass, ToolOptions } from './tool/spec.js';

export interface RecorderOptions {
  /**
   * The collector (issuer, decision point and ledger), e.g. http://127.0.0.1:7410. Needed
   * unless `exporter`, `issuer` and `pdp` are all given.
   */
  readonly collectorUrl?: string;
  /** This agent instance's identity, or the path of its identity file. */
  readonly identity?: AgentIdentity | string;
  readonly identityFile?: string;
  /** Agent definition name and version recorded in `actor`. */
  readonly agent?: { readonly name?: string; readonly version?: string };
  /**
   * Where records go instead of the collector's ingest (e.g. `InMemoryRecordExporter` from
   * `@provenant/sdk/testing`). When given, `spool`, `batch`, `memory`, `overflow`, `retry` and
   * `onRejected` (options of the HTTP exporter) do not apply.
   */
  readonly exporter?: RecordExporter;
  /** Where credentials come from instead of the collector's issuer. */
  readonly issuer?: CredentialIssuer;
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

/** A wrapped tool: the same parameters; the result, once recorded, as a promise. */
export type RecordedTool<F extends (...args: never[]) => unknown> = (
  this: ThisParameterType<F>,
  ...args: Parameters<F>
) => Promise<Awaited<ReturnType<F>>>;

/** `recordCall`'s options: a tool's, with how to read the body's answer. */
export interface RecordCallOptions<T> extends ToolOptions<[]> {
  /**
   * The failure the body's answer stands for, if it is one (the tool answered with an error):
   * recorded as the outcome's error, and the answer is still handed back. What `result` reads
   * of the answer is digested as the error outcome's `result_digest`.
   */
  readonly failure?: (value: T) => { readonly code: string; readonly message?: string } | undefined;
  /** What of an answer is digested as `result_digest` (default: the answer). */
  readonly result?: (value: T) => unknown;
  /**
   * The id to give the outcome record (a UUID, v7 recommended; default: a new one), so the
   * caller can name the record before it reaches the collector (e.g. in a receipt).
   */
  readonly outcomeId?: string;
}

/** What a call recorded with `recordCall` came to: the body's answer, or why there is none. */
export type CallOutcome<T> =
  /** Refused before the body ran: denied, no decision, intent not durable, overflow, expired. */
  | { readonly ran: false; readonly error: SdkError }
  /** The body answered (recorded as success, or as the failure `options.failure` read). */
  | { readonly ran: true; readonly value: T }
  /** The body threw (recorded as an error outcome). */
  | { readonly ran: true; readonly thrown: unknown };

/** A call past its decision (and durable intent), whose outcome is still to be recorded. */
export interface OpenCall {
  /** The decision that allowed it. */
  readonly decisionId: string;
  /**
   * Records success, with the digest of what the tool returned. `id`: the outcome record's id
   * (default: a new one); the same on `fail` and `failWith`.
   */
  finish(result: unknown, id?: string): void;
  /** Records what the tool threw as an error outcome (its class name and message). */
  fail(thrown: unknown, id?: string): void;
  /** Records an error outcome with this code and message (the tool answered with a failure). */
  failWith(
    error: { readonly code: string; readonly message?: string },
    answer?: unknown,
    id?: string,
  ): void;
}

/** What `beginCall` came to: the call may run (record its outcome on `call`), or why not. */
export type CallStart =
  /** Refused before it may run, and recorded: denied, no decision, intent not durable … */
  | { readonly allowed: false; readonly error: SdkError }
  | { readonly allowed: true; readonly call: OpenCall };

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
  /**
   * The Transaction Token the work runs in (an incoming request's `Txn-Token` header): sent
   * with the session's records and decisions, and its delegations', in the `Txn-Token` header
   * (the collector verifies it and records its `txn`). Records that wait in the spool are sent
   * without it: a Txn-Token lives minutes, and an expired one would refuse them.
   */
  readonly txnToken?: string;
  /**
   * The credential came from another agent (e.g. over A2A, addressed to this one): the
   * invocation's cause is `delegation`, not the initiator's own prompt.
   */
  readonly delegated?: boolean;
}

export interface DelegateOptions {
  readonly scope?: readonly string[];
  /** Credential lifetime in seconds, never beyond the parent's. */
  readonly lifetimeSec?: number;
  readonly prompt?: string;
  readonly agent?: { readonly name?: string; readonly version?: string };
  /**
   * The delegator's tool call that starts this agent (e.g. the Claude Agent SDK's `Agent` tool
   * use, whose id the sub-agent's frames carry as `parent_tool_use_id`): recorded as the
   * `agent.invoked` action's `tool` (`name`, `call_id`).
   */
  readonly via?: { readonly tool: string; readonly callId?: string };
}

/** A context to run code in: the credential, chain, task and trace that its calls inherit. */
export interface Session {
  readonly context: WorkContext;
  readonly traceId: string;
  /** The `traceparent` to send downstream from this context. */
  traceparent(): string;
  run<R>(fn: () => R): R;
}

/** What the recorder counted, and what its exporter reports. */
export interface DeliveryStats extends ExporterStats {
  /** Records handed to the exporter. */
  recorded: number;
  /** Dropped by the `drop-low-risk` overflow policy. */
  dropped: number;
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
  /**
   * Records around one call, like a wrapped tool, but hands back what it came to instead of
   * throwing: for callers that must answer every outcome themselves (e.g. a proxy relaying the
   * server's answer). Throws only a caller mistake (TypeError, e.g. outside a session).
   */
  recordCall<T>(
    name: string,
    options: RecordCallOptions<T>,
    body: () => T | PromiseLike<T>,
  ): Promise<CallOutcome<T>>;
  /**
   * The first half of a call, for a framework that decides in one hook and sees the outcome in
   * another: the decision and, for an action that fails closed, the durable intent. A refusal
   * is recorded and handed back, never thrown (only a caller mistake throws: TypeError, e.g.
   * outside a session); an allowed call's outcome is recorded on the `call` it hands back.
   */
  beginCall<A extends unknown[]>(
    name: string,
    options: ToolOptions<A>,
    args: A,
  ): Promise<CallStart>;
  /**
   * Records a call refused before any decision was asked for it (e.g. by a proxy's transport
   * check): a `tool.called` record, `denied` with this error and no policy reference, in the
   * calling code's session. Returns the record's id. Throws only a caller mistake (TypeError).
   */
  recordRefusal(
    name: string,
    options: ToolOptions<[]>,
    error: { readonly code: string; readonly message?: string },
  ): string;
  /** The context of the calling code, if any. */
  current(): WorkContext | undefined;
  stats(): RecorderStats;
  /** Hands every queued record to the collector or the spool. */
  flush(): Promise<void>;
  /** Waits until the collector has acknowledged everything, spool included; false on timeout. */
  drain(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export function createRecorder(options: RecorderOptions): Recorder {
  return new RecorderImpl(options);
}

/** Exported for the framework integrations of this package (`startIn`); not public API. */
export class RecorderImpl implements Recorder {
  private readonly identity: AgentIdentity;
  private readonly issuer: CredentialIssuer;
  private readonly pdp: Pdp;
  private readonly cache: DecisionCache;
  private readonly exporter: RecordExporter;
  private readonly clock: () => number;
  private readonly host = hostname();
  private readonly env: ToolCallEnv;
  private closed = false;
  private readonly specs = new WeakMap<object, ToolSpec>();
  private readonly lastKeys = new WeakMap<
    ToolSpec,
    { jti: string; resource: string; key: string }
  >();
  private readonly counted = { recorded: 0, dropped: 0 };
  /** Records made and not yet handed to the exporter, in the order they were made. */
  private readonly pending: {
    credential: string;
    txnToken: string | undefined;
    build: () => EventRecord;
  }[] = [];
  private handOverScheduled = false;
  private readonly handOverBound = () => this.handOver();

  constructor(private readonly o: RecorderOptions) {
    const url = o.collectorUrl;
    if (typeof url !== 'string' && !(o.exporter && o.issuer && o.pdp)) {
      throw new TypeError('createRecorder needs collectorUrl (or exporter, issuer and pdp).');
    }
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
    this.issuer = o.issuer ?? new IssuerClient(url!, fetchFn, this.clock);
    this.pdp = o.pdp ?? remotePdp(url!, fetchFn);
    this.cache = new DecisionCache(o.decisionCacheTtlMs ?? 30_000);
    this.exporter = o.exporter ?? httpExporter(url!, fetchFn, o);
    this.env = {
      clock: this.clock,
      host: this.host,
      checkOpen: () => this.checkOpen(),
      admit: (lowRisk) => this.admit(lowRisk),
      decide: (ctx, spec, resource, now) => this.decide(ctx, spec, resource, now),
      emit: (ctx, build, durable) => this.emit(ctx.credential.token, build, durable, ctx.txnToken),
      dropped: () => void this.counted.dropped++,
    };
  }

  current(): WorkContext | undefined {
    return storage.getStore();
  }

  stats(): RecorderStats {
    const exported = this.exporter.stats?.() ?? IDLE_STATS;
    return {
      ...exported,
      queued: exported.queued + this.pending.length,
      ...this.counted,
      decisionCacheHits: this.cache.hits,
      decisionCacheMisses: this.cache.misses,
    };
  }

  flush(): Promise<void> {
    this.handOver();
    return this.exporter.forceFlush();
  }

  async drain(timeoutMs?: number): Promise<boolean> {
    this.handOver();
    if (this.exporter.drain) return this.exporter.drain(timeoutMs);
    await this.exporter.forceFlush();
    return true;
  }

  async close(): Promise<void> {
    this.handOver();
    await this.exporter.shutdown();
    this.closed = true;
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
      ...(options.txnToken !== undefined ? { txnToken: options.txnToken } : {}),
    };
    const causeKind =
      options.delegated === true
        ? 'delegation'
        : initiator.kind === 'workflow'
          ? 'workflow_trigger'
          : 'human_prompt';
    const promptCause: Cause | undefined =
      options.delegated === true ? { kind: 'delegation' } : undefined;
    this.opened(ctx, token, trace.spanId, options.prompt, promptId, promptCause, {
      kind: causeKind,
      ...(promptId ? { record_id: promptId } : {}),
    });
    if (span) decorateAgentSpan(span, ctx);
    return this.enter(ctx, fn);
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
      ...(parent.txnToken !== undefined ? { txnToken: parent.txnToken } : {}),
    };
    this.opened(
      ctx,
      token,
      parent.spanId,
      options.prompt,
      promptId,
      { kind: 'delegation', record_id: parent.invocationId },
      { kind: 'delegation', record_id: promptId ?? parent.invocationId },
      options.via,
    );
    const span = activeSpan();
    if (span) decorateAgentSpan(span, ctx);
    return this.enter(ctx, fn);
  }

  /** Exports the records that open a context: its prompt (when given), then `agent.invoked`. */
  private opened(
    ctx: WorkContext,
    token: string,
    parentSpanId: string,
    prompt: string | undefined,
    promptId: string | undefined,
    promptCause: Cause | undefined,
    cause: Cause,
    via?: DelegateOptions['via'],
  ): void {
    const made = { context: ctx, host: this.host, parentSpanId };
    if (promptId !== undefined && prompt !== undefined) {
      const record = promptRecord({
        ...made,
        id: promptId,
        time: this.clock(),
        prompt,
        keepText: this.o.recordPrompts === true,
        cause: promptCause,
      });
      this.queue(token, () => record, ctx.txnToken);
    }
    const invoked = invokedRecord({ ...made, time: this.clock(), cause, via });
    this.queue(token, () => invoked, ctx.txnToken);
  }

  private enter<R>(ctx: WorkContext, fn: (() => R) | undefined): Session | Promise<Awaited<R>> {
    madeContext(ctx);
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
    const spec = toolSpec(name, options);
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
    const begun = this.begin(spec, args);
    // Only a thenable is awaited: a cached decision costs no extra turn.
    const call = isPromise(begun) ? await begun : begun;
    let result: Awaited<ReturnType<F>>;
    try {
      const out = fn.apply(self, args);
      // Only a thenable is awaited: a synchronous tool costs no extra turn.
      result = (isPromise(out) ? await out : out) as Awaited<ReturnType<F>>;
    } catch (e) {
      call.fail(e);
      throw e;
    }
    call.finish(result);
    return result;
  }

  /** Everything before a call may run; throws what refuses it (a denial is recorded first). */
  private begin(spec: ToolSpec, args: readonly unknown[]): ToolCall | Promise<ToolCall> {
    const started = ToolCall.start(this.env, spec, storage.getStore(), args);
    return isPromise(started) ? started.then(ready) : ready(started);
  }

  async beginCall<A extends unknown[]>(
    name: string,
    options: ToolOptions<A>,
    args: A,
  ): Promise<CallStart> {
    // A framework integration passes the same options for every call of a tool: checked once.
    let spec = this.specs.get(options);
    if (spec?.name !== name) {
      spec = toolSpec(name, options);
      this.specs.set(options, spec);
    }
    return this.startIn(storage.getStore(), spec, args);
  }

  /**
   * `beginCall` in `ctx` with a spec made once (the framework integrations' path): no switch
   * of async context, and synchronous when the decision is cached and no intent is awaited.
   */
  startIn(
    ctx: WorkContext | undefined,
    spec: ToolSpec,
    args: readonly unknown[],
  ): CallStart | Promise<CallStart> {
    let begun: ToolCall | Promise<ToolCall>;
    try {
      const started = ToolCall.start(this.env, spec, ctx, args);
      begun = isPromise(started) ? started.then(ready) : ready(started);
    } catch (e) {
      return refusedStart(e);
    }
    return isPromise(begun) ? begun.then(allowedStart, refusedStart) : allowedStart(begun);
  }

  async recordCall<T>(
    name: string,
    options: RecordCallOptions<T>,
    body: () => T | PromiseLike<T>,
  ): Promise<CallOutcome<T>> {
    const started = await this.beginCall(name, options, []);
    if (!started.allowed) return { ran: false, error: started.error };
    const call = started.call;
    let value: T;
    try {
      value = await body();
    } catch (e) {
      call.fail(e, options.outcomeId);
      return { ran: true, thrown: e };
    }
    const failure = options.failure?.(value);
    const result = options.result ? options.result(value) : value;
    if (failure) call.failWith(failure, result, options.outcomeId);
    else call.finish(result, options.outcomeId);
    return { ran: true, value };
  }

  recordRefusal(
    name: string,
    options: ToolOptions<[]>,
    error: { readonly code: string; readonly message?: string },
  ): string {
    const spec = toolSpec(name, options);
    const ctx = storage.getStore();
    if (!ctx) {
      throw new TypeError(
        `${name} was refused outside a session: wrap the work in recorder.session().`,
      );
    }
    this.checkOpen();
    return ToolCall.refusal(this.env, spec, ctx, error);
  }

  /** A cached decision synchronously; otherwise the decision point's answer. */
  private decide(
    ctx: WorkContext,
    spec: ToolSpec,
    resource: string,
    now: number,
  ): Decision | Promise<Decision> {
    const key = this.cacheKey(ctx.credential.jti, spec, resource);
    const cached = this.cache.get(key, now);
    if (cached) return cached;
    return Promise.resolve(
      this.pdp.decide({
        action: decisionAction(spec, resource),
        credential: ctx.credential.token,
        ...(ctx.taskId !== undefined ? { taskId: ctx.taskId } : {}),
        ...(ctx.txnToken !== undefined ? { txnToken: ctx.txnToken } : {}),
      }),
    ).then((d) => {
      this.cache.set(key, d, now, ctx.credential.exp * 1000);
      return d;
    });
  }

  /**
   * The decision cache's key for (credential, action, resource); a tool's last key is reused,
   * so the repeated calls of one tool under one credential build no string.
   */
  private cacheKey(jti: string, spec: ToolSpec, resource: string): string {
    const last = this.lastKeys.get(spec);
    if (last !== undefined && last.jti === jti && last.resource === resource) return last.key;
    const key = `${jti}\u0000${spec.name}\u0000${resource}`;
    this.lastKeys.set(spec, { jti, resource, key });
    return key;
  }

  // ---- records -----------------------------------------------------------------------------

  /** The exporter's admission, counting the records not handed over yet as queued. */
  private admit(lowRisk: boolean): null | 'drop' | Promise<void> {
    if (this.exporter.admit === undefined) return null;
    const pending = this.pending.length;
    let room = false;
    try {
      const admitted = this.exporter.admit(lowRisk, pending);
      room = admitted === null;
      return admitted;
    } finally {
      // No room: what is pending goes to the exporter now, where it can drain.
      if (!room && pending > 0) this.handOver();
    }
  }

  /**
   * Queues a record made under `credential`; never waited for. An exporter that wants records
   * as they are made (`eager`) gets it now; any other with the next batch, built then.
   */
  private queue(credential: string, build: () => EventRecord, txnToken: string | undefined): void {
    this.counted.recorded++;
    if (this.exporter.eager === true) {
      this.handTo(credential, [build()], txnToken);
      return;
    }
    this.pending.push({ credential, txnToken, build });
    if (this.pending.length >= HAND_OVER_AT) this.handOver();
    else if (!this.handOverScheduled) {
      this.handOverScheduled = true;
      setImmediate(this.handOverBound);
    }
  }

  /**
   * Builds the queued records and hands them to the exporter in the order they were made, one
   * batch per run of records made under the same credential (and Txn-Token).
   */
  private handOver(): void {
    this.handOverScheduled = false;
    const items = this.pending.splice(0);
    let i = 0;
    while (i < items.length) {
      const { credential, txnToken } = items[i]!;
      const records: EventRecord[] = [];
      while (
        i < items.length &&
        items[i]!.credential === credential &&
        items[i]!.txnToken === txnToken
      ) {
        records.push(items[i]!.build());
        i++;
      }
      this.handTo(credential, records, txnToken);
    }
  }

  private handTo(credential: string, records: EventRecord[], txnToken: string | undefined): void {
    // A non-durable export resolves once queued; an exporter that fails it has nobody to tell.
    this.exporter
      .export({ records, credential, ...(txnToken !== undefined ? { txnToken } : {}) })
      .catch(() => {});
  }

  private emit(
    credential: string,
    build: () => EventRecord,
    durable: boolean,
    txnToken: string | undefined,
  ): Promise<void> {
    if (!durable) {
      this.queue(credential, build, txnToken);
      return Promise.resolve();
    }
    // An intent goes at once, after every record made before it.
    this.handOver();
    this.counted.recorded++;
    return this.exporter.export({
      records: [build()],
      credential,
      durable: true,
      ...(txnToken !== undefined ? { txnToken } : {}),
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new RecorderClosedError();
  }
}

/** Today's default: batches over HTTP to the collector, with the disk spool for outages. */
function httpExporter(
  collectorUrl: string,
  fetchFn: typeof fetch,
  o: RecorderOptions,
): HttpRecordExporter {
  const maxDelayMs = o.batch?.maxDelayMs ?? 50;
  const spool = o.spool
    ? new Spool(
        o.spool.dir,
        o.spool.maxBytes ?? 256 * 1024 * 1024,
        o.spool.fsync ?? 'batch',
        maxDelayMs,
      )
    : null;
  return new HttpRecordExporter({
    collectorUrl,
    fetch: fetchFn,
    spool,
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

type Cause = NonNullable<EventRecord['cause']>;

/** Queued records are handed to the exporter at this many even before the next turn. */
const HAND_OVER_AT = 256;

const allowedStart = (call: ToolCall): CallStart => ({ allowed: true, call });

/** A refusal (an `SdkError`, recorded) as a `CallStart`; anything else is a caller mistake. */
function refusedStart(e: unknown): CallStart {
  if (e instanceof SdkError) return { allowed: false, error: e };
  throw e;
}

/** A started call, denied (recorded, thrown) or past its intent. */
function ready(call: ToolCall): ToolCall | Promise<ToolCall> {
  if (call.denied) throw call.deny();
  const intent = call.intent();
  return intent ? intent.then(() => call) : call;
}

export type { Actor };
