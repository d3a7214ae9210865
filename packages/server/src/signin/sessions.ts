import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '@provenant/core';
import { endSession, sessionOf, startSession } from '../access/sessions.js';

export { SESSION_COOKIE } from '../access/sessions.js';

/** A signed-in human, as the console session and the collector credential carry them. */
export interface SignedInUser {
  /** The principal id, `user:<claim value>`. */
  readonly subject: string;
  readonly roles: readonly Role[];
  /** A name to show (the provider's `name` or `email`), never used for a decision. */
  readonly name?: string;
}

export interface ConsoleSessions {
  start(request: FastifyRequest, reply: FastifyReply, user: SignedInUser): Promise<void>;
  current(request: FastifyRequest): Promise<ConsoleSession | undefined>;
  end(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export interface ConsoleSession extends SignedInUser {
  /** Unix ms. */
  readonly expiresAt: number;
}

/**
 * The sign-in routes' seam onto the collector's one session store (access/sessions.ts): the
 * same cookie, CSRF token and roles as every other console session, opened `via: 'oidc'`.
 */
export class AccessConsoleSessions implements ConsoleSessions {
  constructor(
    private readonly ttlSec: number = 8 * 3600,
    private readonly clock: () => number = Date.now,
  ) {}

  async start(_request: FastifyRequest, reply: FastifyReply, user: SignedInUser): Promise<void> {
    const now = this.clock();
    await startSession(
      reply,
      {
        subject: user.subject,
        roles: user.roles,
        expiresAt: now + this.ttlSec * 1000,
        via: 'oidc',
        ...(user.name === undefined ? {} : { name: user.name }),
      },
      now,
    );
  }

  async current(request: FastifyRequest): Promise<ConsoleSession | undefined> {
    const s = await sessionOf(request, this.clock());
    if (s === null) return undefined;
    return {
      subject: s.subject,
      roles: s.roles,
      expiresAt: s.expiresAt,
      ...(s.name === undefined ? {} : { name: s.name }),
    };
  }

  end(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return endSession(request, reply);
  }
}
