import { toBase64 } from '@provenant/core';
import { parseTilePath } from '@provenant/ledger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';
import { parseNonNegativeInt } from './events.js';

const TILE_WIDTH = 256;

export function logRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const sendCheckpoint = (reply: FastifyReply, note = ctx.log.latestCheckpoint().note) =>
    reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(note);

  // With witnesses configured: the newest checkpoint that meets the witness policy, with the
  // cosignature lines appended (clients that ignore cosignatures skip those lines, as signed-note
  // requires). `/checkpoint` (tlog-tiles) always serves the latest checkpoint as signed.
  app.get('/v1/log/checkpoint', async (_request, reply) =>
    sendCheckpoint(reply, ctx.cosignedCheckpoint?.()),
  );

  app.get('/v1/log/key', async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send(`${ctx.log.verifierKey}\n`),
  );

  app.get('/v1/log/consistency', async (request) => {
    const query = request.query as Record<string, unknown>;
    const from = parseNonNegativeInt(query['from'], 'from');
    const to = query['to'] === undefined ? ctx.log.size : parseNonNegativeInt(query['to'], 'to');
    const hashes = await ctx.log.consistencyProof(from, to);
    return { from, to, hashes: hashes.map(toBase64) };
  });

  // C2SP tlog-tiles: read-only, so generic transparency-log clients can audit this log.
  app.get('/checkpoint', async (_request, reply) => sendCheckpoint(reply));

  // Two routes, so the route table tells them apart: hash tiles are public, entry bundles hold
  // the records' bytes. Each answers only its own kind.
  const tileRoute =
    (prefix: string, kind: 'hashes' | 'entries') =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      let tile;
      try {
        tile = parseTilePath(`${prefix}${(request.params as { '*': string })['*']}`);
      } catch {
        throw new RequestError('invalid_tile_path', 'Not a canonical tlog-tiles path.');
      }
      if ((tile.kind === 'entries') !== (kind === 'entries')) {
        throw new RequestError('invalid_tile_path', 'Not a canonical tlog-tiles path.');
      }
      const width = tile.width ?? TILE_WIDTH;
      const start = tile.index * TILE_WIDTH;
      const size = ctx.log.size;
      if (!Number.isSafeInteger(start) || start >= Number.MAX_SAFE_INTEGER / 2) {
        throw new RequestError('not_found', 'No such tile.');
      }
      let body: Buffer;
      if (tile.kind === 'entries') {
        if (start + width > size)
          throw new RequestError('not_found', 'That tile is not in the log yet.');
        const entries = await ctx.storage.getEntries(start, width);
        if (entries.length !== width) {
          // Inside the signed tree: the log cannot back its checkpoint, which is not "not yet".
          const missing = start + entries.findIndex((e, i) => e.leafIndex !== start + i);
          throw new RequestError(
            'log_entries_missing',
            `Leaf ${missing < start ? start + entries.length : missing} is missing from the ledger, below the signed size ${size}.`,
          );
        }
        body = entryBundle(entries.map((e) => Buffer.from(e.canonical, 'utf8')));
      } else {
        // The stored tile as is (a prefix of it for a partial tile's width): no hashing.
        const [stored] = await ctx.storage.getTiles([{ level: tile.level, index: tile.index }]);
        const held = (stored?.length ?? 0) / 32;
        if (held < width) {
          // Level 0 holds the entries' leaf hashes: one missing inside the signed tree is lost.
          throw tile.level === 0 && start + width <= size
            ? new RequestError(
                'log_entries_missing',
                `The hash of leaf ${start + held} is missing from the ledger, below the signed size ${size}.`,
              )
            : new RequestError('not_found', 'That tile is not in the log yet.');
        }
        body = Buffer.from(stored!.buffer, stored!.byteOffset, width * 32);
      }
      // Full tiles never change; partial ones are superseded as the log grows.
      const cache = tile.width === undefined ? 'public, max-age=31536000, immutable' : 'no-cache';
      return reply.type('application/octet-stream').header('cache-control', cache).send(body);
    };
  app.get('/tile/entries/*', tileRoute('tile/entries/', 'entries'));
  app.get('/tile/*', tileRoute('tile/', 'hashes'));
}

/** tlog-tiles entry bundle: each entry as a big-endian uint16 length and its bytes. */
function entryBundle(entries: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const data of entries) {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(data.length);
    parts.push(length, data);
  }
  return Buffer.concat(parts);
}
