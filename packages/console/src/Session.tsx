import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';

/** GET /v1/session: who is signed in, with what roles, and the session's CSRF token. */
export interface SessionInfo {
  signed_in: boolean;
  subject: string | null;
  roles: string[];
  via: string;
  csrf_token: string | null;
  dev_login: { roles: string[] } | null;
}

export const SIGNED_OUT: SessionInfo = {
  signed_in: false,
  subject: null,
  roles: [],
  via: 'anonymous',
  csrf_token: null,
  dev_login: null,
};

/** Whether the session may see what `role` may (auditor includes analyst; admin token: all). */
export function holds(session: SessionInfo, role: string): boolean {
  return session.roles.includes(role) || (role === 'analyst' && session.roles.includes('auditor'));
}

/** The current session, and a way to reload it after signing in or out. */
export function useSession(): [SessionInfo | null, () => void] {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    fetch('/v1/session', { headers: { accept: 'application/json' } })
      .then((r) => (r.ok ? (r.json() as Promise<SessionInfo>) : SIGNED_OUT))
      .then(
        (s) => live && setSession(s),
        () => live && setSession(SIGNED_OUT),
      );
    return () => {
      live = false;
    };
  }, [n]);
  return [session, () => setN((x) => x + 1)];
}

async function post(path: string, body: unknown, csrf?: string | null): Promise<Response> {
  return fetch(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(csrf ? { 'x-csrf-token': csrf } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** Who is signed in, and sign-out; for sessions, the way out goes through the CSRF token. */
export function SessionBar({ session, changed }: { session: SessionInfo; changed: () => void }) {
  if (!session.signed_in) {
    return (
      <div className="session" data-testid="session">
        <span>Not signed in</span>
      </div>
    );
  }
  const signOut = async () => {
    const path = session.via === 'oidc' ? '/v1/auth/logout' : '/v1/session/logout';
    const res = await post(path, {}, session.csrf_token);
    // An OpenID sign-out continues at the provider (RP-initiated logout), when it offers one.
    const body = (await res.json().catch(() => null)) as { end_session_url?: string } | null;
    if (res.ok && typeof body?.end_session_url === 'string') {
      window.location.assign(body.end_session_url);
      return;
    }
    changed();
  };
  return (
    <div className="session" data-testid="session">
      <span>
        Signed in as <strong data-testid="session-user">{session.subject}</strong>{' '}
        <span className="muted-on-dark">({session.roles.join(', ') || 'no role'})</span>
      </span>
      {session.via !== 'admin_token' && session.via !== 'credential' && (
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      )}
    </div>
  );
}

/** Sign-in: the identity provider, and the development sign-in where the collector offers it. */
export function SignIn({ session, changed }: { session: SessionInfo; changed: () => void }) {
  const [user, setUser] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await post('/v1/session/dev-login', { user });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      setError(body?.error?.message ?? `${res.status}`);
      return;
    }
    setError(null);
    changed();
  };
  const returnTo = encodeURIComponent(`/${window.location.hash}`);
  return (
    <section className="signin" aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in</h2>
      <p>The records, traces and reports need a role: sign in to see them.</p>
      <p>
        <a href={`/v1/auth/login?return_to=${returnTo}`}>Sign in with your identity provider</a>
      </p>
      {session.dev_login && (
        <form onSubmit={(e) => void submit(e)}>
          <label>
            User (development sign-in: {session.dev_login.roles.join(', ')})
            <input value={user} onChange={(e) => setUser(e.target.value)} name="user" />
          </label>
          <button type="submit">Sign in (development)</button>
        </form>
      )}
      {error && <p role="alert">{error}</p>}
    </section>
  );
}
