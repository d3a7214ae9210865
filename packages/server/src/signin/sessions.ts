import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '@provenant/core';
import { readCookie, setCookie } from './cookies.js';

/** A signed-in human, as the console session and the collector credential carry them. */
export interface SignedInUser {
  /** The principal id, `user:<claim value>`. */
  readonly subject: string;
  readonly roles: readonly Role[];
  /** A name to show (the provider's `name` or `email`), never used for a decision. */
  readonly name?: string;
}

export interface ConsoleSession extends SignedInUser {
  /** Unix ms. */
  readonly expiresAt: number;
}

/** Starts and ends console sessions: the seam the sign-in routes use. */
export interface ConsoleSessions {
  start(request: FastifyRequest, reply: FastifyReply, user: SignedInUser): Promise<void>;
  current(request: FastifyRequest): ConsoleSession | undefined;
  end(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export const SESSION_COOKIE = 'provenant_session';

/** Console sessions held in this process, by a random id in an HttpOnly, SameSite=Strict cookie. */
export class MemoryConsoleSessions implements ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly ttlSec: number = 8 * 3600,
    private readonly clock: () => number = Date.now,
  ) {}

  start(request: FastifyRequest, reply: FastifyReply, user: SignedInUser): Promise<void> {
    this.prune();
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { ...user, expiresAt: this.clock() + this.ttlSec * 1000 });
    setCookie(request, reply, SESSION_COOKIE, id, {
      path: '/',
      maxAgeSec: this.ttlSec,
      sameSite: 'Strict',
    });
    return Promise.resolve();
  }

  current(request: FastifyRequest): ConsoleSession | undefined {
    const id = readCookie(request, SESSION_COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.clock()) {
      this.sessions.delete(id!);
      return undefined;
    }
    return session;
  }

  end(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = readCookie(request, SESSION_COOKIE);
    if (id !== undefined) this.sessions.delete(id);
    setCookie(request, reply, SESSION_COOKIE, '', { path: '/', maxAgeSec: 0, sameSite: 'Strict' });
    return Promise.resolve();
  }

  private prune(): void {
    const now = this.clock();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}
