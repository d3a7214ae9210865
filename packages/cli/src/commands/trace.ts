import type { TraceNode } from '@provenant/server';
import { parseFlags, serverUrl } from '../lib/args.js';
import { EXIT, usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { renderTraceTree } from '../lib/trace-tree.js';
import type { CommandContext } from '../main.js';
import { clean } from './explain.js';

interface TraceAnswer {
  trace_id: string;
  count: number;
  truncated: boolean;
  roots: TraceNode[];
}

export async function trace(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    server: { type: 'string' },
    json: { type: 'boolean' },
  });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw usageError('trace needs one trace id.');
  const base = serverUrl(values.server, ctx.env);
  const res = await httpGet(`${base}/v1/traces/${encodeURIComponent(id)}`);
  const text = await res.text();
  if (values.json) {
    ctx.out(`${text}\n`);
    return EXIT.ok;
  }
  const t = JSON.parse(text) as TraceAnswer;
  ctx.out(`trace ${t.trace_id}: ${t.count} records${t.truncated ? ' (truncated)' : ''}\n`);
  for (const line of renderTraceTree(t.roots)) ctx.out(`${clean(line)}\n`);
  return EXIT.ok;
}
