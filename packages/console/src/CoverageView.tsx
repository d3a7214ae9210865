import { getJson } from './api.ts';
import { useLoad } from './useLoad.ts';
import { recordsHash } from './CoverageRecordsView.tsx';

const LEVELS = ['verified', 'pooled', 'asserted', 'unattributed'] as const;
const COLORS: Record<string, string> = {
  verified: '#137333',
  pooled: '#0b57d0',
  asserted: '#e37400',
  unattributed: '#b3261e',
};

interface Report {
  records: number;
  actions: number;
  by_class: Record<string, Record<string, number> & { total: number }>;
  privileged: {
    total: number;
    verified: number;
    with_decision: number;
    verified_with_decision: number;
    share: number | null;
  };
  pooled_accounts: {
    account: string;
    records: number;
    instances: number;
    tasks: number;
    href?: string;
  }[];
  weak_privileged: { count: number };
  credential_lifetimes: {
    count: number;
    max_sec: number | null;
    buckets: Record<string, number>;
    over_1h: { count: number };
  };
  without_decision: { count: number; items: { id: string; action: string | null }[] };
  /** The collector's remediation records (AIMS); absent from an older collector. */
  remediations?: {
    count: number;
    capped: boolean;
    by_cause: Record<string, number>;
    items: { id: string; cause: string; time: string; remediates: { id: string }[] }[];
  };
  frameworks: Record<string, readonly string[]>;
  /** Measure → API address of its records (GET /v1/reports/coverage/records). */
  links?: Record<string, string>;
}

/** A count of the report, linked to the records behind it. */
function Count({
  report,
  measure,
  value,
  href,
}: {
  report: Report;
  measure: string;
  value: number;
  href?: string | undefined;
}) {
  const to = recordsHash(href ?? report.links?.[measure]);
  if (!to) return <>{value}</>;
  return (
    <a href={to} data-measure={measure} title={`The ${value} records of ${measure}`}>
      {value}
    </a>
  );
}

const BUCKETS = [
  ['le_5m', '≤ 5 min'],
  ['le_15m', '≤ 15 min'],
  ['le_1h', '≤ 1 h'],
  ['over_1h', '> 1 h'],
] as const;

