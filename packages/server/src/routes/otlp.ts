/**
 * OTLP/HTTP trace receiver (`POST /v1/traces`): OpenTelemetry GenAI spans become records that
 * go through the same preparation, attribution and append (with detections) as `/v1/events`.
 * Answers follow the OTLP/HTTP specification: `ExportTraceServiceResponse` (with
 * `partial_success` when spans were rejected) on 200, `google.rpc.Status` on 4xx/5xx, each in
 * the request's encoding.
 */
import { correlationOf, txnTokenOf } from '../identity/txn-token.js';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError, toWireError, wireError } from '../errors.js';
import { fromFastifyError, OTLP_FASTIFY_TO_WIRE } from '../fastify-errors.js';
import type { WireError } from '../errors.js';
import { ingest } from '../ingest/pipeline.js';
import { whereStored } from './events.js';
import { decodeTraceRequestJson } from '../otlp/json.js';
import { mapSpans } from '../otlp/map.js';
import { OtlpDecodeError } from '../otlp/model.js';
import {
  ERROR_DOMAIN,
  ERROR_INFO_TYPE,
  decodeTraceRequest,
  encodeStatus,
  encodeTraceResponse,
} from '../otlp/protobuf.js';

const gunzipAsync = promisify(gunzip);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** How many rejected spans the `error_message` of a partial success names. */
const MAX_NAMED_REJECTIONS = 5;

type Format = 'protobuf' | 'json';

/** Counters since start (per process), served at `GET /v1/otlp/stats`. */
export interface OtlpStats {
  requests: number;
  spans_received: number;
  spans_recorded: number;
  spans_ignored: number;
  spans_rejected: number;
}

export function otlpFormatOf(contentType: string | undefined): Format | null {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return null;
}

export function otlpRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const stats: OtlpStats = {
    requests: 0,
    spans_received: 0,
    spans_recorded: 0,
    spans_ignored: 0,
    spans_rejected: 0,
  };

  app.get('/v1/otlp/stats', async () => stats);

  // Its own encapsulated context: bodies arrive as bytes (protobuf, maybe gzip) and errors are
  // answered in the OTLP shape, without touching the JSON ingest routes.
  void app.register(async (otlp) => {
    otlp.removeAllContentTypeParsers();
    otlp.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    otlp.setErrorHandler((error, request, reply) => sendStatus(request, reply, error));

    otlp.post('/v1/traces', async (request, reply) => {
      const format = otlpFormatOf(request.headers['content-type']);
      if (!format) {
        throw new RequestError(
          'unsupported_media_type',
          'Send OTLP traces as application/x-protobuf or application/json.',
        );
      }
      const txn = await txnTokenOf(request, ctx);
      const { body, outcomes } = await ingest(ctx, {
        credential: request.caller?.credential ?? null,
        correlation: txn === null ? null : correlationOf(txn),
        clientAddress: request.ip,
        read: async () => {
          const raw = await decompress(
            request.body as Buffer,
            request.headers['content-encoding'],
            ctx.limits.bodyLimit,
          );
          const spans = format === 'protobuf' ? decodeTraceRequest(raw) : decodeJson(raw);
          const mapped = mapSpans(spans);
          stats.requests++;
          stats.spans_received += spans.length;
          let genAi = 0;
          for (const m of mapped) if (m.kind !== 'ignored') genAi++;
          if (genAi > ctx.limits.maxRecordsPerRequest) {
            throw new RequestError(
              'too_many_records',
              `An export may hold at most ${ctx.limits.maxRecordsPerRequest} GenAI spans.`,
            );
          }
          return { spans, mapped, genAi };
        },
        candidates: ({ mapped }) => mapped.flatMap((m) => (m.kind === 'record' ? [m.record] : [])),
        // A span's `action.args` are its attributes: the call's arguments arrive as a digest.
        argsDigestAsSent: true,
      });
      const { spans, mapped, genAi } = body;
      const rejections: string[] = [];
      const conflicts: string[] = [];
      let ignored = 0;
      let recorded = 0;
      let next = 0;
      mapped.forEach((m, i) => {
        if (m.kind === 'ignored') {
          ignored++;
        } else if (m.kind === 'invalid') {
          const span = spans[i]!;
          rejections.push(
            `span ${span.traceId || '-'}/${span.spanId || '-'}: ${m.code}: ${m.message}`,
          );
        } else {
          const o = outcomes[next++]!;
          if (o.status === 'accepted') recorded++;
          else if (o.status === 'rejected') {
            rejections.push(`span ${spanRef(m.record)}: ${o.code}: ${o.message}`);
          } else {
            conflicts.push(
              `span ${spanRef(m.record)}: id_conflict: its record ${o.id} is already stored${whereStored(o.leafIndex)} with other content.`,
            );
          }
        }
      });
      rejections.push(...conflicts);
      stats.spans_recorded += recorded;
      stats.spans_ignored += ignored;
      stats.spans_rejected += rejections.length;

      void reply
        .header('provenant-spans-recorded', String(recorded))
        .header('provenant-spans-ignored', String(ignored))
        .header('provenant-spans-rejected', String(rejections.length));
      const partial =
        rejections.length === 0
          ? null
          : {
              rejectedSpans: rejections.length,
              errorMessage:
                `${rejections.length} of ${genAi} GenAI spans rejected: ` +
                rejections
                  .slice(0, MAX_NAMED_REJECTIONS)
                  .map((r) => r.slice(0, 400))
                  .join(' | ') +
                (rejections.length > MAX_NAMED_REJECTIONS
                  ? ` | and ${rejections.length - MAX_NAMED_REJECTIONS} more`
                  : ''),
            };
      if (format === 'protobuf') {
        return reply
          .code(200)
          .type('application/x-protobuf')
          .send(Buffer.from(encodeTraceResponse(partial)));
      }
      // OTLP/JSON: 64-bit integers are decimal strings.
      return reply
        .code(200)
        .type('application/json')
        .send(
          partial === null
            ? {}
            : {
                partialSuccess: {
                  rejectedSpans: String(partial.rejectedSpans),
                  errorMessage: partial.errorMessage,
                },
              },
        );
    });
  });
}

