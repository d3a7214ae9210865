import { useState } from 'react';
import { PIN_KEY, getJson, pinnedKey } from './api.ts';
import type { PinState } from './api.ts';
import { useLoad } from './useLoad.ts';
import { parsePinnedKey, verifyBundle } from './verify.ts';
import type { Bundle, BundleResult } from './verify.ts';

interface Check {
  id: string;
  ok: boolean;
  detail: string;
}

interface ProvenanceAnswer {
  subject: string;
  ok: boolean;
  /** The collector's search hit its bound: records of the chain may be missing. */
  truncated?: boolean;
  truncated_reason?: string | null;
  narrative: string[];
  checks: Check[];
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

/** Who a record names as its actor (or initiator), for the chain graph. */
function whoOf(record: Record<string, unknown> | undefined): string {
  const pick = (k: string) => (record?.[k] as { id?: string } | undefined)?.id;
  const subject = record?.['subject'] as { id?: string } | undefined;
  return pick('actor') ?? subject?.id ?? pick('initiator') ?? '?';
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

  if (load.state === 'loading') return <p>Loading…</p>;
  if (load.state === 'error') return <p className="bad">Error: {load.error}</p>;
  const { answer, pin, result, keyError } = load.value;
  const byId = new Map(answer.evidence.entries.map((e) => [String(e.record['id']), e.record]));
  const browserOk =
    result !== null && result.checkpointOk && result.entries.every((e) => e.ok) && !pin.changed;
  const inBrowser = new Map(result?.entries.map((e) => [e.id, e]) ?? []);
  const first = answer.evidence.entries[0]?.record;
  const human = (first?.['initiator'] as { id?: string } | undefined)?.id;

  return (
    <section aria-labelledby="prov-h">
      <h2 id="prov-h">
        Provenance of <code>{answer.subject}</code>
      </h2>
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
      <p data-testid="browser-verdict">
        <Mark ok={browserOk} />{' '}
        {browserOk
          ? `Every record verified in this browser (WebCrypto) against the pinned key: ${result!.checkpointDetail}.`
          : `Verification in this browser FAILED: ${
              keyError ??
              (pin.changed
                ? 'the served verifier key is not the pinned one'
                : result && !result.checkpointOk
                  ? result.checkpointDetail
                  : `${result?.entries.filter((e) => !e.ok).length ?? 0} of ${result?.entries.length ?? 0} record(s) not proven included in the signed log`)
            }`}
      </p>
      <p>
        Server checks: <Mark ok={answer.ok} /> {answer.ok ? 'all passed' : 'some failed'}
      </p>
      {answer.truncated && (
        <p className="bad" data-testid="truncated">
          Incomplete: the collector's search {answer.truncated_reason ?? 'hit its bound'}; records
          of the chain may be missing.
        </p>
      )}
      <h3>Narrative</h3>
      <ol data-testid="narrative">
        {answer.narrative.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ol>
      <h3>Chain</h3>
      <ol className="chain" aria-label="Chain of responsibility">
        {human && (
          <li>
            <strong>human</strong>
            <br />
            {human}
          </li>
        )}
        {answer.chain.map((c) => {
          const v = inBrowser.get(c.id);
          return [
            <li key={`${c.id}-a`} className="arrow" aria-hidden="true">
              →
            </li>,
            <li key={c.id} data-testid="chain-node">
              <strong>{c.role}</strong> <Mark ok={v?.ok ?? false} />
              <br />
              <code>{whoOf(byId.get(c.id))}</code>
              <br />
              <span className="muted">
                {c.type} · leaf {c.leaf_index}
              </span>
            </li>,
          ];
        })}
      </ol>
      <h3>Checks</h3>
      <table>
        <thead>
          <tr>
            <th>Check</th>
            <th>Server</th>
            <th>Browser</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {answer.checks.map((c) => {
            const included = c.id.startsWith('included:')
              ? inBrowser.get(c.id.slice('included:'.length))
              : undefined;
            return (
              <tr key={c.id} data-testid="check-row">
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
