import type { EventRecord } from '@provenant/core';
import type { LogStorage } from '@provenant/ledger';
import { encodeCursor } from '../routes/paging.js';

/** One record of a trace in its causal tree. */
export interface TraceNode {
  readonly id: string;
  readonly leaf_index: number;
  readonly time: string;
  readonly type: string;
  readonly level: string | null;
  readonly initiator: string | null;
  readonly actor: string | null;
  readonly action: string | null;
  readonly resource: string | null;
  readonly outcome: string | null;
  readonly span_id: string | null;
  /** How the parent was found: by span, by cause, or none (a root, ordered by time). */
  readonly linked_by: 'span' | 'cause' | 'none';
  /**
   * The parent's record id, or null for a root. A node listed among the roots with a parent is
   * one the tree continues from: it sat deeper than MAX_TRACE_DEPTH under that parent.
   */
  readonly parent_id: string | null;
  readonly children: TraceNode[];
}

export interface TraceRecord {
  readonly record: EventRecord;
  readonly leafIndex: number;
}

/**
 * Deepest nesting served: a deeper node is listed among the roots (with its `parent_id`), so
 * no chain of records, however long, nests an answer deeper than JSON, the console and the CLI
 * can draw.
 */
export const MAX_TRACE_DEPTH = 100;

interface Linked {
  readonly fields: Omit<TraceNode, 'linked_by' | 'parent_id' | 'children'>;
  readonly timeMs: number;
  parent: Linked | null;
  /**
   * Towards the root of this node's tree (union-find, compressed as it is followed): a node
   * takes its parent once, in record order, while it is still a root itself, so a link closes a
   * cycle exactly when the parent's root is the node.
   */
  up: Linked | null;
  linkedBy: TraceNode['linked_by'];
  readonly children: Linked[];
  /** The node served, once placed. */
  out: TraceNode | null;
}

const byTime = (a: Linked, b: Linked) =>
  a.timeMs - b.timeMs || a.fields.leaf_index - b.fields.leaf_index;

/**
 * The records of one trace as a causal tree: a record's parent is the record whose
 * `trace.span_id` is its `trace.parent_span_id` (the earliest, when several share a span), else
 * the record its `cause.record_id` names; records with neither are roots. A link that would
 * close a cycle is dropped. Siblings and roots are ordered by time, then log order. Nodes deeper
 * than `maxDepth` start a root of their own. Pure, and without recursion: a chain of any length
 * builds without growing the stack.
 */
export function buildTraceTree(
  records: readonly TraceRecord[],
  maxDepth: number = MAX_TRACE_DEPTH,
): TraceNode[] {
  const linked: Linked[] = records.map(({ record: r, leafIndex }) => ({
    fields: {
      id: r.id,
      leaf_index: leafIndex,
      time: r.time,
      type: r.type,
      level: r.attribution?.level ?? null,
      initiator: r.initiator?.id ?? null,
      actor: r.actor?.id ?? null,
      action: r.action?.name ?? null,
      resource: r.action?.resource ?? null,
      outcome: r.outcome?.status ?? null,
      span_id: r.trace?.span_id ?? null,
    },
    timeMs: Date.parse(r.time),
    parent: null,
    up: null,
    linkedBy: 'none',
    children: [],
    out: null,
  }));
  const sorted = [...linked].sort(byTime);
  const bySpan = new Map<string, Linked>();
  for (const n of sorted) {
    const span = n.fields.span_id;
    if (span !== null && !bySpan.has(span)) bySpan.set(span, n);
  }
  const byId = new Map(linked.map((n) => [n.fields.id, n]));
  // The root of `n`'s tree, in near-constant time (walking `parent` would make a chain of n
  // records cost n² steps).
  const rootOf = (n: Linked): Linked => {
    let root = n;
    while (root.up) root = root.up;
    for (let p = n; p.up && p.up !== root;) {
      const next: Linked = p.up;
      p.up = root;
      p = next;
    }
    return root;
  };
  records.forEach(({ record: r }, i) => {
    const n = linked[i]!;
    const parentSpan = r.trace?.parent_span_id;
    const viaSpan = parentSpan === undefined ? undefined : bySpan.get(parentSpan);
    const viaCause = r.cause?.record_id === undefined ? undefined : byId.get(r.cause.record_id);
    for (const [parent, how] of [
      [viaSpan, 'span'],
      [viaCause, 'cause'],
    ] as const) {
      // `n` has no parent yet, so it is an ancestor of `parent` only as the root of its tree.
      if (parent && parent !== n && rootOf(parent) !== n) {
        n.parent = parent;
        n.up = parent;
        n.linkedBy = how;
        parent.children.push(n);
        break;
      }
    }
  });
  // Breadth first from the roots, in time order: each node is placed under its parent (placed
  // before it) or, at the depth limit, among the roots.
  const roots: Linked[] = [];
  const queue: { n: Linked; depth: number }[] = sorted
    .filter((n) => n.parent === null)
    .map((n) => ({ n, depth: 0 }));
  for (let k = 0; k < queue.length; k++) {
    const { n, depth } = queue[k]!;
    const out: TraceNode = {
      ...n.fields,
      linked_by: n.linkedBy,
      parent_id: n.parent?.fields.id ?? null,
      children: [],
    };
    n.out = out;
    if (depth === 0) roots.push(n);
    else n.parent!.out!.children.push(out);
    for (const c of n.children.sort(byTime))
      queue.push({ n: c, depth: depth + 1 >= maxDepth ? 0 : depth + 1 });
  }
  // Nodes cut at the depth limit joined the roots late: order the roots by time again.
  return roots.sort(byTime).map((n) => n.out!);
}

/** One page of a trace, as GET /v1/traces/:trace_id answers it. */
export interface TracePageQuery {
  readonly traceId: string;
  readonly limit: number;
  /** The leaf index the page starts after (the cursor), if any. */
  readonly after?: number;
}

export interface TracePage {
  readonly trace_id: string;
  readonly count: number;
  readonly truncated: boolean;
  readonly next_cursor: string | null;
  readonly next: string | null;
  readonly roots: TraceNode[];
}

/**
 * A trace a page at a time, in log order: one bounded read and a tree of at most `limit`
 * records, however large the trace. `turn` is awaited between records (the event loop's slices;
 * a worker thread passes none). Null when the trace has no record past the cursor's start.
 */
export async function readTracePage(
  storage: Pick<LogStorage, 'queryEntries'>,
  query: TracePageQuery,
  turn?: () => Promise<void>,
): Promise<TracePage | null> {
  const { traceId, limit, after } = query;
  const read = await storage.queryEntries({
    traceId,
    limit: limit + 1,
    ...(after === undefined ? {} : { afterLeafIndex: after }),
  });
  const page = read.slice(0, limit);
  if (page.length === 0 && after === undefined) return null;
  const records: TraceRecord[] = [];
  for (const e of page) {
    if (turn) await turn();
    records.push({ record: JSON.parse(e.canonical) as EventRecord, leafIndex: e.leafIndex });
  }
  const truncated = read.length > limit;
  const next = truncated ? encodeCursor(page.at(-1)!.leafIndex) : null;
  return {
    trace_id: traceId,
    count: page.length,
    truncated,
    next_cursor: next,
    next: next === null ? null : `/v1/traces/${traceId}?limit=${limit}&cursor=${next}`,
    roots: buildTraceTree(records),
  };
}
