import type { EventRecord } from '@provenant/core';
import { useState } from 'react';
import { PIN_KEY, getJson, pinnedKey } from './api.ts';
import type { PinState } from './api.ts';
import { Badge } from './ui/Badge.tsx';
import { useLoad } from './useLoad.ts';
import { parsePinnedKey, verifyBundle } from './verify.ts';
import type { Bundle, BundleResult, EntryResult } from './verify.ts';
import { actorHops } from './view/hops.ts';
import type { Hop, HopMark, ProvenanceCheck } from './view/hops.ts';
import { browserVerdict } from './view/verdict.ts';
import { levelLabel, outcomeLabel } from './view/trust.ts';

/** `GET /v1/events/{id}/provenance`. */
interface ProvenanceAnswer {
  subject: string;
  ok: boolean;
  /** The collector's search hit its bound: records of the chain may be missing. */
  truncated?: boolean;
  truncated_reason?: string | null;
  narrative: string[];
  checks: ProvenanceCheck[];
  chain: { role: string; id: string; type: string; time: string; leaf_index: number }[];
  evidence: Bundle;
}

interface Loaded {
  answer: ProvenanceAnswer;
  pin: PinState;
  result: BundleResult | null;
  keyError: string | null;
}

const Mark = ({ ok }: { ok: boolean }) =>
  ok ? (
    <span className="ok" aria-label="passed">
      ✓
    </span>
  ) : (
    <span className="bad" aria-label="failed">
      ✗
    </span>
  );

/** Whether this browser proved the mark's record included in the signed log. */
function Included({ entry, pinChanged }: { entry: EntryResult | undefined; pinChanged: boolean }) {
  if (!entry) return null;
  const ok = entry.ok && !pinChanged;
  return (
    <span
      className={`included ${ok ? 'ok' : 'bad'}`}
      data-testid="mark-included"
      title={ok ? `In the signed log (checked in this browser): ${entry.detail}` : entry.detail}
    >
      {ok ? 'in log ✓' : 'not proven ✗'}
    </span>
  );
}

function HopCard({
  hop,
  inBrowser,
  pinChanged,
}: {
  hop: Hop;
  inBrowser: ReadonlyMap<string, EntryResult>;
  pinChanged: boolean;
}) {
  return (
    <li className={`hop hop-${hop.role.replace(' ', '-')}`} data-testid="hop" data-role={hop.role}>
      <span className="hop-role">{hop.role}</span>
      <strong className="hop-name" data-testid="hop-name" title={hop.id}>
        {hop.name}
      </strong>
      {hop.role === 'tool call' ? (
        hop.resource && <code className="hop-id">{hop.resource}</code>
      ) : (
        <code className="hop-id">{hop.id}</code>
      )}
      <ul className="marks" aria-label={`Evidence for ${hop.name}`}>
        {hop.marks.map((m: HopMark, i) => (
          <li
            key={i}
            className={`mark tone-${m.tone}`}
            data-testid="hop-mark"
            data-kind={m.kind}
            data-tone={m.tone}
            title={m.detail}
          >
            <span className="mark-text">{m.text}</span>{' '}
            {m.recordId && <Included entry={inBrowser.get(m.recordId)} pinChanged={pinChanged} />}
            <span className="mark-detail">{m.detail}</span>
          </li>
        ))}
      </ul>
    </li>
  );
}

