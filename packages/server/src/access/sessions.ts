/**
 * Console sessions: a random session token in an HttpOnly, SameSite=Strict cookie (Secure over
 * TLS, then named with the `__Host-` prefix), looked up server-side. The store keeps only the
 * token's digest, so reading it never yields a usable cookie. Each session has its own CSRF
 * token, which the console sends as `X-CSRF-Token` on every state-changing request.
 *
 * `startSession` is how any sign-in (dev sign-in, OpenID Connect) opens one: it is the only
 * place a session is created.
 */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '@provenant/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RequestError } from '../errors.js';
import { readCookie, setCookie } from '../signin/cookies.js';
import { knownRoles } from './roles.js';
import type { Role } from './roles.js';

export interface Session {
  /** SHA-256 (hex) of the cookie's token. */
  readonly id: string;
  /** Who signed in, e.g. `user:alice`. */
  readonly subject: string;
  readonly roles: readonly Role[];
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** How they signed in: `dev`, `oidc`, ... (shown by GET /v1/session). */
  readonly via: string;
  /** A name to show (the provider's `name` or `email`), never used for a decision. */
  readonly name?: string;
  readonly csrfToken: string;
}

/** Where sessions live: a port, so a cluster can share them (memory by default). */
export interface SessionStore {
  put(session: Session): Promise<void>;
  get(id: string): Promise<Session | null>;
  delete(id: string): Promise<void>;
}

/** Sessions in this process; the oldest goes when `max` are open. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();
  constructor(private readonly max = 10_000) {}

  async put(session: Session): Promise<void> {
    if (this.sessions.size >= this.max) {
      this.sessions.delete(this.sessions.keys().next().value!);
    }
    this.sessions.set(session.id, session);
  }
  async get(id: string): Promise<Session | null> {
    return this.sessions.get(id) ?? null;
  }
  async delete(id: string): Promise<void> {
    this.sessions.delete(id);
  }
}

/** No session outlives this, whatever its sign-in asked for. */
export const MAX_SESSION_MS = 12 * 60 * 60 * 1000;
export const CSRF_HEADER = 'x-csrf-token';
/** The session cookie over plain HTTP; over TLS it is `__Host-` + this. */
export const SESSION_COOKIE = 'provenant_session';
const SECURE_COOKIE = `__Host-${SESSION_COOKIE}`;

declare module 'fastify' {
  interface FastifyInstance {
    /** The console sessions of this collector (access/sessions.ts). */
    readonly sessionStore: SessionStore;
  }
}

export function installSessionStore(app: FastifyInstance, store: SessionStore): void {
  app.decorate('sessionStore', store);
}

const overTls = (request: FastifyRequest) => request.protocol === 'https';
const cookieName = (request: FastifyRequest) => (overTls(request) ? SECURE_COOKIE : SESSION_COOKIE);

export interface NewSession {
  readonly subject: string;
  readonly roles: readonly Role[];
  /** Epoch milliseconds; capped at `MAX_SESSION_MS` from now. */
  readonly expiresAt: number;
  readonly via: string;
  readonly name?: string;
}

/**
 * Opens a session for a signed-in human and sets its cookie on `reply`. The caller has
 * authenticated them and decided their roles; unknown roles are dropped.
 */
export async function startSession(
  reply: FastifyReply,
  input: NewSession,
  now: number = Date.now(),
): Promise<{ csrfToken: string; expiresAt: number; subject: string; roles: readonly Role[] }> {
  if (
    typeof input.subject !== 'string' ||
    input.subject.length === 0 ||
    input.subject.length > 1024
  )
    throw new RequestError('invalid_parameter', 'A session needs a subject of 1-1024 characters.');
  const expiresAt = Math.min(input.expiresAt, now + MAX_SESSION_MS);
  if (!(expiresAt > now)) throw new RequestError('invalid_parameter', 'The session has expired.');
  const token = randomBytes(32).toString('base64url');
  const session: Session = {
    id: sha256Hex(new TextEncoder().encode(token)),
    subject: input.subject,
    roles: knownRoles(input.roles),
    expiresAt,
    via: input.via,
    ...(input.name === undefined ? {} : { name: input.name.slice(0, 200) }),
    csrfToken: randomBytes(32).toString('base64url'),
  };
  await reply.server.sessionStore.put(session);
  const request = reply.request;
  setCookie(request, reply, cookieName(request), token, {
    path: '/',
    maxAgeSec: Math.floor((expiresAt - now) / 1000),
    sameSite: 'Strict',
  });
  return {
    csrfToken: session.csrfToken,
    expiresAt,
    subject: session.subject,
    roles: session.roles,
  };
}

/** Ends the request's session (if any) and clears its cookie. */
export async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const token = sessionToken(request);
  if (token !== null) await reply.server.sessionStore.delete(digest(token));
  setCookie(request, reply, cookieName(request), '', {
    path: '/',
    maxAgeSec: 0,
    sameSite: 'Strict',
  });
}

/** The live session the request's cookie names, or null (none, unknown, expired). */
export async function sessionOf(request: FastifyRequest, now: number): Promise<Session | null> {
  const token = sessionToken(request);
  if (token === null) return null;
  const session = await request.server.sessionStore.get(digest(token));
  if (!session) return null;
  if (session.expiresAt <= now) {
    await request.server.sessionStore.delete(session.id);
    return null;
  }
  return session;
}

const digest = (token: string) => sha256Hex(new TextEncoder().encode(token));

function sessionToken(request: FastifyRequest): string | null {
  const value = readCookie(request, cookieName(request));
  return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
}
