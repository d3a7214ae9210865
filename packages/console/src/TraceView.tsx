import { getJson } from './api.ts';
import { useLoad } from './useLoad.ts';

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
  children: TraceNode[];
}

function Node({ n }: { n: TraceNode }) {
  return (
    <li>
      <span className="muted">{n.time}</span> <strong>{n.type}</strong> <code>{n.actor ?? ''}</code>{' '}
      {n.action ? `${n.action} ${n.resource ?? ''}` : ''}
      {n.outcome ? ` → ${n.outcome}` : ''} {n.level ? <em>[{n.level}]</em> : null}{' '}
      {n.action ? <a href={`#/provenance/${n.id}`}>provenance</a> : null}
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

function flatten(nodes: TraceNode[], depth = 0, out: { n: TraceNode; depth: number }[] = []) {
  for (const n of nodes) {
    out.push({ n, depth });
    flatten(n.children, depth + 1, out);
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
              fill={n.outcome === 'success' || !n.outcome ? '#0b57d0' : '#b3261e'}
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

export function TraceView({ id }: { id: string }) {
  const load = useLoad(
    () =>
      getJson<{ trace_id: string; count: number; roots: TraceNode[]; truncated?: boolean }>(
        `/v1/traces/${encodeURIComponent(id)}`,
      ),
    [id],
  );
  return (
    <section aria-labelledby="trace-h">
      <h2 id="trace-h">
        Trace <code>{id}</code>
      </h2>
      {load.state === 'loading' && <p>Loading…</p>}
      {load.state === 'error' && <p className="bad">Error: {load.error}</p>}
      {load.state === 'ok' && (
        <div className="tree">
          <p>{load.value.count} record(s)</p>
          <ul>
            {load.value.roots.map((r) => (
              <Node key={r.id} n={r} />
            ))}
          </ul>
          <h3>Timeline</h3>
          <Timeline roots={load.value.roots} />
        </div>
      )}
    </section>
  );
}
