import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';
import { EXPORT_FORMATS, isExportFormat } from '../export/formats.js';
import { exportChunks } from '../export/stream.js';
import { parseEventsQuery } from './events-query.js';
import type { ExportFilter } from '../export/stream.js';

const PAGING = new Set(['limit', 'cursor', 'order']);

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

/**
 * The selection of an export: the filters of `GET /v1/events` (routes/events-query.ts parses
 * them), without its paging (`limit`, `cursor`, `order`): an export is every match, in log order.
 */
function parseExportFilter(query: Record<string, unknown>): ExportFilter {
  const entries = Object.entries(query).filter(([key]) => key !== 'format');
  for (const [key] of entries) {
    if (PAGING.has(key)) {
      throw new RequestError(
        'invalid_parameter',
        `"${key}" pages GET /v1/events; an export holds every matching record in log order.`,
      );
    }
  }
  // fromEntries: own keys only, so a "__proto__" parameter is seen (and refused) as any other.
  return parseEventsQuery(Object.fromEntries(entries)).selection;
}
