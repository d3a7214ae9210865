import { toBase64 } from '@provenant/core';
import type { StoredEntry } from '@provenant/ledger';

/**
 * A stored record as served: its canonical JSON with `integrity` appended. Built as a string so
 * serving a record never re-parses or re-encodes it.
 */
export function recordWithIntegrity(entry: StoredEntry): string {
  const integrity = `{"leaf_index":${entry.leafIndex},"leaf_hash":"${toBase64(entry.leafHash)}"}`;
  return `${entry.canonical.slice(0, -1)},"integrity":${integrity}}`;
}
