import type { TraceNode } from '@provenant/server';
import { intFlag, parseFlags, serverUrl } from '../lib/args.js';
import { EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import { renderTraceTree } from '../lib/trace-tree.js';
import type { CommandContext } from '../main.js';
import { clean } from './explain.js';

interface TracePage {
  trace_id: string;
  count: number;
  truncated: boolean;
  next_cursor: string | null;
  roots: TraceNode[];
}

/** Most pages `--all` follows: a bound on what one command asks of a collector. */
const MAX_PAGES = 1000;

export async function trace(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    json: { type: 'boolean' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw usageError('trace needs one trace id.');
  if (values.all && values.json) throw usageError('--all prints trees; --json prints one page.');
  const limit = intFlag(values.limit, 'limit', 1, 1000);
  const base = serverUrl(values.server, ctx.env);
  const pageUrl = (cursor: string | undefined) => {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor !== undefined) query.set('cursor', cursor);
    const q = query.toString();
    return `${base}/v1/traces/${encodeURIComponent(id)}${q ? `?${q}` : ''}`;
  };
  const token = readCredential(base, values.token, values.data, ctx.env);
  let cursor = values.cursor;
  for (let pages = 0; ; pages++) {
    const text = await (await httpGet(pageUrl(cursor), token)).text();
    if (values.json) {
      ctx.out(`${text}\n`);
      return EXIT.ok;
    }
    const t = JSON.parse(text) as TracePage;
    ctx.out(
      `trace ${t.trace_id}: ${t.count} records${cursor === undefined ? '' : ' (continued)'}\n`,
    );
    for (const line of renderTraceTree(t.roots)) ctx.out(`${clean(line)}\n`);
    if (t.next_cursor === null) return EXIT.ok;
    if (!values.all || pages + 1 >= MAX_PAGES) {
      ctx.out(`more records follow: provenant trace ${id} --cursor ${t.next_cursor} (or --all)\n`);
      return EXIT.ok;
    }
    cursor = t.next_cursor;
  }
}
