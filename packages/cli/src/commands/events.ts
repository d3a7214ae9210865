import { intFlag, parseFlags, serverUrl } from '../lib/args.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import type { CommandContext } from '../main.js';

interface EventsPage {
  events: Record<string, unknown>[];
  next_cursor: string | null;
}

export async function events(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    initiator: { type: 'string' },
    actor: { type: 'string' },
    type: { type: 'string' },
    'task-id': { type: 'string' },
    'trace-id': { type: 'string' },
    level: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const base = serverUrl(values.server, ctx.env);
  const token = readCredential(base, values.token, values.data, ctx.env);
  const limit = intFlag(values.limit, 'limit', 1, 1000) ?? 50;
  const params = new URLSearchParams({ limit: String(limit) });
  const map: [keyof typeof values, string][] = [
    ['initiator', 'initiator'],
    ['actor', 'actor'],
    ['type', 'type'],
    ['task-id', 'task_id'],
    ['trace-id', 'trace_id'],
    ['level', 'level'],
    ['from', 'from'],
    ['to', 'to'],
  ];
  for (const [flag, param] of map) {
    const v = values[flag];
    if (typeof v === 'string') params.set(param, v);
  }
  let cursor = values.cursor ?? null;
  let printedHeader = false;
  for (;;) {
    if (cursor) params.set('cursor', cursor);
    const page = (await (await httpGet(`${base}/v1/events?${params}`, token)).json()) as EventsPage;
    if (values.json) {
      for (const e of page.events) ctx.out(`${JSON.stringify(e)}\n`);
    } else {
      if (!printedHeader) {
        ctx.out(row(['LEAF', 'TIME', 'TYPE', 'LEVEL', 'INITIATOR', 'ACTOR', 'ID']));
        printedHeader = true;
      }
      for (const e of page.events) ctx.out(row(tableRow(e)));
    }
    cursor = page.next_cursor;
    if (!values.all || !cursor) break;
  }
  if (!values.json && !values.all && cursor) ctx.err(`more: --cursor ${cursor}\n`);
  return 0;
}

function tableRow(e: Record<string, unknown>): string[] {
  const get = (path: string[]): string => {
    let v: unknown = e;
    for (const k of path)
      v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
    return v === undefined || v === null ? '-' : String(v);
  };
  return [
    get(['integrity', 'leaf_index']),
    get(['time']),
    get(['type']),
    get(['attribution', 'level']),
    get(['initiator', 'id']),
    get(['actor', 'id']),
    get(['id']),
  ];
}

const WIDTHS = [7, 27, 18, 12, 22, 40, 36];

function row(cells: string[]): string {
  return (
    cells
      .map((c, i) => {
        const w = WIDTHS[i]!;
        // Never echo control characters (terminal escapes) from records to a terminal.
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        const clean = c.replace(/[\u0000-\u001f\u007f]/g, '?');
        return clean.length > w ? `${clean.slice(0, w - 1)}…` : clean.padEnd(w);
      })
      .join(' ')
      .trimEnd() + '\n'
  );
}
