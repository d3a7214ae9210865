import { useState } from 'react';
import type { FormEvent } from 'react';
import { getText, pinnedKey } from './api.ts';
import { useLoad } from './useLoad.ts';
import { openLogCheckpoint } from '@provenant/core/verify';
import { parsePinnedKey } from './verify.ts';
import {
  checkCosignature,
  parseWitnessKey,
  pinnedWitnessKeys,
  savePinnedWitnessKeys,
} from './witness.ts';

export function LogView() {
  const load = useLoad(async () => {
    const [note, pin] = await Promise.all([getText('/v1/log/checkpoint'), pinnedKey()]);
    let verified: string | null = null;
    let size: number | null = null;
    try {
      const cp = await openLogCheckpoint(note, await parsePinnedKey(pin.pinned));
      size = cp.size;
    } catch (e) {
      verified = (e as Error).message;
    }
    return { note, pin, size, verified };
  }, []);
  if (load.state === 'loading') return <p>Loading…</p>;
  if (load.state === 'error') return <p className="bad">Error: {load.error}</p>;
  const { note, pin, size, verified } = load.value;
  return (
    <section aria-labelledby="log-h">
      <h2 id="log-h">Log</h2>
      <p data-testid="log-size">
        Tree size: <strong>{size ?? note.split('\n')[1]}</strong>{' '}
        {verified === null ? (
          <span className="ok">✓ checkpoint signature verified in this browser</span>
        ) : (
          <span className="bad">✗ {verified}</span>
        )}
      </p>
      <h3>Signed checkpoint</h3>
      <pre data-testid="checkpoint">{note}</pre>
      <h3>Verifier key</h3>
      <p>
        Served: <code data-testid="verifier-key">{pin.served}</code>
      </p>
      <p>
        Pinned in this browser: <code>{pin.pinned}</code>{' '}
        {pin.changed ? <span className="bad">✗ differs</span> : <span className="ok">✓ same</span>}
      </p>
      <Witnesses note={note} />
    </section>
  );
}

const timeText = (t: number) => new Date(t * 1000).toISOString();

/** Witness keys pinned in this browser and the checkpoint's cosignatures checked against them. */
function Witnesses({ note }: { note: string }) {
  const [keys, setKeys] = useState<string[]>(pinnedWitnessKeys);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const update = (next: string[]) => {
    savePinnedWitnessKeys(next);
    setKeys(next);
  };
  const results = useLoad(
    () =>
      Promise.all(
        keys.map(async (k) => {
          try {
            return await checkCosignature(note, await parseWitnessKey(k));
          } catch (e) {
            return {
              name: k.split('+')[0]!,
              key: k,
              ok: false,
              detail: (e as Error).message,
              time: null,
            };
          }
        }),
      ),
    [note, keys.join('\n')],
  );
  const add = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const w = await parseWitnessKey(draft);
      if (!keys.includes(w.text)) update([...keys, w.text]);
      setDraft('');
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <>
      <h3>Witnesses</h3>
      <form onSubmit={(e) => void add(e)}>
        <label>
          Witness verifier key{' '}
          <input
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="name+1234abcd+BA…"
            size={60}
          />
        </label>{' '}
        <button type="submit">Pin witness</button>
      </form>
      {error && (
        <p className="bad" role="alert" data-testid="witness-error">
          ✗ {error}
        </p>
      )}
      {keys.length === 0 ? (
        <p>No witness keys pinned in this browser.</p>
      ) : results.state !== 'ok' ? (
        <p>Checking cosignatures…</p>
      ) : (
        <>
          <p data-testid="witness-summary">
            {results.value.filter((r) => r.ok).length} of {keys.length} witnesses cosigned
          </p>
          <ul>
            {results.value.map((r) => (
              <li key={r.key} data-testid="witness-row">
                <span className={r.ok ? 'ok' : 'bad'} data-testid="witness-verdict">
                  {r.ok ? '✓' : '✗'} {r.name}: {r.detail}
                  {r.time !== null && (
                    <>
                      {' '}
                      at <time data-testid="witness-time">{timeText(r.time)}</time>
                    </>
                  )}
                </span>{' '}
                <code>{r.key}</code>{' '}
                <button
                  type="button"
                  aria-label={`Remove witness ${r.name}`}
                  onClick={() => update(keys.filter((k) => k !== r.key))}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
