import { getText, pinnedKey } from './api.ts';
import { useLoad } from './useLoad.ts';
import { openCheckpoint, parseVerifierKey } from './verify.ts';

export function LogView() {
  const load = useLoad(async () => {
    const [note, pin] = await Promise.all([getText('/v1/log/checkpoint'), pinnedKey()]);
    let verified: string | null = null;
    let size: number | null = null;
    try {
      const cp = await openCheckpoint(note, await parseVerifierKey(pin.pinned));
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
    </section>
  );
}
