/**
 * An issuer in memory, for tests: it mints the credentials the collector's issuer would (the
 * same claims, RFC 8693 `act` nesting), unsigned, since the SDK reads but never verifies them.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { TokenExchangeError } from '../errors.js';
import type { AgentIdentity, CredentialIssuer } from '../lib/auth.js';

export interface MemoryIssuerOptions {
  /** Milliseconds since the epoch (default `Date.now`). */
  readonly clock?: () => number;
  /** Lifetime when none is asked for, in seconds (default 300, as the collector's). */
  readonly defaultLifetimeSec?: number;
}

export interface InitiatorOptions {
  readonly scope?: readonly string[];
  readonly taskId?: string;
  readonly lifetimeSec?: number;
}

export interface MemoryIssuer extends CredentialIssuer {
  /** A credential for an initiator (a person or workflow), as a sign-in would give one. */
  initiator(subject: string, options?: InitiatorOptions): string;
  /** Every exchange asked for, in order. */
  readonly exchanges: readonly { subject: string; actor: string; scope: readonly string[] }[];
}

type Claims = Record<string, unknown> & {
  sub: string;
  exp: number;
  scope?: string;
  act?: Record<string, unknown>;
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unsigned = (claims: Record<string, unknown>) =>
  `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;

export function memoryIssuer(options: MemoryIssuerOptions = {}): MemoryIssuer {
  const clock = options.clock ?? Date.now;
  const defaultLifetime = options.defaultLifetimeSec ?? 300;
  const exchanges: { subject: string; actor: string; scope: readonly string[] }[] = [];
  const refuse = (oauthError: string, why: string) =>
    new TokenExchangeError(`Token exchange refused: ${why}`, { oauthError, status: 400 });
  return {
    exchanges,
    initiator(subject, o = {}) {
      const now = Math.floor(clock() / 1000);
      return unsigned({
        sub: subject,
        jti: randomUUID(),
        iat: now,
        exp: now + (o.lifetimeSec ?? 3600),
        ...(o.scope ? { scope: o.scope.join(' ') } : {}),
        ...(o.taskId !== undefined ? { task_id: o.taskId } : {}),
      });
    },
    async exchange(
      subjectToken: string,
      actor: AgentIdentity,
      scope?: readonly string[],
      lifetimeSec?: number,
    ) {
      let parent: Claims;
      try {
        parent = decodeJwt(subjectToken) as Claims;
      } catch {
        throw refuse('invalid_request', 'the subject token is not a JWT');
      }
      const now = Math.floor(clock() / 1000);
      if (typeof parent.sub !== 'string' || typeof parent.exp !== 'number' || parent.exp <= now) {
        throw refuse('invalid_grant', 'the subject token has expired or names no subject');
      }
      const held = typeof parent.scope === 'string' ? parent.scope.split(' ').filter(Boolean) : [];
      const asked = scope && scope.length > 0 ? [...scope] : held;
      const wider = asked.filter((s) => !held.includes(s));
      if (wider.length > 0) throw refuse('invalid_scope', `scope ${wider.join(' ')} is not held`);
      exchanges.push({ subject: parent.sub, actor: actor.principal, scope: asked });
      return unsigned({
        sub: parent.sub,
        jti: randomUUID(),
        iat: now,
        exp: Math.min(now + (lifetimeSec ?? defaultLifetime), parent.exp),
        scope: asked.join(' '),
        act: { sub: actor.principal, ...(parent.act ? { act: parent.act } : {}) },
        ...(parent['task_id'] !== undefined ? { task_id: parent['task_id'] } : {}),
      });
    },
  };
}
