import { Readable } from 'node:stream';
import { ATTRIBUTION_LEVELS } from '@provenant/core';
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';
import { timeToMicros } from '../ingest/time.js';
import { EXPORT_FORMATS, isExportFormat } from '../export/formats.js';
import { exportChunks } from '../export/stream.js';
import type { ExportFilter } from '../export/stream.js';

type ExportParam =
  'initiator' | 'actor' | 'type' | 'taskId' | 'traceId' | 'level' | 'fromUs' | 'toUs';
const PARAMS: Readonly<Record<string, ExportParam | 'format'>> = {
  format: 'format',
  initiator: 'initiator',
  actor: 'actor',
  type: 'type',
  task_id: 'taskId',
  trace_id: 'traceId',
  level: 'level',
  from: 'fromUs',
  to: 'toUs',
};

/**
 * `GET /v1/export?format=jsonl|ocsf`: every matching record, in log order, as NDJSON streamed
 * in chunks while the collector pages through storage (one page in memory at a time). The
 * export covers the log as it was when the request arrived (`x-provenant-tree-size`).
 */
export function exportRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get('/v1/export', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const format = query['format'] ?? 'jsonl';
    if (!isExportFormat(format)) {
      throw new RequestError(
        'unsupported_export_format',
        `"format" must be one of ${EXPORT_FORMATS.join(', ')}.`,
      );
    }
    const filter = parseExportFilter(query);
    const treeSize = ctx.log.size;
    const stream = Readable.from(exportChunks(ctx.storage, filter, format, { treeSize }), {
      objectMode: false,
      highWaterMark: 1,
    });
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('x-provenant-tree-size', String(treeSize))
      .header('cache-control', 'no-store')
      .send(stream);
  });
}

function parseExportFilter(query: Record<string, unknown>): ExportFilter {
  const filter: { -readonly [K in ExportParam]?: ExportFilter[K] } = {};
  for (const [key, value] of Object.entries(query)) {
    const field = PARAMS[key];
    if (field === undefined || !Object.hasOwn(PARAMS, key)) {
      throw new RequestError('invalid_parameter', `Unknown query parameter "${key.slice(0, 64)}".`);
    }
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
      throw new RequestError(
        'invalid_parameter',
        `Query parameter "${key}" must be given once, 1-1024 characters.`,
      );
    }
    if (field === 'format') continue;
    if (field === 'fromUs' || field === 'toUs') {
      const us = timeToMicros(value);
      if (Number.isNaN(us)) {
        throw new RequestError(
          'invalid_parameter',
          `"${key}" must be an RFC 3339 timestamp such as 2026-11-27T13:05:01Z.`,
        );
      }
      filter[field] = us;
    } else if (field === 'level' && !(ATTRIBUTION_LEVELS as readonly string[]).includes(value)) {
      throw new RequestError(
        'invalid_parameter',
        `"level" must be one of ${ATTRIBUTION_LEVELS.join(', ')}.`,
      );
    } else {
      filter[field] = value;
    }
  }
  if (filter.fromUs !== undefined && filter.toUs !== undefined && filter.fromUs >= filter.toUs) {
    throw new RequestError('invalid_time_range', '"from" must be before "to".');
  }
  return filter;
}
