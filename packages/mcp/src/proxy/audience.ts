/**
 * RFC 8707 / MCP authorization: a credential presented to the proxy must be meant for it. The
 * collector binds a credential to a resource when the client asked for one (`resource=` at its
 * authorization and token endpoints), and its token exchange, which the proxy runs on every
 * credential, also takes credentials bound to any resource it serves: so the proxy itself refuses
 * one bound to another resource (another proxy, another MCP server), before using it.
 *
 * A general Provenant credential (`aud` "provenant", e.g. `provenant dev-login`) is still taken:
 * it names no resource, and its holder could present it to the collector directly anyway.
 */

/** The audience of Provenant credentials that are bound to no resource. */
export const PROVENANT_AUDIENCE = 'provenant';

/**
 * Why `token` is not for `resource` (a sentence for `WWW-Authenticate`), or undefined when it
 * is, or when it cannot be read or names none (then the collector's exchange refuses it, with
 * its reason).
 * Only the payload is read here: the signature is the collector's to check, on this same token.
 */
export function audienceRefusal(token: string, resource: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1]!.length > 16_384) return undefined;
  let aud: unknown;
  try {
    aud = (JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { aud?: unknown })
      .aud;
  } catch {
    return undefined;
  }
  // No audience at all: the collector's verifier refuses that itself.
  if (aud === undefined) return undefined;
  const audiences: unknown[] = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [aud];
  if (audiences.includes(resource) || audiences.includes(PROVENANT_AUDIENCE)) return undefined;
  return `The credential is for another resource (aud), not ${resource}.`;
}
