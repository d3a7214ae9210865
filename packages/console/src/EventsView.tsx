import {
  ACTION_RECORD_TYPES,
  ATTRIBUTION_LEVELS,
  OUTCOME_STATUSES,
  WITNESS_RECORD_TYPES,
  isActionRecord,
  shortName,
} from '@provenant/core/vocabulary';
import type { EventRecord } from '@provenant/core';
import { useEffect, useState } from 'react';
import { getJson } from './api.ts';
import { Badge, Time } from './ui/Badge.tsx';
import { Pager } from './ui/Pager.tsx';
import { useLoad } from './useLoad.ts';
import {
  FILTER_KEYS,
  RANGES,
  apiQuery,
  localToRfc3339,
  pageSummary,
  parseSearch,
  rangeFrom,
  rfc3339ToLocal,
  searchQuery,
  turnPage,
  withTerms,
} from './view/search.ts';
import type { FilterKey, Order, SearchState, Total } from './view/search.ts';
import { levelLabel, recordStatus } from './view/trust.ts';

/** One page of `GET /v1/events`. */
export interface EventsPage {
  events: EventRecord[];
  next_cursor: string | null;
  prev_cursor?: string | null;
  total?: Total;
}

/** The filters shown as removable chips when a link or the URL sets them. */
const CHIP_LABELS: Readonly<Record<FilterKey, string>> = {
  outcome: 'outcome',
  level: 'level',
  type: 'type',
  action: 'action',
  resource: 'resource',
  initiator: 'initiator',
  actor: 'actor',
  trace_id: 'trace',
  task_id: 'task',
};
/** The types the Type field suggests: actions, the witnesses' records, a session's records. */
const RECORD_TYPES = [
  ...ACTION_RECORD_TYPES,
  'prompt.received',
  'agent.invoked',
  ...WITNESS_RECORD_TYPES,
];
/** Filters with a field of their own in the form; the others show as chips. */
const FORM_FILTERS: ReadonlySet<FilterKey> = new Set(['outcome', 'level', 'type']);

const go = (s: SearchState, view = 'events') => {
  const q = searchQuery(s);
  window.location.hash = `#/${view}${q ? `?${q}` : ''}`;
};

interface Draft {
  q: string;
  range: string;
  from: string;
  to: string;
  outcome: string;
  level: string;
  type: string;
  order: Order;
}

const draftOf = (s: SearchState): Draft => ({
  q: s.q,
  range: s.from || s.to ? 'custom' : '',
  from: rfc3339ToLocal(s.from),
  to: rfc3339ToLocal(s.to),
  outcome: s.filters.outcome ?? '',
  level: s.filters.level ?? '',
  type: s.filters.type ?? '',
  order: s.order,
});

