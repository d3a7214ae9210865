import { useEffect, useState } from 'react';
import { EventsView } from './EventsView.tsx';
import { TraceView } from './TraceView.tsx';
import { ProvenanceView } from './ProvenanceView.tsx';
import { CoverageView } from './CoverageView.tsx';
import { CoverageRecordsView } from './CoverageRecordsView.tsx';
import { LogView } from './LogView.tsx';
import { AlertsView } from './AlertsView.tsx';
import { RecordView } from './RecordView.tsx';
import { SessionBar, SignIn, holds, useSession } from './Session.tsx';

type Route =
  | { view: 'events'; query: string }
  | { view: 'trace'; id: string }
  | { view: 'provenance'; id: string }
  | { view: 'record'; id: string }
  | { view: 'alerts'; query: string }
  | { view: 'coverage' }
  | { view: 'coverage-records'; query: string }
  | { view: 'log' };

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = h.split('?', 2) as [string?, string?];
  const [view, id] = path.split('/').map(decodeURIComponent);
  if (view === 'trace' && id) return { view: 'trace', id };
  if (view === 'provenance' && id) return { view: 'provenance', id };
  if (view === 'record' && id) return { view: 'record', id };
  if (view === 'alerts') return { view: 'alerts', query };
  if (view === 'coverage' && id === 'records') return { view: 'coverage-records', query };
  if (view === 'coverage') return { view: 'coverage' };
  if (view === 'log') return { view: 'log' };
  return { view: 'events', query };
}

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** The views, and the role each needs (the log's checkpoint and key are public). */
const NAV: [string, string, string | null][] = [
  ['events', 'Events', 'analyst'],
  ['alerts', 'Alerts', 'analyst'],
  ['coverage', 'Coverage', 'analyst'],
  ['log', 'Log', null],
];

/** The skip link moves focus to the content without changing the hash (the route). */
function skipToMain(e: { preventDefault: () => void }) {
  e.preventDefault();
  const main = document.getElementById('main');
  main?.focus();
}

export function App() {
  const route = parseHash(useHash());
  const [session, reload] = useSession();
  useEffect(() => {
    document.title = `Provenant · ${route.view}`;
  }, [route.view]);
  if (session === null) return <p>Loading…</p>;
  // Every view but the log reads records: without the analyst role, sign in first.
  const mayRead = holds(session, 'analyst');
  return (
    <>
      <a className="skip" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header>
        <h1>Provenant</h1>
        <nav aria-label="Views">
          {NAV.filter(([, , role]) => role === null || holds(session, role)).map(
            ([view, label]) => (
              <a
                key={view}
                href={`#/${view}`}
                aria-current={
                  route.view === view || (view === 'events' && route.view === 'provenance')
                    ? 'page'
                    : undefined
                }
              >
                {label}
              </a>
            ),
          )}
        </nav>
        <SessionBar session={session} changed={reload} />
      </header>
      <main id="main" tabIndex={-1}>
        {!mayRead && route.view !== 'log' && <SignIn session={session} changed={reload} />}
        {mayRead && route.view === 'events' && <EventsView query={route.query} />}
        {mayRead && route.view === 'alerts' && <AlertsView query={route.query} />}
        {mayRead && route.view === 'record' && <RecordView key={route.id} id={route.id} />}
        {mayRead && route.view === 'trace' && <TraceView key={route.id} id={route.id} />}
        {mayRead && route.view === 'provenance' && <ProvenanceView key={route.id} id={route.id} />}
        {mayRead && route.view === 'coverage' && <CoverageView />}
        {mayRead && route.view === 'coverage-records' && (
          <CoverageRecordsView key={route.query} query={route.query} />
        )}
        {route.view === 'log' && <LogView />}
      </main>
    </>
  );
}
