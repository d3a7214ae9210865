/**
 * Exports records as OpenTelemetry spans over OTLP/HTTP (JSON or protobuf), with the GenAI semantic
 * convention attributes. Records become `ReadableSpan`s that OpenTelemetry's own
 * `@opentelemetry/otlp-transformer` serializes, so the wire form is exactly the SDK exporters'.
 *
 * | record field                 | span                                                         |
 * | ---------------------------- | ------------------------------------------------------------ |
 * | `trace.trace_id` / `span_id` | trace id / span id (derived from the record id when absent)  |
 * | `trace.parent_span_id`       | parent span id                                               |
 * | `time`, `duration_ms`        | start time, end time = start + duration                      |
 * | `type`                       | `gen_ai.operation.name`: `execute_tool` (a tool call),       |
 * |                              | `invoke_agent` (`agent.invoked`); span name                  |
 * | `action.tool.name`           | `gen_ai.tool.name`                                           |
 * | `action.tool.call_id`        | `gen_ai.tool.call.id`                                        |
 * | `actor.id`, `actor.agent`    | `gen_ai.agent.id`, `gen_ai.agent.name`                       |
 * | `conversation_id`            | `gen_ai.conversation.id`                                     |
 * | `outcome.status`             | status OK (success), ERROR (error, denied), UNSET otherwise  |
 * | `outcome.error.code`         | `error.type`                                                 |
 * | the rest                     | `provenant.*` (initiator, attribution level, decision id,    |
 * |                              | record id and type, leaf index, action, resource, …)         |
 */
import { createHash } from 'node:crypto';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { IExportTraceServiceResponse } from '@opentelemetry/otlp-transformer';
import type { ServedRecord } from './ocsf.js';

/** The span type OpenTelemetry's serializers take (`ReadableSpan` of the trace SDK). */
export type ExportSpan = Parameters<typeof JsonTraceSerializer.serializeRequest>[0][number];
type Resource = ExportSpan['resource'];
type Attributes = ExportSpan['attributes'];

export const DEFAULT_OTLP_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';
export const DEFAULT_OTLP_BATCH = 512;

const SPAN_KIND_INTERNAL = 0;
const STATUS_UNSET = 0;
const STATUS_OK = 1;
const STATUS_ERROR = 2;
const TRACE_FLAGS_SAMPLED = 1;

const TOOL_TYPES = new Set(['tool.called', 'action.performed']);

export interface OtlpSpanOptions {
  /** `service.name` of the exported resource; default "provenant". */
  readonly serviceName?: string;
  readonly serviceVersion?: string;
}

/** A resource shared by every span of one export, as OpenTelemetry's `Resource` interface. */
export function exportResource(options: OtlpSpanOptions = {}): Resource {
  const attributes: Attributes = {
    'service.name': options.serviceName ?? 'provenant',
    'service.version': options.serviceVersion ?? '0.1.0',
    'telemetry.sdk.name': 'provenant',
    'telemetry.sdk.language': 'nodejs',
  };
  const resource: Resource = {
    attributes,
    asyncAttributesPending: false,
    merge: () => resource,
    getRawAttributes: () => Object.entries(attributes),
  };
  return resource;
}

/** The GenAI operation a record stands for, if any. */
export function recordGenAiOperation(record: ServedRecord): 'execute_tool' | 'invoke_agent' | null {
  if (record.type === 'agent.invoked') return 'invoke_agent';
  if (TOOL_TYPES.has(record.type) || record.action?.tool !== undefined) return 'execute_tool';
  return null;
}

