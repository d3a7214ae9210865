import { useEffect, useState } from 'react';

export type Loaded<T> =
  { state: 'loading' } | { state: 'error'; error: string } | { state: 'ok'; value: T };

const LOADING = { state: 'loading' } as const;

/**
 * Runs `load` when `deps` change; the latest run wins. A result is shown only for the deps it
 * was loaded for: in the render right after the deps change (before the effect runs) the
 * answer is `loading`, never the previous deps' value under the new ones.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const key = JSON.stringify(deps);
  const [result, setResult] = useState<{ key: string; loaded: Loaded<T> }>({
    key,
    loaded: LOADING,
  });
  useEffect(() => {
    let live = true;
    setResult({ key, loaded: LOADING });
    load().then(
      (value) => live && setResult({ key, loaded: { state: 'ok', value } }),
      (e: unknown) =>
        live && setResult({ key, loaded: { state: 'error', error: (e as Error).message } }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return result.key === key ? result.loaded : LOADING;
}
