import { isActionRecord } from '@provenant/core/vocabulary';
import { useState } from 'react';
import { getJson } from './api.ts';
import { useLoad } from './useLoad.ts';

interface EventRecord {
  id: string;
  time: string;
  type: string;
  initiator?: { id: string };
  actor?: { id: string };
  action?: { name: string; resource?: string };
  outcome?: { status: string };
  attribution?: { level: string };
  trace?: { trace_id: string };
  task_id?: string;
  integrity?: { leaf_index: number };
}

const FILTERS = [
  ['initiator', 'Initiator'],
  ['actor', 'Actor'],
  ['type', 'Type'],
  ['level', 'Level'],
  ['trace_id', 'Trace'],
  ['task_id', 'Task'],
] as const;

const LEVELS = ['', 'verified', 'pooled', 'asserted', 'unattributed'];

export function EventsView({ query }: { query: string }) {
  const params = new URLSearchParams(query);
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(FILTERS.map(([k]) => [k, params.get(k) ?? ''])),
  );
  const cursor = params.get('cursor');
  const limit = params.get('limit') ?? '50';
  const load = useLoad(() => {
    const q = new URLSearchParams();
    for (const [k] of FILTERS) {
      const v = params.get(k);
      if (v) q.set(k, v);
    }
    q.set('limit', limit);
    if (cursor) q.set('cursor', cursor);
    return getJson<{ events: EventRecord[]; next_cursor: string | null }>(`/v1/events?${q}`);
  }, [query]);

  const go = (extra: Record<string, string>) => {
    const q = new URLSearchParams();
    const all = { ...draft, ...(limit === '50' ? {} : { limit }), ...extra };
    for (const [k, v] of Object.entries(all)) if (v) q.set(k, v);
    window.location.hash = `#/events?${q}`;
  };

  return (
    <section aria-labelledby="events-h">
      <h2 id="events-h">Events</h2>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go({});
        }}
      >
        {FILTERS.map(([k, label]) => (
          <label key={k}>
            {label}
            {k === 'level' ? (
              <select
                name={k}
                value={draft[k]}
                onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
              >
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {l || 'any'}
                  </option>
                ))}
              </select>
            ) : (
              <input
                name={k}
                value={draft[k]}
                onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
              />
            )}
          </label>
        ))}
        <button type="submit">Filter</button>
        <button
          type="button"
          onClick={() => {
            setDraft(Object.fromEntries(FILTERS.map(([k]) => [k, ''])));
            window.location.hash = '#/events';
          }}
        >
          Clear
        </button>
      </form>
      {load.state === 'loading' && <p>Loading…</p>}
      {load.state === 'error' && <p className="bad">Error: {load.error}</p>}
      {load.state === 'ok' && (
        <>
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>Time</th>
                <th>Type</th>
                <th>Initiator</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Level</th>
                <th>Trace</th>
              </tr>
            </thead>
            <tbody>
              {load.value.events.map((e) => (
                <tr key={e.id} data-testid="event-row">
                  <td>{e.integrity?.leaf_index}</td>
                  <td>{e.time}</td>
                  <td>
                    {isActionRecord(e) ? (
                      <a href={`#/provenance/${e.id}`} title="Provenance of this action">
                        {e.type}
                      </a>
                    ) : (
                      e.type
                    )}
                  </td>
                  <td>{e.initiator?.id}</td>
                  <td>
                    <code>{e.actor?.id}</code>
                  </td>
                  <td>
                    {e.action ? `${e.action.name} ${e.action.resource ?? ''}` : ''}
                    {e.outcome ? ` → ${e.outcome.status}` : ''}
                  </td>
                  <td>{e.attribution?.level}</td>
                  <td>
                    {e.trace ? (
                      <a href={`#/trace/${e.trace.trace_id}`}>{e.trace.trace_id.slice(0, 8)}…</a>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            {load.value.events.length} event(s) on this page.{' '}
            {cursor && (
              <button type="button" onClick={() => go({ cursor: '' })}>
                First page
              </button>
            )}{' '}
            {load.value.next_cursor && (
              <button type="button" onClick={() => go({ cursor: load.value.next_cursor! })}>
                Next page
              </button>
            )}
          </p>
        </>
      )}
    </section>
  );
}