function spanRef(record: unknown): string {
  const t = (record as { trace?: { trace_id?: unknown; span_id?: unknown } }).trace;
  return t ? `${String(t.trace_id)}/${String(t.span_id)}` : '-';
}

function decodeJson(body: Uint8Array): ReturnType<typeof decodeTraceRequestJson> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new OtlpDecodeError('malformed_json', 'The body is not valid UTF-8.');
  }
  return decodeTraceRequestJson(text);
}

async function decompress(
  body: Buffer | undefined,
  encoding: string | undefined,
  limit: number,
): Promise<Buffer> {
  const raw = body ?? Buffer.alloc(0);
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return raw;
  if (enc !== 'gzip') {
    throw new RequestError(
      'unsupported_encoding',
      `Content-Encoding "${enc.slice(0, 32)}" is not supported; use gzip or none.`,
    );
  }
  try {
    return await gunzipAsync(raw, { maxOutputLength: limit });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RequestError(
        'decompressed_too_large',
        `The gzip body decompresses to more than ${limit} bytes.`,
      );
    }
    throw new OtlpDecodeError('malformed_protobuf', 'The body is not valid gzip.');
  }
}

/** gRPC status codes for the HTTP statuses the receiver answers. */
function grpcCode(status: number): number {
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 404) return 5; // NOT_FOUND
  if (status === 413 || status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 503) return 14; // UNAVAILABLE
  if (status >= 500) return 13; // INTERNAL
  return 3; // INVALID_ARGUMENT
}

function wireOf(error: unknown): WireError {
  if (error instanceof OtlpDecodeError) return wireError(error.code, error.message);
  return fromFastifyError(error, OTLP_FASTIFY_TO_WIRE) ?? toWireError(error);
}

function sendStatus(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const found = wireOf(error);
  // OTLP exporters retry 429/502/503/504 only (OTLP/HTTP spec): a full disk is a 503 to them,
  // so the spans are sent again once there is room instead of dropped.
  const wire = found.status === 507 ? { ...found, status: 503 } : found;
  const { code, message } = wire.body.error;
  if (wire.headers) void reply.headers(wire.headers);
  if (wire.status >= 500) {
    const digest = createHash('sha256')
      .update(String((error as Error).message))
      .digest('hex')
      .slice(0, 16);
    request.log.error({ code, digest, err_name: (error as Error).name }, 'otlp request failed');
  }
  if (wire.status === 401) {
    void reply.header(
      'www-authenticate',
      `Bearer error="invalid_token", error_description="${code}"`,
    );
  }
  void reply.code(wire.status);
  if (otlpFormatOf(request.headers['content-type']) === 'protobuf') {
    return reply
      .type('application/x-protobuf')
      .send(Buffer.from(encodeStatus(grpcCode(wire.status), message, code)));
  }
  return reply.type('application/json').send({
    code: grpcCode(wire.status),
    message,
    details: [{ '@type': ERROR_INFO_TYPE, reason: code, domain: ERROR_DOMAIN }],
  });
}
