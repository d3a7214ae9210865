import { isActionRecord } from '@provenant/core/vocabulary';
import { getJson } from './api.ts';
import { useLoad } from './useLoad.ts';

interface RecordRef {
  id: string;
  time: string;
  type: string;
  level: string;
  actor: string | null;
  action: string | null;
  resource: string | null;
  leaf_index: number;
}

interface Page {
  measure: string;
  account?: string;
  from: string | null;
  to: string | null;
  records: RecordRef[];
  next_after: string | null;
}

/** The console address of a coverage measure's records, from the report's API `href`. */
export function recordsHash(href: string | undefined): string | undefined {
  if (!href) return undefined;
  const q = href.indexOf('?');
  return `#/coverage/records${q < 0 ? '' : href.slice(q)}`;
}

/** The records behind one number of the coverage report (GET /v1/reports/coverage/records). */
export function CoverageRecordsView({ query }: { query: string }) {
  const params = new URLSearchParams(query);
  const load = useLoad(() => getJson<Page>(`/v1/reports/coverage/records?${params}`), [query]);
  const next = (after: string) => {
    const q = new URLSearchParams(params);
    q.set('after', after);
    return `#/coverage/records?${q}`;
  };
  const title = `${params.get('measure') ?? ''}${params.has('account') ? ` · ${params.get('account')}` : ''}`;
  return (
    <section aria-labelledby="cov-records-h">
      <h2 id="cov-records-h">
        Coverage records: <code>{title}</code>
      </h2>
      <p className="muted">
        {params.get('from') ?? 'beginning'} – {params.get('to') ?? 'now'} ·{' '}
        <a href="#/coverage">back to the coverage report</a>
      </p>
      {load.state === 'loading' && <p>Loading…</p>}
      {load.state === 'error' && <p className="bad">Error: {load.error}</p>}
      {load.state === 'ok' && (
        <>
          {load.value.records.length === 0 ? (
            <p className="muted">No records.</p>
          ) : (
            <table data-testid="coverage-records">
              <thead>
                <tr>
                  <th>Leaf</th>
                  <th>Time</th>
                  <th>Type</th>
                  <th>Level</th>
                  <th>Actor</th>
                  <th>Action</th>
                  <th>Resource</th>
                </tr>
              </thead>
              <tbody>
                {load.value.records.map((r) => (
                  <tr key={r.id} data-id={r.id}>
                    <td>{r.leaf_index}</td>
                    <td>{r.time}</td>
                    <td>{r.type}</td>
                    <td>{r.level}</td>
                    <td>{r.actor ?? '—'}</td>
                    <td>
                      {isActionRecord({ type: r.type, action: r.action ?? undefined }) ? (
                        <a href={`#/provenance/${encodeURIComponent(r.id)}`}>{r.action ?? r.id}</a>
                      ) : (
                        (r.action ?? '—')
                      )}
                    </td>
                    <td>{r.resource ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {load.value.next_after !== null && (
            <p>
              <a href={next(load.value.next_after)}>Next page</a>
            </p>
          )}
        </>
      )}
    </section>
  );
}
