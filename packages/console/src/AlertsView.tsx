import type { EventRecord } from '@provenant/core';
import { shortName } from '@provenant/core/vocabulary';
import { getJson } from './api.ts';
import type { EventsPage } from './EventsView.tsx';
import { Badge, Time } from './ui/Badge.tsx';
import { Pager } from './ui/Pager.tsx';
import { useLoad } from './useLoad.ts';
import { apiQuery, pageSummary, parseSearch, searchQuery, turnPage } from './view/search.ts';
import type { SearchState } from './view/search.ts';
import { ALERT_LABEL, alertTarget, recordHref } from './view/trust.ts';

const go = (s: SearchState) => {
  const q = searchQuery({ ...s, filters: {} });
  window.location.hash = `#/alerts${q ? `?${q}` : ''}`;
};

/** What one alert is about, as links. */
function About({ alert }: { alert: EventRecord }) {
  const t = alertTarget(alert);
  const type = alert.action?.args?.['record_type'];
  const recordType = typeof type === 'string' ? type : undefined;
  return (
    <>
      {t.recordId === null ? (
        <span className="muted">no record named</span>
      ) : t.refused ? (
        <span title="The record contradicted its credential and was refused: nothing of it is stored.">
          {recordType ?? 'record'} <code>{t.recordId.slice(0, 8)}…</code>{' '}
          <span className="muted">(refused, not stored)</span>
        </span>
      ) : (
        <a
          href={recordHref(t.recordId, recordType)}
          data-testid="alert-subject"
          aria-label={`The ${recordType ?? 'record'} ${t.recordId} this alert is about`}
        >
          {recordType ?? 'record'} <code>{t.recordId.slice(0, 8)}…</code>
        </a>
      )}
      {t.related.map((r) => (
        <span key={r.id}>
          {' · '}
          {r.label} <a href={`#/record/${r.id}`}>{r.id.slice(0, 8)}…</a>
        </span>
      ))}
    </>
  );
}

/** Every `security.alert` the collector wrote, newest first, each linked to what it is about. */
export function AlertsView({ query }: { query: string }) {
  const state: SearchState = {
    ...parseSearch(query),
    q: '',
    filters: { type: 'security.alert' },
  };
  const load = useLoad(() => getJson<EventsPage>(`/v1/events?${apiQuery(state)}`), [query]);
  const prev = load.state === 'ok' ? (load.value.prev_cursor ?? null) : null;
  const next = load.state === 'ok' ? load.value.next_cursor : null;
  return (
    <section aria-labelledby="alerts-h">
      <h2 id="alerts-h">Alerts</h2>
      <p className="muted">
        Security alerts the collector wrote: records that contradicted their credential, ids
        squatted, detections (scope exceeded, use after revocation, denial bursts…).
      </p>
      {load.state === 'loading' && <p aria-live="polite">Loading…</p>}
      {load.state === 'error' && (
        <p className="bad" role="alert">
          Error: {load.error}
        </p>
      )}
      {load.state === 'ok' && (
        <>
          <div className="results-head">
            <p id="alerts-summary" data-testid="alerts-summary" aria-live="polite" tabIndex={-1}>
              {load.value.events.length === 0 && !state.cursor
                ? 'No alerts.'
                : pageSummary(state.page, state.limit, load.value.events.length, load.value.total)}
            </p>
            <Pager
              fallback="alerts-summary"
              buttons={[
                {
                  key: 'prev',
                  label: '← Newer',
                  go: prev ? () => go(turnPage(state, prev, -1)) : null,
                },
                {
                  key: 'next',
                  label: 'Older →',
                  go: next ? () => go(turnPage(state, next, 1)) : null,
                },
              ]}
            />
          </div>
          {load.value.events.length > 0 && (
            <table className="events">
              <thead>
                <tr>
                  <th scope="col">Time (UTC)</th>
                  <th scope="col">Alert</th>
                  <th scope="col">About</th>
                  <th scope="col">Who</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {load.value.events.map((a) => {
                  const t = alertTarget(a);
                  return (
                    <tr key={a.id} data-testid="alert-row" className="row-bad" data-id={a.id}>
                      <td>
                        <a href={`#/record/${a.id}`} title={`Alert record ${a.id}`}>
                          <Time iso={a.time} />
                        </a>
                      </td>
                      <td>
                        <Badge label={ALERT_LABEL} testId="status" /> <code>{t.code}</code>
                      </td>
                      <td>
                        <About alert={a} />
                      </td>
                      <td>
                        {a.initiator || a.actor ? (
                          <>
                            <span title={a.initiator?.id}>
                              {a.initiator ? shortName(a.initiator.id) : '—'}
                            </span>
                            {' → '}
                            <span title={a.actor?.id}>{a.actor ? shortName(a.actor.id) : '—'}</span>
                          </>
                        ) : (
                          <span className="muted">
                            {t.claimedActor && (
                              <span title={t.claimedActor}>
                                claims {shortName(t.claimedActor)}
                                <br />
                              </span>
                            )}
                            {t.source && <>from {t.source}</>}
                          </span>
                        )}
                      </td>
                      <td className="detail">{t.detail}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
