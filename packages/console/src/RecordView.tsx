import type { EventRecord } from '@provenant/core';
import { isActionRecord } from '@provenant/core/vocabulary';
import { getJson } from './api.ts';
import { Badge, Time } from './ui/Badge.tsx';
import { useLoad } from './useLoad.ts';
import { alertTarget, levelLabel, recordHref, recordStatus } from './view/trust.ts';

/** One record as stored (`GET /v1/events/{id}`), with its status, attribution and links. */
export function RecordView({ id }: { id: string }) {
  const load = useLoad(() => getJson<EventRecord>(`/v1/events/${encodeURIComponent(id)}`), [id]);
  if (load.state === 'loading') return <p aria-live="polite">Loading…</p>;
  if (load.state === 'error') {
    return (
      <p className="bad" role="alert">
        Error: {load.error}
      </p>
    );
  }
  const r = load.value;
  const status = recordStatus(r);
  const about = r.type === 'security.alert' ? alertTarget(r) : null;
  const aboutType = r.action?.args?.['record_type'];
  return (
    <section aria-labelledby="record-h">
      <h2 id="record-h">
        {r.type} <code>{r.id}</code>
      </h2>
      <p>
        <Time iso={r.time} /> {status && <Badge label={status} testId="record-status" />}{' '}
        <Badge label={levelLabel(r.attribution?.level)} testId="record-level" />{' '}
        {isActionRecord(r) && <a href={`#/provenance/${r.id}`}>Provenance of this action</a>}{' '}
        {r.trace && <a href={`#/trace/${r.trace.trace_id}`}>Its trace</a>}
      </p>
      {about?.recordId && !about.refused && (
        <p>
          About:{' '}
          <a
            href={recordHref(about.recordId, typeof aboutType === 'string' ? aboutType : undefined)}
          >
            {about.recordId}
          </a>
        </p>
      )}
      <pre data-testid="record-json">{JSON.stringify(r, null, 2)}</pre>
    </section>
  );
}
