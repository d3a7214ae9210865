import type { EventRecord } from '@provenant/core';

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
  readonly children: TraceNode[];
}

export interface TraceRecord {
  readonly record: EventRecord;
  readonly leafIndex: number;
}

interface Mutable extends Omit<TraceNode, 'linked_by' | 'children'> {
  linked_by: TraceNode['linked_by'];
  children: Mutable[];
  parent: Mutable | null;
}

const byTime = (a: Mutable, b: Mutable) =>
  a.time === b.time ? a.leaf_index - b.leaf_index : Date.parse(a.time) - Date.parse(b.time);

/**
 * The records of one trace as a causal tree: a record's parent is the record whose
 * `trace.span_id` is its `trace.parent_span_id` (the earliest, when several share a span), else
 * the record its `cause.record_id` names; records with neither are roots. A link that would
 * close a cycle is dropped. Siblings and roots are ordered by time, then log order. Pure.
 */
export function buildTraceTree(records: readonly TraceRecord[]): TraceNode[] {
  const nodes: Mutable[] = records.map(({ record: r, leafIndex }) => ({
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
    linked_by: 'none',
    children: [],
    parent: null,
  }));
  const sorted = [...nodes].sort(byTime);
  const bySpan = new Map<string, Mutable>();
  for (const n of sorted)
    if (n.span_id !== null && !bySpan.has(n.span_id)) bySpan.set(n.span_id, n);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const isAncestor = (candidate: Mutable, of: Mutable) => {
    for (let p: Mutable | null = candidate; p; p = p.parent) if (p === of) return true;
    return false;
  };
  records.forEach(({ record: r }, i) => {
    const node = nodes[i]!;
    const parentSpan = r.trace?.parent_span_id;
    const viaSpan = parentSpan === undefined ? undefined : bySpan.get(parentSpan);
    const viaCause = r.cause?.record_id === undefined ? undefined : byId.get(r.cause.record_id);
    for (const [parent, how] of [
      [viaSpan, 'span'],
      [viaCause, 'cause'],
    ] as const) {
      if (parent && parent !== node && !isAncestor(parent, node)) {
        node.parent = parent;
        node.linked_by = how;
        parent.children.push(node);
        break;
      }
    }
  });
  const finish = (n: Mutable): TraceNode => {
    const { parent: _parent, children, ...rest } = n;
    return { ...rest, children: children.sort(byTime).map(finish) };
  };
  return sorted.filter((n) => n.parent === null).map(finish);
}