/** One record as one span. */
export function toSpan(record: ServedRecord, resource: Resource): ExportSpan {
  const operation = recordGenAiOperation(record);
  const toolName = record.action?.tool?.name ?? record.action?.name;
  const name =
    operation === 'execute_tool'
      ? `execute_tool ${toolName ?? record.type}`
      : operation === 'invoke_agent'
        ? `invoke_agent ${record.actor?.agent ?? record.actor?.id ?? ''}`.trim()
        : record.action?.name
          ? `${record.type} ${record.action.name}`
          : record.type;

  const attributes: Attributes = {};
  const put = (key: string, value: string | number | boolean | string[] | undefined) => {
    if (value !== undefined) attributes[key] = value;
  };
  if (operation) put('gen_ai.operation.name', operation);
  if (operation === 'execute_tool') {
    put('gen_ai.tool.name', toolName);
    put('gen_ai.tool.call.id', record.action?.tool?.call_id);
  }
  put('gen_ai.agent.id', record.actor?.id);
  put('gen_ai.agent.name', record.actor?.agent);
  put('gen_ai.conversation.id', record.conversation_id);
  put('error.type', record.outcome?.error?.code);
  put('provenant.record.id', record.id);
  put('provenant.record.type', record.type);
  put('provenant.leaf_index', record.integrity?.leaf_index);
  put('provenant.initiator', record.initiator?.id);
  put('provenant.initiator.kind', record.initiator?.kind);
  put('provenant.attribution.level', record.attribution?.level);
  put('provenant.decision.id', record.policy?.decision_id);
  put('provenant.policy.decision', record.policy?.decision);
  put('provenant.policy.set', record.policy?.policy_set);
  put('provenant.action.name', record.action?.name);
  put('provenant.action.resource', record.action?.resource);
  put('provenant.credential.jti', record.credential?.jti);
  put('provenant.task.id', record.task_id);
  put('provenant.session.id', record.session_id);
  put('provenant.outcome.status', record.outcome?.status);
  const delegation = record.delegation?.map((h) => h.to);
  if (delegation && delegation.length > 0) {
    put('provenant.delegation.chain', [record.delegation![0]!.from, ...delegation]);
  }

  let traceId: string;
  let spanId: string;
  if (record.trace) {
    traceId = record.trace.trace_id;
    spanId = record.trace.span_id;
  } else {
    // No trace: ids derived from the record id, so exporting twice gives the same span.
    const h = createHash('sha256').update(record.id).digest('hex');
    traceId = h.slice(0, 32);
    spanId = h.slice(32, 48);
    attributes['provenant.trace.derived'] = true;
  }

  const start = hrTime(record.time);
  const durationMs = record.outcome?.duration_ms ?? 0;
  const duration = msToHrTime(durationMs);
  const end = addHrTime(start, duration);
  const status = record.outcome?.status;
  const error = record.outcome?.error;
  const spanStatus =
    status === 'success'
      ? { code: STATUS_OK }
      : status === 'error' || status === 'denied'
        ? { code: STATUS_ERROR, message: error?.message ?? error?.code ?? status }
        : { code: STATUS_UNSET };

  const context = { traceId, spanId, traceFlags: TRACE_FLAGS_SAMPLED };
  const span: ExportSpan = {
    name,
    kind: SPAN_KIND_INTERNAL,
    spanContext: () => context,
    startTime: start,
    endTime: end,
    status: spanStatus,
    attributes,
    links: [],
    events: [],
    duration,
    ended: true,
    resource,
    instrumentationScope: { name: '@provenant/server', version: '0.1.0' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...(record.trace?.parent_span_id !== undefined && {
      parentSpanContext: {
        traceId,
        spanId: record.trace.parent_span_id,
        traceFlags: TRACE_FLAGS_SAMPLED,
      },
    }),
  };
  return span;
}

/** The OTLP/JSON `ExportTraceServiceRequest` body for these records. */
export function otlpJsonBody(records: readonly ServedRecord[], resource: Resource): Uint8Array {
  const body = JsonTraceSerializer.serializeRequest(records.map((r) => toSpan(r, resource)));
  if (!body) throw new Error('OTLP serializer produced no body');
  return body;
}

export const OTLP_PROTOCOLS = ['http/json', 'http/protobuf'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface OtlpSendOptions extends OtlpSpanOptions {
  readonly endpoint?: string;
  /** As `OTEL_EXPORTER_OTLP_PROTOCOL`; default http/json. */
  readonly protocol?: OtlpProtocol;
  readonly batchSize?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Per request; default 30 s. */
  readonly timeoutMs?: number;
  /** Attempts per batch on 429, 502-504 and network errors; default 3. */
  readonly attempts?: number;
}

export interface OtlpSendResult {
  spans: number;
  batches: number;
  /** Spans the receiver reported as rejected (`partialSuccess.rejectedSpans`). */
  rejected: number;
}

/** Why an OTLP export failed: the endpoint could not be reached or refused a batch. */
export class OtlpExportError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'OtlpExportError';
  }
}

