/**
 * Paging through a ledger for exports: one page of records in memory at a time, in log order,
 * up to a fixed tree size so an export of a growing log ends.
 */
import type { EntrySelection, LogStorage, StoredEntry } from '@provenant/ledger';
import { recordWithIntegrity } from '../routes/records.js';
import { formatLine } from './formats.js';
import type { ExportFormat } from './formats.js';
import type { ServedRecord } from './ocsf.js';

export type ExportFilter = EntrySelection;

export interface ExportPagesOptions {
  readonly pageSize?: number;
  /** Only entries below this leaf index (the tree size when the export started). */
  readonly treeSize?: number;
}

/** Pages of stored entries matching the filter, in log order. */
export async function* exportPages(
  storage: LogStorage,
  filter: ExportFilter,
  options: ExportPagesOptions = {},
): AsyncGenerator<StoredEntry[]> {
  const limit = options.pageSize ?? 1000;
  const end = options.treeSize ?? Number.POSITIVE_INFINITY;
  let after = -1;
  for (;;) {
    const page = await storage.queryEntries({ ...filter, limit, afterLeafIndex: after });
    const inRange = page.filter((e) => e.leafIndex < end);
    if (inRange.length > 0) yield inRange;
    const last = page.at(-1);
    if (page.length < limit || !last || inRange.length < page.length) return;
    after = last.leafIndex;
  }
}

/** A stored entry as served: the record with its `integrity`. */
export function servedRecord(entry: StoredEntry): ServedRecord {
  return JSON.parse(recordWithIntegrity(entry)) as ServedRecord;
}

/** One line (with its newline) of an export in this format. */
export function exportLine(entry: StoredEntry, format: ExportFormat): string {
  return formatLine(recordWithIntegrity(entry), format);
}

/** A whole export as text chunks, one page each. */
export async function* exportChunks(
  storage: LogStorage,
  filter: ExportFilter,
  format: ExportFormat,
  options: ExportPagesOptions = {},
): AsyncGenerator<string> {
  for await (const page of exportPages(storage, filter, options)) {
    yield page.map((e) => exportLine(e, format)).join('');
  }
}
