import type { StoredCheckpoint, StoredEntry } from './port.js';

/**
 * The rows the SQL drivers (SQLite, PostgreSQL) read back: both keep the same columns under the
 * same names, so one mapping serves both.
 */
export interface EntryRow {
  leaf_index: number;
  id: string;
  record: string;
  leaf_hash: Buffer;
  type: string;
  time_us: number;
  initiator: string | null;
  actor: string | null;
  task_id: string | null;
  trace_id: string | null;
  level: string;
}

export interface CheckpointRow {
  size: number;
  root_hash: Buffer;
  note: string;
}

export function toEntry(row: EntryRow): StoredEntry {
  return {
    leafIndex: row.leaf_index,
    id: row.id,
    canonical: row.record,
    leafHash: row.leaf_hash,
    type: row.type,
    timeUs: row.time_us,
    initiator: row.initiator,
    actor: row.actor,
    taskId: row.task_id,
    traceId: row.trace_id,
    level: row.level,
  };
}

export function toCheckpoint(row: CheckpointRow): StoredCheckpoint {
  return { size: row.size, rootHash: row.root_hash, note: row.note };
}

/**
 * The hashes of positions start, start + 1, … from rows in position order, up to the first gap:
 * a node range never hands back a hash out of its position (the storage contract).
 */
export function contiguousHashes(
  rows: readonly { i: number | string; h: Uint8Array }[],
  start: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const row of rows) {
    if (Number(row.i) !== start + out.length) break;
    out.push(row.h);
  }
  return out;
}
