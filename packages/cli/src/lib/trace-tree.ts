import type { TraceNode } from '@provenant/server';

/** The tree as terminal lines with ├─ └─ connectors. */
export function renderTraceTree(roots: readonly TraceNode[]): string[] {
  const lines: string[] = [];
  const label = (n: TraceNode) =>
    [
      n.time,
      n.type,
      n.actor ?? '(no actor)',
      n.action ? `${n.action}${n.resource ? ` ${n.resource}` : ''}` : null,
      n.outcome ? `→ ${n.outcome}` : null,
      n.level ? `[${n.level}]` : null,
    ]
      .filter((p) => p !== null)
      .join('  ');
  const walk = (n: TraceNode, prefix: string, last: boolean, root: boolean) => {
    lines.push(root ? label(n) : `${prefix}${last ? '└─ ' : '├─ '}${label(n)}`);
    const next = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
    n.children.forEach((c, i) => walk(c, next, i === n.children.length - 1, false));
  };
  roots.forEach((r) => walk(r, '', true, true));
  return lines;
}
