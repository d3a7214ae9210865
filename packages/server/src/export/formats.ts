/**
 * The line formats of an export: each turns one record as served (its canonical JSON with
 * `integrity`) into one NDJSON line. Adding a format is one module and one entry here; the
 * `GET /v1/export` route and the CLI's `export` command both read this table.
 */
import { toOcsfApiActivity } from './ocsf.js';
import type { ServedRecord } from './ocsf.js';

const LINE_FORMATS = {
  /** The records themselves. */
  jsonl: (served: string): string => served,
  /** OCSF 1.x API Activity events (./ocsf.ts). */
  ocsf: (served: string): string =>
    JSON.stringify(toOcsfApiActivity(JSON.parse(served) as ServedRecord)),
} as const satisfies Record<string, (served: string) => string>;

export type ExportFormat = keyof typeof LINE_FORMATS;
export const EXPORT_FORMATS = Object.keys(LINE_FORMATS) as readonly ExportFormat[];

export const isExportFormat = (value: unknown): value is ExportFormat =>
  typeof value === 'string' && Object.hasOwn(LINE_FORMATS, value);

/** One line (with its newline) of an export in this format, from a record as served. */
export function formatLine(served: string, format: ExportFormat): string {
  return `${LINE_FORMATS[format](served)}\n`;
}