/**
 * Sends records to an OTLP/HTTP trace endpoint in batches, as they come: memory stays bounded
 * by one batch however many records there are.
 */
export class OtlpSender {
  readonly endpoint: string;
  private readonly batchSize: number;
  private readonly resource: Resource;
  private readonly serializer: typeof JsonTraceSerializer;
  private readonly contentType: string;
  private readonly batch: ServedRecord[] = [];
  private readonly result: OtlpSendResult = { spans: 0, batches: 0, rejected: 0 };

  constructor(private readonly options: OtlpSendOptions = {}) {
    this.endpoint = options.endpoint ?? DEFAULT_OTLP_ENDPOINT;
    this.batchSize = options.batchSize ?? DEFAULT_OTLP_BATCH;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new RangeError('batchSize must be a positive integer');
    }
    this.resource = exportResource(options);
    const protobuf = options.protocol === 'http/protobuf';
    this.serializer = protobuf ? ProtobufTraceSerializer : JsonTraceSerializer;
    this.contentType = protobuf ? 'application/x-protobuf' : 'application/json';
  }

  async add(record: ServedRecord): Promise<void> {
    this.batch.push(record);
    if (this.batch.length >= this.batchSize) await this.flush();
  }

  /** Sends what is buffered, and returns the totals so far. */
  async flush(): Promise<OtlpSendResult> {
    if (this.batch.length > 0) {
      const records = this.batch.splice(0);
      const spans = records.map((r) => toSpan(r, this.resource));
      const body = this.serializer.serializeRequest(spans);
      if (!body) throw new Error('OTLP serializer produced no body');
      const rejected = await this.post(body);
      this.result.spans += records.length;
      this.result.batches += 1;
      this.result.rejected += rejected;
    }
    return { ...this.result };
  }

  private async post(body: Uint8Array): Promise<number> {
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.endpoint, {
          method: 'POST',
          headers: { 'content-type': this.contentType, ...this.options.headers },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
      } catch (e) {
        if (attempt < attempts) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw new OtlpExportError(
          `Cannot reach ${this.endpoint}: ${cause ?? (e as Error).message}.`,
          null,
        );
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (res.ok) {
        let answer: IExportTraceServiceResponse = {};
        try {
          answer = this.serializer.deserializeResponse(bytes);
        } catch {
          // A 2xx whose body is not an ExportTraceServiceResponse: accepted, nothing rejected.
        }
        return Number(answer.partialSuccess?.rejectedSpans ?? 0);
      }
      if ([429, 502, 503, 504].includes(res.status) && attempt < attempts) {
        await sleep(200 * 2 ** attempt);
        continue;
      }
      throw new OtlpExportError(
        `${this.endpoint} refused the spans (HTTP ${res.status}).`,
        res.status,
      );
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type HrTime = ExportSpan['startTime'];

/** An RFC 3339 time (up to nanoseconds, any offset) as [seconds, nanoseconds]. */
export function hrTime(time: string): HrTime {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(time);
  if (!m) throw new RangeError(`not an RFC 3339 time: ${time}`);
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000;
  const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  return [seconds, nanos];
}

function msToHrTime(ms: number): HrTime {
  const whole = Math.floor(ms / 1000);
  return [whole, Math.round((ms - whole * 1000) * 1e6)];
}

function addHrTime(a: HrTime, b: HrTime): HrTime {
  const nanos = a[1] + b[1];
  return [a[0] + b[0] + Math.floor(nanos / 1e9), nanos % 1e9];
}