export function ProvenanceView({ id }: { id: string }) {
  const [nonce, setNonce] = useState(0);
  const load = useLoad(async (): Promise<Loaded> => {
    const [answer, pin] = await Promise.all([
      getJson<ProvenanceAnswer>(`/v1/events/${encodeURIComponent(id)}/provenance`),
      pinnedKey(),
    ]);
    try {
      const vk = await parsePinnedKey(pin.pinned);
      return { answer, pin, result: await verifyBundle(answer.evidence, vk), keyError: null };
    } catch (e) {
      return { answer, pin, result: null, keyError: (e as Error).message };
    }
  }, [id, nonce]);

  if (load.state === 'loading') return <p aria-live="polite">Loading…</p>;
  if (load.state === 'error') {
    return (
      <p className="bad" role="alert">
        Error: {load.error}
      </p>
    );
  }
  const { answer, pin, result, keyError } = load.value;
  const hops = actorHops(answer);
  const inBrowser = new Map(result?.entries.map((e) => [e.id, e]) ?? []);
  const action = answer.evidence.entries.find((e) => e.role === 'action')?.record as
    EventRecord | undefined;
  const level = levelLabel(action?.attribution?.level);
  const outcome = outcomeLabel(action?.outcome?.status);
  const verdict = browserVerdict(result, keyError, pin.changed);
  const failed = answer.checks.filter((c) => !c.ok);

  return (
    <section aria-labelledby="prov-h">
      <h2 id="prov-h">
        Who caused{' '}
        <span data-testid="prov-action">
          {action?.action?.name ?? action?.type ?? 'this'}
          {action?.action?.resource ? ` on ${action.action.resource}` : ''}
        </span>
        ?
      </h2>
      <p className="muted">
        Record <code data-testid="prov-subject">{answer.subject}</code>
        {action?.time ? ` at ${action.time}` : ''}
        {action?.trace ? (
          <>
            {' · '}
            <a href={`#/trace/${action.trace.trace_id}`}>its trace</a>
          </>
        ) : null}
        {' · '}
        <a href={`#/record/${answer.subject}`}>the record</a>
      </p>
      {pin.changed && (
        <div className="warn" role="alert">
          The collector now serves verifier key <code>{pin.served}</code>, which is not the pinned
          key <code>{pin.pinned}</code>. Proofs are checked against the pinned key.{' '}
          <button
            type="button"
            onClick={() => {
              localStorage.setItem(PIN_KEY, pin.served);
              setNonce(nonce + 1);
            }}
          >
            Trust the new key
          </button>
        </div>
      )}
      <div className="verdicts">
        <div className={`verdict tone-${outcome.tone}`} data-testid="prov-outcome">
          <h3>Outcome</h3>
          <Badge label={outcome} testId="prov-outcome-badge" /> <span>{outcome.explain}</span>
        </div>
        <div className={`verdict tone-${level.tone}`} data-testid="attribution-verdict">
          <h3>Attribution</h3>
          <Badge label={level} testId="prov-level" /> <span>{level.explain}</span>
        </div>
        <div className={`verdict tone-${answer.ok ? 'ok' : 'bad'}`} data-testid="server-verdict">
          <h3>Collector&apos;s checks</h3>
          <p data-testid="server-checks">
            <Mark ok={answer.ok} />{' '}
            {answer.ok
              ? `all ${answer.checks.length} passed`
              : `${failed.length} of ${answer.checks.length} failed: ${failed.map((c) => c.id).join(', ')}`}
          </p>
        </div>
        <div className={`verdict tone-${verdict.ok ? 'ok' : 'bad'}`}>
          <h3>Checked in this browser</h3>
          <p data-testid="browser-verdict">
            <Mark ok={verdict.ok} /> {verdict.text}
          </p>
          <p className="muted small">
            Signatures and inclusion only: that these records are in the signed log unchanged. Who
            sent them is the attribution above.
          </p>
        </div>
      </div>
      {answer.truncated && (
        <p className="bad" data-testid="truncated">
          Incomplete: the collector&apos;s search {answer.truncated_reason ?? 'hit its bound'};
          records of the chain may be missing.
        </p>
      )}
      <h3 id="chain-h">Chain of actors</h3>
      <ol className="hops" aria-labelledby="chain-h" data-testid="hops">
        {hops.map((h, i) => (
          <HopCard key={`${i}-${h.id}`} hop={h} inBrowser={inBrowser} pinChanged={pin.changed} />
        ))}
      </ol>
      <h3>Narrative</h3>
      <ol data-testid="narrative">
        {answer.narrative.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ol>
      <h3>Checks</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Collector</th>
            <th scope="col">This browser</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {answer.checks.map((c) => {
            const included = c.id.startsWith('included:')
              ? inBrowser.get(c.id.slice('included:'.length))
              : undefined;
            return (
              <tr key={c.id} data-testid="check-row" className={c.ok ? undefined : 'row-bad'}>
                <td>
                  <code>{c.id}</code>
                </td>
                <td>
                  <Mark ok={c.ok} />
                </td>
                <td data-testid={included ? 'browser-inclusion' : undefined}>
                  {included ? <Mark ok={included.ok && !pin.changed} /> : '—'}
                </td>
                <td>
                  {c.detail}
                  {included && !included.ok ? ` — in browser: ${included.detail}` : ''}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted">
        Pinned verifier key: <code>{pin.pinned}</code>
      </p>
    </section>
  );
}
