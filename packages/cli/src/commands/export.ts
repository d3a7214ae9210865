import { createWriteStream, existsSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import {
  DEFAULT_OTLP_ENDPOINT,
  LEDGER_FILE,
  OTLP_PROTOCOLS,
  OtlpExportError,
  OtlpSender,
  EXPORT_FORMATS,
  exportPages,
  formatLine,
  isExportFormat,
  recordWithIntegrity,
  timeToMicros,
} from '@provenant/server/offline';
import type { ExportFilter, OtlpProtocol, ServedRecord } from '@provenant/server/offline';
import { intFlag, parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import { progressBar } from '../lib/progress.js';
import type { CommandContext } from '../main.js';

const PAGE = 1000;
// The line formats of the server's export table, and OTLP, which sends spans instead of lines.
const FORMATS = [...EXPORT_FORMATS, 'otlp'] as const;
type Format = (typeof FORMATS)[number];

export async function exportCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    format: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    output: { type: 'string', short: 'o' },
    from: { type: 'string' },
    to: { type: 'string' },
    type: { type: 'string' },
    'otlp-endpoint': { type: 'string' },
    'otlp-protocol': { type: 'string' },
    'otlp-header': { type: 'string', multiple: true },
    batch: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  const format = values.format as Format;
  if (!(FORMATS as readonly unknown[]).includes(format)) {
    throw usageError(`--format must be ${FORMATS.slice(0, -1).join(', ')} or otlp.`);
  }
  if (values.data !== undefined && values.server !== undefined) {
    throw usageError('Give --data DIR or --server URL, not both.');
  }
  if (format === 'otlp' && values.output !== undefined) {
    throw usageError('--format otlp sends spans to --otlp-endpoint; -o is for jsonl and ocsf.');
  }
  const otlpFlags = [values['otlp-endpoint'], values['otlp-protocol'], values['otlp-header']];
  if (format !== 'otlp' && [...otlpFlags, values.batch].some((v) => v !== undefined)) {
    throw usageError('--otlp-* and --batch go with --format otlp.');
  }
  const protocol = (values['otlp-protocol'] ?? 'http/json') as OtlpProtocol;
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw usageError(`--otlp-protocol must be ${OTLP_PROTOCOLS.join(' or ')}.`);
  }
  const headers: Record<string, string> = {};
  for (const h of values['otlp-header'] ?? []) {
    const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)=(.*)$/.exec(h);
    if (!m) throw usageError(`--otlp-header must be NAME=VALUE; got "${h.slice(0, 64)}".`);
    headers[m[1]!.toLowerCase()] = m[2]!;
  }
  const endpoint = values['otlp-endpoint'] ?? DEFAULT_OTLP_ENDPOINT;
  if (format === 'otlp') checkHttpUrl(endpoint, '--otlp-endpoint');
  const batchSize = intFlag(values.batch, 'batch', 1, 10_000);
  const filter = filterOf(values);
  if (values.output !== undefined && existsSync(values.output)) {
    throw usageError(`${values.output} exists; export never overwrites a file.`);
  }

  const sender =
    format === 'otlp'
      ? new OtlpSender({
          endpoint,
          protocol,
          headers,
          ...(batchSize !== undefined && { batchSize }),
        })
      : null;
  const sink = values.output ? createWriteStream(values.output, { flags: 'wx' }) : null;
  const write = sink ? (s: string) => writeTo(sink, s) : async (s: string) => ctx.out(s);
  const progress = progressBar('export', !values.quiet && (sink !== null || sender !== null));
  let count = 0;

  // Each page: records as served (canonical JSON with integrity), in log order.
  const emit = async (served: readonly string[]) => {
    if (isExportFormat(format)) {
      await write(served.map((s) => formatLine(s, format)).join(''));
    } else {
      for (const s of served) await sender!.add(JSON.parse(s) as ServedRecord);
    }
    count += served.length;
  };

  try {
    if (values.data !== undefined) {
      const file = join(values.data, LEDGER_FILE);
      if (!existsSync(file))
        throw new CliError('unreadable', `No ledger at ${file}.`, EXIT.unavailable);
      const storage = new SqliteStorage(file, { readonly: true });
      try {
        const { size } = await storage.readState();
        for await (const entries of exportPages(storage, filter, {
          pageSize: PAGE,
          treeSize: size,
        })) {
          await emit(entries.map(recordWithIntegrity));
          progress.update(entries.at(-1)!.leafIndex + 1, size);
        }
      } finally {
        await storage.close();
      }
    } else {
      const base = serverUrl(values.server, ctx.env);
      // --data is the offline source here, so the admin token comes from $PROVENANT_DATA.
      const token = readCredential(base, values.token, undefined, ctx.env);
      const note = await (
        await httpGet(`${base}/v1/log/checkpoint`, undefined, { fromInput: false })
      ).text();
      const total = Number(/^.*\n(\d+)\n/.exec(note)?.[1] ?? 0);
      let cursor: string | null = null;
      do {
        const params = new URLSearchParams({ limit: String(PAGE) });
        if (values.type !== undefined) params.set('type', values.type);
        if (values.from !== undefined) params.set('from', values.from);
        if (values.to !== undefined) params.set('to', values.to);
        if (cursor) params.set('cursor', cursor);
        const page = (await (await httpGet(`${base}/v1/events?${params}`, token)).json()) as {
          events: unknown[];
          next_cursor: string | null;
        };
        await emit(page.events.map((e) => JSON.stringify(e)));
        const last = page.events.at(-1) as { integrity?: { leaf_index?: number } } | undefined;
        const done = last?.integrity?.leaf_index ?? count - 1;
        progress.update(done + 1, Math.max(total, done + 1));
        cursor = page.next_cursor;
      } while (cursor);
    }
    if (sender) {
      const sent = await sender.flush();
      progress.stop();
      const rejected = sent.rejected > 0 ? `; the receiver rejected ${sent.rejected}` : '';
      ctx.out(
        `exported ${sent.spans} records as OTLP spans to ${endpoint} in ${sent.batches} batches${rejected}\n`,
      );
    }
  } catch (e) {
    if (e instanceof OtlpExportError) {
      throw new CliError(
        'otlp_export_failed',
        `${e.message} (${count} records read)`,
        EXIT.unavailable,
      );
    }
    throw e;
  } finally {
    progress.stop();
    if (sink)
      await new Promise<void>((resolve, reject) =>
        sink.end((e?: Error | null) => (e ? reject(e) : resolve())),
      );
  }
  if (sink) ctx.err(`exported ${count} records to ${values.output}\n`);
  return EXIT.ok;
}

function filterOf(values: { from?: string; to?: string; type?: string }): ExportFilter {
  const filter: { -readonly [K in keyof ExportFilter]: ExportFilter[K] } = {};
  const time = (flag: 'from' | 'to'): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const us = timeToMicros(text);
    if (Number.isNaN(us)) {
      throw usageError(`--${flag} must be an RFC 3339 time such as 2026-11-27T13:05:01Z.`);
    }
    return us;
  };
  const from = time('from');
  const to = time('to');
  if (from !== undefined) filter.fromUs = from;
  if (to !== undefined) filter.toUs = to;
  if (from !== undefined && to !== undefined && from >= to) {
    throw usageError('--from must be before --to.');
  }
  if (values.type !== undefined) {
    if (!/^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/.test(values.type) || values.type.length > 128) {
      throw usageError('--type must be a record type such as tool.called.');
    }
    filter.type = values.type;
  }
  return filter;
}

function checkHttpUrl(url: string, flag: string): void {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw usageError(`${flag} must be an http(s) URL; got "${url}".`);
  }
}

function writeTo(stream: WriteStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (e) => (e ? reject(e) : resolve()));
  });
}
