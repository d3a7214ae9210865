/** Small fetch helpers for the collector's JSON API (same origin). */

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const err = (body as { error?: { message?: string } } | null)?.error?.message;
    throw new Error(err ?? `${res.status} ${res.statusText}`);
  }
  return body as T;
}

export async function getText(path: string): Promise<string> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  return res.text();
}

export const PIN_KEY = 'provenant.console.verifierKey';

export interface PinState {
  pinned: string;
  served: string;
  changed: boolean;
}

/** Fetches the served verifier key; pins it on first use; reports if it ever changes. */
export async function pinnedKey(): Promise<PinState> {
  const served = (await getText('/v1/log/key')).trim();
  let pinned = localStorage.getItem(PIN_KEY);
  if (!pinned) {
    localStorage.setItem(PIN_KEY, served);
    pinned = served;
  }
  return { pinned, served, changed: pinned !== served };
}
