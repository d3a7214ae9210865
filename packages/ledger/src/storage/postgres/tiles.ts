import type pg from 'pg';
import { equalBytes } from '@provenant/core/vocabulary';
import { EMPTY_FRONTIER, rootOfFrontier } from '../../merkle/append.js';
import type { Frontier } from '../../merkle/append.js';
import { INNER_TILES, innerOfTile, integrate } from '../../tiles/layout.js';
import type { TileWrite } from '../../tiles/layout.js';
import { StorageError, tileConflict } from '../errors.js';

/**
 * Stores tile writes in the caller's transaction: new tiles in one multi-row INSERT, hashes added
 * to partial tiles in one UPDATE that only extends a tile holding exactly `from` hashes. A write
 * that does not continue the stored tree is `storage_conflict` (the transaction must roll back).
 */
export async function writeTiles(
  client: pg.ClientBase,
  tiles: readonly TileWrite[],
): Promise<void> {
  const fresh = tiles.filter((t) => t.from === 0);
  const extended = tiles.filter((t) => t.from !== 0);
  if (fresh.length > 0) {
    // A tile already stored at `from` 0 is a primary key conflict (23505): storage_conflict.
    await client.query(
      `INSERT INTO ledger_tiles (level, idx, hashes)
       SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`,
      [fresh.map((t) => t.level), fresh.map((t) => t.index), fresh.map((t) => bytes(t.hashes))],
    );
  }
  if (extended.length > 0) {
    const { rows } = await client.query<{ level: number; idx: number }>(
      `UPDATE ledger_tiles t SET hashes = t.hashes || w.h
         FROM unnest($1::smallint[], $2::bigint[], $3::integer[], $4::bytea[]) AS w(level, idx, frm, h)
        WHERE t.level = w.level AND t.idx = w.idx AND length(t.hashes) = 32 * w.frm
       RETURNING t.level, t.idx`,
      [
        extended.map((t) => t.level),
        extended.map((t) => t.index),
        extended.map((t) => t.from),
        extended.map((t) => bytes(t.hashes)),
      ],
    );
    if (rows.length !== extended.length) {
      const done = new Set(rows.map((r) => `${r.level}/${r.idx}`));
      const t = extended.find((w) => !done.has(`${w.level}/${w.index}`))!;
      const { rows: held } = await client.query<{ n: number }>(
        'SELECT length(hashes) / 32 AS n FROM ledger_tiles WHERE level = $1 AND idx = $2',
        [t.level, t.index],
      );
      throw tileConflict(t, held[0]?.n ?? 0);
    }
  }
}

function bytes(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Leaf hashes read per step while the tiles are rebuilt. */
const REBUILD_CHUNK = 65_536;

/**
 * Migration 7, in the migrations' transaction: the hash tiles rebuilt from the entries' leaf
 * hashes (the sequencer's `integrate`), the rebuilt root compared with the latest checkpoint's,
 * and only then table ledger_nodes dropped. A gap in the leaves or another root throws: the
 * transaction rolls back and the database stays at version 6.
 */
export async function migrateToTiles(client: pg.ClientBase): Promise<void> {
  await client.query(`
CREATE TABLE ledger_tiles (
  level SMALLINT NOT NULL,
  idx BIGINT NOT NULL,
  hashes BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
-- Hashes do not compress: stored out of line without trying to.
ALTER TABLE ledger_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL;`);
  const { rows: top } = await client.query<{ n: number | null }>(
    'SELECT max(leaf_index) AS n FROM ledger_entries',
  );
  const end = (top[0]?.n ?? -1) + 1;
  let frontier: Frontier = EMPTY_FRONTIER;
  for (let start = 0; start < end; start += REBUILD_CHUNK) {
    const { rows } = await client.query<{ i: number; h: Buffer }>(
      `SELECT leaf_index AS i, leaf_hash AS h FROM ledger_entries
        WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index`,
      [start, Math.min(end, start + REBUILD_CHUNK)],
    );
    const want = Math.min(REBUILD_CHUNK, end - start);
    const hashes = rows.map((r, k) => {
      if (Number(r.i) !== start + k) throw missing(start + k);
      return r.h;
    });
    if (hashes.length < want) throw missing(start + hashes.length);
    const next = integrate(frontier, hashes);
    await writeTiles(client, next.tiles);
    frontier = next.frontier;
  }
  const { rows: cps } = await client.query<{ size: number; root_hash: Buffer }>(
    'SELECT size, root_hash FROM ledger_checkpoints ORDER BY size DESC LIMIT 1',
  );
  const latest = cps[0];
  if (latest === undefined ? end !== 0 : Number(latest.size) !== end) {
    throw new StorageError(
      'storage_corrupt',
      `Cannot rebuild the hash tiles: the ledger holds ${end} entries but its latest checkpoint is of size ${latest?.size ?? 'none'}.`,
    );
  }
  if (latest !== undefined && !equalBytes(rootOfFrontier(frontier), latest.root_hash)) {
    throw new StorageError(
      'storage_corrupt',
      `Cannot rebuild the hash tiles: the tree of the ${end} stored leaf hashes does not have the root of the latest checkpoint (size ${latest.size}).`,
    );
  }
  await client.query('DROP TABLE ledger_nodes');
}

function missing(leaf: number): StorageError {
  return new StorageError(
    'storage_corrupt',
    `Cannot rebuild the hash tiles: leaf ${leaf} is missing from ledger_entries.`,
  );
}

/** Hash tiles read per step while the inner tiles are computed. */
const INNER_CHUNK = 1024;

/**
 * Migration 8, in the migrations' transaction: the inner tile of every stored hash tile
 * (ledger_tiles rows at level 64 + L: tree levels 8L + 4 … 8L + 7, ../../tiles/layout.ts
 * INNER_TILES) computed from its hashes, as `integrate` writes them as a tile grows. It reads
 * every tile once and hashes about once per entry.
 */
export async function migrateToInnerTiles(client: pg.ClientBase): Promise<void> {
  await client.query('DELETE FROM ledger_tiles WHERE level >= $1', [INNER_TILES]);
  let after = { l: 0, i: -1 };
  for (;;) {
    const { rows } = await client.query<{ l: number; i: string; h: Buffer }>(
      `SELECT level AS l, idx AS i, hashes AS h FROM ledger_tiles
        WHERE level < $1 AND (level, idx) > ($2, $3) ORDER BY level, idx LIMIT ${INNER_CHUNK}`,
      [INNER_TILES, after.l, after.i],
    );
    if (rows.length === 0) return;
    const fresh = rows
      .map((r) => ({
        level: INNER_TILES + r.l,
        index: Number(r.i),
        from: 0,
        hashes: innerOfTile(r.h),
      }))
      .filter((t) => t.hashes.length > 0);
    if (fresh.length > 0) await writeTiles(client, fresh);
    const last = rows.at(-1)!;
    after = { l: last.l, i: Number(last.i) };
  }
}
