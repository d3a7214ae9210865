import { useEffect, useState } from 'react';

export type Loaded<T> =
  { state: 'loading' } | { state: 'error'; error: string } | { state: 'ok'; value: T };

/** Runs `load` when `deps` change; the latest run wins. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let live = true;
    setResult({ state: 'loading' });
    load().then(
      (value) => live && setResult({ state: 'ok', value }),
      (e: unknown) => live && setResult({ state: 'error', error: (e as Error).message }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return result;
}
