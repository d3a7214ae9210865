// Any UTF-16 surrogate code unit: a cheap pre-test, since almost every string has none.
const SURROGATE = /[\ud800-\udfff]/;
// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// Written for code-unit (non-`u`) matching, where a valid pair is two separate units.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * True when `s` holds an unpaired UTF-16 surrogate, which has no UTF-8 encoding and so no
 * canonical form (RFC 8785 §3.2.2.2, I-JSON RFC 7493 §2.1).
 */
export function hasLoneSurrogate(s: string): boolean {
  return SURROGATE.test(s) && LONE_SURROGATE.test(s);
}
