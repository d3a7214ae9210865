import { intFlag, parseFlags, serverUrl } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import { httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import type { CommandContext } from '../main.js';

interface EventsPage {
  events: Record<string, unknown>[];
  next_cursor: string | null;
  prev_cursor?: string | null;
  total?: { count: number; exact: boolean };
}

/**
 * Each filter flag and the `GET /v1/events` query parameter it sets (README "HTTP API"): the
 * same names as the API's, with `-` for `_`. `--order` defaults to `desc` (newest first), as in
 * the console.
 */
export const EVENT_FILTERS = [
  ['initiator', 'initiator'],
  ['actor', 'actor'],
  ['type', 'type'],
  ['task-id', 'task_id'],
  ['trace-id', 'trace_id'],
  ['level', 'level'],
  ['from', 'from'],
  ['to', 'to'],
  ['action', 'action'],
  ['resource', 'resource'],
  ['outcome', 'outcome'],
  ['q', 'q'],
] as const;

const ORDERS = ['asc', 'desc'];

/** The query string of one `provenant events` run's first page (no cursor). */
export function eventsQuery(
  values: Readonly<Record<string, string | boolean | undefined>>,
  limit: number,
): URLSearchParams {
  const order = values['order'] ?? 'desc';
  if (typeof order !== 'string' || !ORDERS.includes(order)) {
    throw usageError(`--order must be asc or desc; got "${String(order)}".`);
  }
  const params = new URLSearchParams({ limit: String(limit), order });
  for (const [flag, param] of EVENT_FILTERS) {
    const v = values[flag];
    if (typeof v === 'string') params.set(param, v);
  }
  return params;
}

export async function events(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    server: { type: 'string' },
    token: { type: 'string' },
    data: { type: 'string' },
    ...(Object.fromEntries(EVENT_FILTERS.map(([flag]) => [flag, { type: 'string' }])) as Record<
      (typeof EVENT_FILTERS)[number][0],
      { type: 'string' }
    >),
    order: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const limit = intFlag(values.limit, 'limit', 1, 1000) ?? 50;
  const params = eventsQuery(values, limit);
  const base = serverUrl(values.server, ctx.env);
  const token = readCredential(base, values.token, values.data, ctx.env);
  let cursor = values.cursor ?? null;
  let printedHeader = false;
  let first: EventsPage | undefined;
  for (;;) {
    if (cursor) params.set('cursor', cursor);
    const page = (await (await httpGet(`${base}/v1/events?${params}`, token)).json()) as EventsPage;
    first ??= page;
    if (values.json) {
      for (const e of page.events) ctx.out(`${JSON.stringify(e)}\n`);
    } else {
      if (!printedHeader) {
        ctx.out(row(HEADER));
        printedHeader = true;
      }
      for (const e of page.events) ctx.out(row(tableRow(e)));
    }
    cursor = page.next_cursor;
    if (!values.all || !cursor) break;
  }
  if (!values.json) {
    if (first?.total) {
      const { count, exact } = first.total;
      ctx.err(
        `${exact ? '' : 'more than '}${count} ${count === 1 && exact ? 'record' : 'records'} match\n`,
      );
    }
    if (!values.all && cursor) ctx.err(`more: --cursor ${cursor}\n`);
    if (!values.all && first?.prev_cursor) ctx.err(`before these: --cursor ${first.prev_cursor}\n`);
  }
  return 0;
}

const HEADER = [
  'LEAF',
  'TIME',
  'TYPE',
  'ACTION',
  'RESOURCE',
  'OUTCOME',
  'LEVEL',
  'INITIATOR',
  'ACTOR',
  'ID',
];
const WIDTHS = [7, 24, 16, 22, 26, 8, 12, 18, 32, 36];
/** Columns cut from the left when too long: an actor's id ends in what tells it apart. */
const CUT_LEFT = new Set([8]);

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
    get(['action', 'name']),
    get(['action', 'resource']),
    get(['outcome', 'status']),
    get(['attribution', 'level']),
    get(['initiator', 'id']),
    get(['actor', 'id']),
    get(['id']),
  ];
}

function row(cells: string[]): string {
  return (
    cells
      .map((c, i) => {
        const w = WIDTHS[i]!;
        // Never echo control characters (terminal escapes) from records to a terminal.
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        const clean = c.replace(/[\u0000-\u001f\u007f]/g, '?');
        if (clean.length <= w) return clean.padEnd(w);
        return CUT_LEFT.has(i)
          ? `…${clean.slice(clean.length - w + 1)}`
          : `${clean.slice(0, w - 1)}…`;
      })
      .join(' ')
      .trimEnd() + '\n'
  );
}
