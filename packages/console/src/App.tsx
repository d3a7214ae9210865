import { useEffect, useState } from 'react';
import { EventsView } from './EventsView.tsx';
import { TraceView } from './TraceView.tsx';
import { ProvenanceView } from './ProvenanceView.tsx';
import { CoverageView } from './CoverageView.tsx';
import { CoverageRecordsView } from './CoverageRecordsView.tsx';
import { LogView } from './LogView.tsx';

type Route =
  | { view: 'events'; query: string }
  | { view: 'trace'; id: string }
  | { view: 'provenance'; id: string }
  | { view: 'coverage' }
  | { view: 'coverage-records'; query: string }
  | { view: 'log' };

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = h.split('?', 2) as [string?, string?];
  const [view, id] = path.split('/').map(decodeURIComponent);
  if (view === 'trace' && id) return { view: 'trace', id };
  if (view === 'provenance' && id) return { view: 'provenance', id };
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

const NAV: [string, string][] = [
  ['events', 'Events'],
  ['coverage', 'Coverage'],
  ['log', 'Log'],
];

export function App() {
  const route = parseHash(useHash());
  useEffect(() => {
    document.title = `Provenant · ${route.view}`;
  }, [route.view]);
  return (
    <>
      <header>
        <h1>Provenant</h1>
        <nav aria-label="Views">
          {NAV.map(([view, label]) => (
            <a
              key={view}
              href={`#/${view}`}
              aria-current={route.view === view ? 'page' : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {route.view === 'events' && <EventsView key={route.query} query={route.query} />}
        {route.view === 'trace' && <TraceView key={route.id} id={route.id} />}
        {route.view === 'provenance' && <ProvenanceView key={route.id} id={route.id} />}
        {route.view === 'coverage' && <CoverageView />}
        {route.view === 'coverage-records' && (
          <CoverageRecordsView key={route.query} query={route.query} />
        )}
        {route.view === 'log' && <LogView />}
      </main>
    </>
  );
}
