/** OAuth 2.0 scopes (RFC 6749 §3.3): space-separated tokens of printable ASCII minus `"` and `\`. */

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const MAX_SCOPE_TOKEN = 256;
export const MAX_SCOPES = 64;

export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SCOPE_TOKEN && SCOPE_TOKEN.test(value);
}

/** The scope tokens of a `scope` claim, first occurrence order, duplicates dropped; or undefined. */
export function parseScopeClaim(value: string): string[] | undefined {
  const out: string[] = [];
  for (const token of value.split(' ')) {
    if (token === '') continue;
    if (!isScopeToken(token)) return undefined;
    if (!out.includes(token)) out.push(token);
    if (out.length > MAX_SCOPES) return undefined;
  }
  return out;
}

/** Validated, de-duplicated scope tokens from a caller's list; undefined when one is invalid. */
export function normalizeScopes(scopes: readonly unknown[]): string[] | undefined {
  const out: string[] = [];
  for (const s of scopes) {
    if (!isScopeToken(s)) return undefined;
    if (!out.includes(s)) out.push(s);
  }
  return out.length > MAX_SCOPES ? undefined : out;
}
