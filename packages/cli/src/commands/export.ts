import { createWriteStream, existsSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { SqliteStorage } from '@provenant/ledger';
import { LEDGER_FILE, recordWithIntegrity } from '@provenant/server';
import { parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { progressBar } from '../lib/progress.js';
import type { CommandContext } from '../main.js';

export const exportHelp = `provenant export --format jsonl [--server URL | --data DIR] [-o FILE]

Writes every record, in log order and with its integrity (leaf index and hash), one JSON
object a line, to FILE or standard output. Reads a collector or a ledger folder (read-only).`;

const PAGE = 1000;

export async function exportCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    format: { type: 'string' },
    server: { type: 'string' },
    data: { type: 'string' },
    output: { type: 'string', short: 'o' },
    quiet: { type: 'boolean' },
  });
  if (values.format !== 'jsonl') throw usageError('--format must be jsonl (one record a line).');
  if (values.data !== undefined && values.server !== undefined) {
    throw usageError('Give --data DIR or --server URL, not both.');
  }
  if (values.output !== undefined && existsSync(values.output)) {
    throw usageError(`${values.output} exists; export never overwrites a file.`);
  }
  const sink = values.output ? createWriteStream(values.output, { flags: 'wx' }) : null;
  const write = sink ? (s: string) => writeTo(sink, s) : async (s: string) => ctx.out(s);
  const progress = progressBar('export', !values.quiet && sink !== null);
  let count = 0;
  try {
    if (values.data !== undefined) {
      const file = join(values.data, LEDGER_FILE);
      if (!existsSync(file))
        throw new CliError('unreadable', `No ledger at ${file}.`, EXIT.unavailable);
      const storage = new SqliteStorage(file, { readonly: true });
      try {
        const { size } = await storage.readState();
        for (let start = 0; start < size; start += PAGE) {
          const entries = await storage.getEntries(start, PAGE);
          await write(entries.map((e) => `${recordWithIntegrity(e)}\n`).join(''));
          count += entries.length;
          progress.update(count, size);
        }
      } finally {
        await storage.close();
      }
    } else {
      const base = serverUrl(values.server, ctx.env);
      const note = await (await httpGet(`${base}/v1/log/checkpoint`)).text();
      const total = Number(/^.*\n(\d+)\n/.exec(note)?.[1] ?? 0);
      let cursor: string | null = null;
      do {
        const params = new URLSearchParams({ limit: String(PAGE) });
        if (cursor) params.set('cursor', cursor);
        const page = (await (await httpGet(`${base}/v1/events?${params}`)).json()) as {
          events: unknown[];
          next_cursor: string | null;
        };
        await write(page.events.map((e) => `${JSON.stringify(e)}\n`).join(''));
        count += page.events.length;
        progress.update(count, Math.max(total, count));
        cursor = page.next_cursor;
      } while (cursor);
    }
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

function writeTo(stream: WriteStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (e) => (e ? reject(e) : resolve()));
  });
}
