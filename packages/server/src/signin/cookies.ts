import type { FastifyReply, FastifyRequest } from 'fastify';

/** One cookie's value from the request's Cookie header (the first of that name), or undefined. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  readonly path: string;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAgeSec: number;
  readonly sameSite: 'Strict' | 'Lax';
}

/** Adds a Set-Cookie: always HttpOnly; Secure when the request came over TLS. */
export function setCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  value: string,
  o: CookieOptions,
): void {
  const attrs = [
    `${name}=${value}`,
    `Path=${o.path}`,
    `Max-Age=${o.maxAgeSec}`,
    'HttpOnly',
    `SameSite=${o.sameSite}`,
    ...(request.protocol === 'https' ? ['Secure'] : []),
  ];
  const prior = reply.getHeader('set-cookie');
  const list = prior === undefined ? [] : Array.isArray(prior) ? prior : [String(prior)];
  void reply.header('set-cookie', [...list, attrs.join('; ')]);
}
