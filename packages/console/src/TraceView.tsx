import { useState } from 'react';
import { getJson } from './api.ts';
import { useLoad } from './useLoad.ts';
import { Badge } from './ui/Badge.tsx';
import { levelLabel, recordStatus } from './view/trust.ts';

interface TraceNode {
  id: string;
  leaf_index: number;
  time: string;
  type: string;
  level: string | null;
  actor: string | null;
  action: string | null;
  resource: string | null;
  outcome: string | null;
  linked_by: string;
  /** The parent record; on a root, the node it continues from (the depth limit). */
  parent_id?: string | null;
  children: TraceNode[];
}

/** One page of a trace as the collector answers it. */
interface TracePage {
  trace_id: string;
  count: number;
  roots: TraceNode[];
  truncated?: boolean;
  next?: string | null;
}

function Node({ n, root = false }: { n: TraceNode; root?: boolean }) {
  const status = recordStatus({
    type: n.type,
    ...(n.action ? { action: { name: n.action } } : {}),
    ...(n.outcome ? { outcome: { status: n.outcome } } : {}),
  });
  return (
    <li>
      <span className="muted">{n.time}</span> <strong>{n.type}</strong> <code>{n.actor ?? ''}</code>{' '}
      {n.action ? `${n.action} ${n.resource ?? ''}` : ''}{' '}
      {status && (n.outcome || n.type === 'security.alert') ? <Badge label={status} /> : null}{' '}
      {n.level ? <Badge label={levelLabel(n.level)} /> : null}{' '}
      {n.action ? <a href={`#/provenance/${n.id}`}>provenance</a> : null}
      {root && n.parent_id ? <span className="muted"> (continues under {n.parent_id})</span> : null}
      {n.children.length > 0 && (
        <ul>
          {n.children.map((c) => (
            <Node key={c.id} n={c} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** Every node with its depth, without recursion: a trace can be deep. */
function flatten(roots: TraceNode[]): { n: TraceNode; depth: number }[] {
  const out: { n: TraceNode; depth: number }[] = [];
  const stack = roots.map((n) => ({ n, depth: 0 })).reverse();
  while (stack.length > 0) {
    const top = stack.pop()!;
    out.push(top);
    for (let i = top.n.children.length - 1; i >= 0; i--)
      stack.push({ n: top.n.children[i]!, depth: top.depth + 1 });
  }
  return out;
}

/** The trace's records on a time axis, one row each, indented by depth. */
function Timeline({ roots }: { roots: TraceNode[] }) {
  const rows = flatten(roots).sort((a, b) => a.n.time.localeCompare(b.n.time));
  const times = rows.map((r) => Date.parse(r.n.time));
  const t0 = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - t0);
  const left = 260;
  const width = 700;
  return (
    <svg
      width={left + width + 80}
      height={rows.length * 22 + 24}
      role="img"
      aria-label="Timeline of the trace"
      data-testid="timeline"
    >
      {rows.map(({ n, depth }, i) => {
        const x = left + (((times[i] ?? t0) - t0) / span) * width;
        return (
          <g key={n.id} transform={`translate(0, ${i * 22 + 4})`}>
            <text x={depth * 12} y={14} fontSize={12}>
              {n.type}
            </text>
            <line x1={left} x2={left + width} y1={10} y2={10} stroke="#e1e4e8" />
            <circle
              cx={x}
              cy={10}
              r={6}
              fill={
                n.outcome === 'success' || !n.outcome
                  ? '#0b57d0'
                  : n.outcome === 'pending'
                    ? '#e0a526'
                    : '#b3261e'
              }
            >
              <title>{`${n.time} ${n.type} ${n.action ?? ''}`}</title>
            </circle>
          </g>
        );
      })}
      <text x={left} y={rows.length * 22 + 20} fontSize={11} fill="#5f6b7a">
        +0 ms
      </text>
      <text
        x={left + width}
        y={rows.length * 22 + 20}
        fontSize={11}
        fill="#5f6b7a"
        textAnchor="end"
      >
        +{span} ms
      </text>
    </svg>
  );
}

/** A trace a page at a time: the first page on open, the next ones on "more". */
export function TraceView({ id }: { id: string }) {
  const load = useLoad(() => getJson<TracePage>(`/v1/traces/${encodeURIComponent(id)}`), [id]);
  const [more, setMore] = useState<{ id: string; pages: TracePage[]; error: string | null }>({
    id,
    pages: [],
    error: null,
  });
  const [busy, setBusy] = useState(false);
  const pages = load.state === 'ok' ? [load.value, ...(more.id === id ? more.pages : [])] : [];
  const last = pages.at(-1);
  const roots = pages.flatMap((p) => p.roots);
  const count = pages.reduce((n, p) => n + p.count, 0);
  const loadMore = () => {
    if (!last?.next || busy) return;
    setBusy(true);
    getJson<TracePage>(last.next).then(
      (page) => {
        setMore((m) => ({ id, pages: [...(m.id === id ? m.pages : []), page], error: null }));
        setBusy(false);
      },
      (e: unknown) => {
        setMore((m) => ({ ...m, error: (e as Error).message }));
        setBusy(false);
      },
    );
  };
  return (
    <section aria-labelledby="trace-h">
      <h2 id="trace-h">
        Trace <code>{id}</code>
      </h2>
      {load.state === 'loading' && <p>Loading…</p>}
      {load.state === 'error' && <p className="bad">Error: {load.error}</p>}
      {load.state === 'ok' && (
        <div className="tree">
          <p data-testid="trace-count">
            {count} record(s){last?.truncated ? ' shown; more records follow' : ''}
          </p>
          <ul>
            {roots.map((r) => (
              <Node key={r.id} n={r} root />
            ))}
          </ul>
          {last?.truncated && last.next && (
            <p>
              <button type="button" onClick={loadMore} disabled={busy} data-testid="trace-more">
                {busy ? 'Loading…' : 'More records'}
              </button>{' '}
              <span className="muted">
                a record whose parent is on an earlier page is shown as a root
              </span>
            </p>
          )}
          {more.error && <p className="bad">Error: {more.error}</p>}
          <h3>Timeline</h3>
          <Timeline roots={roots} />
        </div>
      )}
    </section>
  );
}