/** The analyst's search: one box, a time range, outcome / level / type, newest first. */
export function EventsView({ query }: { query: string }) {
  const state = parseSearch(query);
  const [draft, setDraft] = useState<Draft>(() => draftOf(state));
  const [formError, setFormError] = useState<string | null>(null);
  // Back, forward and links change the URL: the form follows it.
  useEffect(() => {
    setDraft(draftOf(parseSearch(query)));
    setFormError(null);
  }, [query]);
  const load = useLoad(() => getJson<EventsPage>(`/v1/events?${apiQuery(state)}`), [query]);

  const set = (k: keyof Draft, v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const submit = () => {
    let from = '';
    let to = '';
    if (draft.range === 'custom') {
      from = draft.from ? (localToRfc3339(draft.from) ?? '') : '';
      to = draft.to ? (localToRfc3339(draft.to) ?? '') : '';
      if ((draft.from && !from) || (draft.to && !to)) {
        setFormError('The time range needs dates such as 2026-12-04T10:30 (UTC).');
        return;
      }
      if (from && to && Date.parse(from) >= Date.parse(to)) {
        setFormError('"From" must be before "To".');
        return;
      }
    } else if (draft.range) {
      from = rangeFrom(draft.range, Date.now()) ?? '';
    }
    const filters = { ...state.filters };
    for (const k of ['outcome', 'level', 'type'] as const) {
      if (draft[k]) filters[k] = draft[k];
      else delete filters[k];
    }
    setFormError(null);
    go(withTerms(state, { q: draft.q.trim(), from, to, filters, order: draft.order }));
  };

  const chips = FILTER_KEYS.filter((k) => !FORM_FILTERS.has(k) && state.filters[k]);

  return (
    <section aria-labelledby="events-h">
      <h2 id="events-h">Events</h2>
      <form
        className="search"
        role="search"
        aria-label="Search the records"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <div className="search-row">
          <label className="grow">
            Search
            <input
              type="search"
              name="q"
              value={draft.q}
              onChange={(e) => set('q', e.target.value)}
              placeholder="resource, action, actor, initiator, record id or trace id"
              aria-describedby="q-help"
              data-testid="search-box"
            />
          </label>
          <label>
            Time
            <select
              name="range"
              value={draft.range}
              onChange={(e) => {
                const range = e.target.value;
                const from = rangeFrom(range, Date.now());
                setDraft((d) => ({
                  ...d,
                  range,
                  ...(from ? { from: rfc3339ToLocal(from), to: '' } : {}),
                }));
              }}
            >
              <option value="">Any time</option>
              {RANGES.map(([k, label]) => (
                <option key={k} value={k}>
                  {label}
                </option>
              ))}
              <option value="custom">Between…</option>
            </select>
          </label>
          {draft.range === 'custom' && (
            <>
              <label>
                From (UTC)
                <input
                  type="datetime-local"
                  step="1"
                  name="from"
                  value={draft.from}
                  onChange={(e) => set('from', e.target.value)}
                />
              </label>
              <label>
                To (UTC)
                <input
                  type="datetime-local"
                  step="1"
                  name="to"
                  value={draft.to}
                  onChange={(e) => set('to', e.target.value)}
                />
              </label>
            </>
          )}
          <button type="submit">Search</button>
        </div>
        <div className="search-row">
          <label>
            Outcome
            <select
              name="outcome"
              value={draft.outcome}
              onChange={(e) => set('outcome', e.target.value)}
            >
              <option value="">any</option>
              {OUTCOME_STATUSES.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label>
            Level
            <select name="level" value={draft.level} onChange={(e) => set('level', e.target.value)}>
              <option value="">any</option>
              {ATTRIBUTION_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label>
            Type
            <input
              name="type"
              value={draft.type}
              onChange={(e) => set('type', e.target.value)}
              list="record-types"
              size={16}
            />
          </label>
          <datalist id="record-types">
            {RECORD_TYPES.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
          <label>
            Order
            <select
              name="order"
              value={draft.order}
              onChange={(e) => set('order', e.target.value as Order)}
            >
              <option value="desc">newest first</option>
              <option value="asc">oldest first</option>
            </select>
          </label>
          <button type="button" onClick={() => go(parseSearch(''))}>
            Clear
          </button>
        </div>
        <p id="q-help" className="muted small">
          One box for a resource prefix (<code>repo:acme/</code>), an action (<code>github.*</code>
          ), an actor or initiator id, a record id or a trace id. Times are UTC.
        </p>
        {formError && (
          <p className="bad" role="alert">
            {formError}
          </p>
        )}
      </form>
      {chips.length > 0 && (
        <ul className="chips" aria-label="Other filters">
          {chips.map((k) => (
            <li key={k}>
              {CHIP_LABELS[k]}: <code>{state.filters[k]}</code>{' '}
              <button
                type="button"
                aria-label={`Remove the ${CHIP_LABELS[k]} filter`}
                onClick={() => {
                  const filters = { ...state.filters };
                  delete filters[k];
                  go(withTerms(state, { filters }));
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {load.state === 'loading' && <p aria-live="polite">Loading…</p>}
      {load.state === 'error' && (
        <p className="bad" role="alert">
          Error: {load.error}
        </p>
      )}
      {load.state === 'ok' && (
        <Results
          page={load.value}
          state={state}
          turn={(cursor, step) => go(turnPage(state, cursor, step))}
        />
      )}
    </section>
  );
}

function EventsPager({
  page,
  state,
  turn,
}: {
  page: EventsPage;
  state: SearchState;
  turn: (cursor: string, step: 1 | -1) => void;
}) {
  const desc = state.order === 'desc';
  const prev = page.prev_cursor ?? null;
  const next = page.next_cursor;
  return (
    <Pager
      fallback="events-summary"
      buttons={[
        {
          key: 'first',
          label: desc ? 'Newest' : 'Oldest',
          go: state.cursor ? () => go({ ...state, cursor: '', page: 1 }) : null,
        },
        {
          key: 'prev',
          label: desc ? '← Newer' : '← Older',
          go: prev ? () => turn(prev, -1) : null,
        },
        { key: 'next', label: desc ? 'Older →' : 'Newer →', go: next ? () => turn(next, 1) : null },
      ]}
    />
  );
}

function Results({
  page,
  state,
  turn,
}: {
  page: EventsPage;
  state: SearchState;
  turn: (cursor: string, step: 1 | -1) => void;
}) {
  return (
    <>
      <div className="results-head">
        <p id="events-summary" data-testid="events-summary" aria-live="polite" tabIndex={-1}>
          {pageSummary(state.page, state.limit, page.events.length, page.total)}{' '}
          <span className="muted">
            {state.order === 'desc' ? 'Newest first' : 'Oldest first'}
            {state.from || state.to
              ? ` · ${state.from || 'the beginning'} – ${state.to || 'now'}`
              : ''}
          </span>
        </p>
        <EventsPager page={page} state={state} turn={turn} />
      </div>
      <table className="events">
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Action or record</th>
            <th scope="col">Status</th>
            <th scope="col">Initiator → actor</th>
            <th scope="col">Attribution</th>
            <th scope="col">Trace</th>
          </tr>
        </thead>
        <tbody>
          {page.events.map((e) => (
            <Row key={e.id} e={e} />
          ))}
        </tbody>
      </table>
      {page.events.length > 10 && <EventsPager page={page} state={state} turn={turn} />}
    </>
  );
}

function Row({ e }: { e: EventRecord }) {
  const status = recordStatus(e);
  const level = levelLabel(e.attribution?.level);
  const action = isActionRecord(e);
  return (
    <tr
      data-testid="event-row"
      data-id={e.id}
      data-type={e.type}
      data-outcome={e.outcome?.status ?? ''}
      className={status ? `row-${status.tone}` : undefined}
    >
      <td>
        <a href={`#/record/${e.id}`} title={`Record ${e.id}`}>
          <Time iso={e.time} />
        </a>
      </td>
      <td>
        {action ? (
          <a
            href={`#/provenance/${e.id}`}
            data-testid="provenance-link"
            aria-label={`Provenance of ${e.action?.name ?? e.type}${e.action?.resource ? ` on ${e.action.resource}` : ''}`}
          >
            {e.action?.name ?? e.type}
          </a>
        ) : (
          <span className="muted">{e.type}</span>
        )}
        {e.action?.resource && (
          <>
            {' '}
            <code className="resource">{e.action.resource}</code>
          </>
        )}
      </td>
      <td>
        {status ? <Badge label={status} testId="status" /> : <span className="muted">—</span>}
      </td>
      <td>
        <Who id={e.initiator?.id} param="initiator" />
        {' → '}
        <Who id={e.actor?.id} param="actor" />
      </td>
      <td>
        <Badge label={level} testId="level" />
      </td>
      <td>
        {e.trace ? (
          <a href={`#/trace/${e.trace.trace_id}`} title={`Trace ${e.trace.trace_id}`}>
            {e.trace.trace_id.slice(0, 8)}…
          </a>
        ) : null}
      </td>
    </tr>
  );
}

/** A principal's short name, linked to every record that names it in that place. */
function Who({ id, param }: { id: string | undefined; param: 'initiator' | 'actor' }) {
  if (id === undefined) return <span className="muted">—</span>;
  const q = new URLSearchParams({ [param]: id });
  return (
    <a href={`#/events?${q}`} className="who" title={`Every record with ${param} ${id}`}>
      {shortName(id)}
    </a>
  );
}