function Bars({ report }: { report: Report }) {
  const classes = Object.entries(report.by_class);
  const max = Math.max(1, ...classes.map(([, c]) => c.total));
  const width = 600;
  return (
    <svg
      width={width + 140}
      height={classes.length * 32 + 10}
      role="img"
      aria-label="Action records by attribution level per class"
    >
      {classes.map(([name, c], i) => {
        let x = 120;
        return (
          <g key={name} transform={`translate(0, ${i * 32 + 5})`}>
            <text x={0} y={16} fontSize={13}>
              {name}
            </text>
            {LEVELS.map((l) => {
              const w = ((c[l] ?? 0) / max) * width;
              const to = recordsHash(report.links?.[`by_class.${name}.${l}`]);
              const rect = (
                <a key={l} href={to}>
                  <rect x={x} y={2} width={w} height={20} fill={COLORS[l]}>
                    <title>{`${l}: ${c[l] ?? 0}`}</title>
                  </rect>
                </a>
              );
              x += w;
              return rect;
            })}
            <text x={x + 6} y={16} fontSize={13}>
              {c.total}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export function CoverageView() {
  const load = useLoad(() => getJson<Report>('/v1/reports/coverage'), []);
  if (load.state === 'loading') return <p>Loading…</p>;
  if (load.state === 'error') return <p className="bad">Error: {load.error}</p>;
  const r = load.value;
  const share = r.privileged.share === null ? '—' : `${Math.round(r.privileged.share * 100)}%`;
  return (
    <section aria-labelledby="cov-h">
      <h2 id="cov-h">Coverage</h2>
      <dl data-testid="coverage-numbers">
        <dt>Records</dt>
        <dd data-testid="cov-records">
          <Count report={r} measure="records" value={r.records} />
        </dd>
        <dt>Actions</dt>
        <dd data-testid="cov-actions">
          <Count report={r} measure="actions" value={r.actions} />
        </dd>
        <dt>Privileged actions verified and with a decision</dt>
        <dd data-testid="cov-privileged">
          <Count
            report={r}
            measure="privileged.verified_with_decision"
            value={r.privileged.verified_with_decision}
          />{' '}
          / <Count report={r} measure="privileged.total" value={r.privileged.total} /> ({share});
          verified <Count report={r} measure="privileged.verified" value={r.privileged.verified} />,
          with a decision{' '}
          <Count report={r} measure="privileged.with_decision" value={r.privileged.with_decision} />
        </dd>
        <dt>Weakly attributed privileged actions</dt>
        <dd data-testid="cov-weak">
          <Count report={r} measure="weak_privileged" value={r.weak_privileged.count} />
        </dd>
        <dt>Actions without a decision</dt>
        <dd data-testid="cov-without-decision">
          <Count report={r} measure="without_decision" value={r.without_decision.count} />{' '}
          {r.without_decision.items.map((i) => (
            <a key={i.id} href={`#/provenance/${i.id}`}>
              {i.action ?? i.id}{' '}
            </a>
          ))}
        </dd>
        {r.remediations ? (
          <>
            <dt>
              Remediations (principals disabled, credentials revoked, keys retired, policy changes)
            </dt>
            <dd data-testid="cov-remediations">
              {r.remediations.count}
              {r.remediations.capped ? '+' : ''} (
              {Object.entries(r.remediations.by_cause)
                .map(([cause, n]) => `${cause.replace(/_/g, ' ')} ${n}`)
                .join(', ')}
              ){' '}
              {r.remediations.items.map((i) => (
                <a
                  key={i.id}
                  href={`#/record/${i.id}`}
                  title={`${i.time}: ${i.remediates.map((t) => t.id).join(', ')}`}
                >
                  {i.cause.replace(/_/g, ' ')}{' '}
                </a>
              ))}
            </dd>
          </>
        ) : null}
        <dt>Credentials issued (longest lifetime; by lifetime)</dt>
        <dd data-testid="cov-credentials">
          <Count report={r} measure="credential_lifetimes" value={r.credential_lifetimes.count} /> (
          {r.credential_lifetimes.max_sec ?? '—'} s;{' '}
          {BUCKETS.map(([b, label], i) => (
            <span key={b}>
              {i > 0 ? ', ' : ''}
              {label}:{' '}
              <Count
                report={r}
                measure={`credential_lifetimes.${b}`}
                value={r.credential_lifetimes.buckets[b] ?? 0}
              />
            </span>
          ))}
          )
        </dd>
      </dl>
      <h3>Actions by attribution level</h3>
      <p>
        {LEVELS.map((l) => (
          <span key={l} style={{ marginRight: '1rem' }}>
            <svg width="12" height="12" aria-hidden="true">
              <rect width="12" height="12" fill={COLORS[l]} />
            </svg>{' '}
            {l}
          </span>
        ))}
      </p>
      <Bars report={r} />
      <table data-testid="cov-by-class">
        <thead>
          <tr>
            <th>Class</th>
            {LEVELS.map((l) => (
              <th key={l}>{l}</th>
            ))}
            <th>total</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(r.by_class).map(([name, c]) => (
            <tr key={name}>
              <td>{name}</td>
              {LEVELS.map((l) => (
                <td key={l}>
                  <Count report={r} measure={`by_class.${name}.${l}`} value={c[l] ?? 0} />
                </td>
              ))}
              <td>
                <Count report={r} measure={`by_class.${name}.total`} value={c.total} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Pooled accounts</h3>
      {r.pooled_accounts.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Account</th>
              <th>Records</th>
              <th>Instances</th>
              <th>Tasks</th>
            </tr>
          </thead>
          <tbody>
            {r.pooled_accounts.map((p) => (
              <tr key={p.account}>
                <td>{p.account}</td>
                <td>
                  <Count report={r} measure="pooled_accounts" value={p.records} href={p.href} />
                </td>
                <td>
                  <Count report={r} measure="pooled_accounts" value={p.instances} href={p.href} />
                </td>
                <td>
                  <Count report={r} measure="pooled_accounts" value={p.tasks} href={p.href} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Frameworks</h3>
      <ul>
        {Object.entries(r.frameworks).map(([k, v]) => (
          <li key={k}>
            <strong>{k}</strong>: {v.join(', ')}
          </li>
        ))}
      </ul>
    </section>
  );
}
