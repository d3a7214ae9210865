/** Argument redaction and digests: redacted values never leave the process, not even hashed. */
import { canonicalize, digestOf } from '@provenant/core';

export const REDACTED = '[redacted]';

/**
 * A copy of `value` with each dotted path (`token`, `headers.authorization`, `0.password` for
 * the first argument) replaced by "[redacted]". Only the objects along a path are copied.
 */
export function redact(value: unknown, paths: readonly string[]): unknown {
  let out = value;
  for (const path of paths) out = redactPath(out, path.split('.'), 0);
  return out;
}

function redactPath(value: unknown, parts: readonly string[], i: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const key = parts[i]!;
  if (!Object.hasOwn(value, key)) return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? [...(value as unknown[])]
    : { ...(value as Record<string, unknown>) };
  const current = (value as Record<string, unknown>)[key];
  (copy as Record<string, unknown>)[key] =
    i === parts.length - 1 ? REDACTED : redactPath(current, parts, i + 1);
  return copy;
}

/** `sha256:` of the canonical JSON of `value`; undefined when it has no JSON form. */
export function safeDigest(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return digestOf(value);
  } catch {
    return undefined;
  }
}

/**
 * The canonical JSON of `value` (what `safeDigest` hashes); undefined when it has no JSON form.
 * Taking it fixes the value's content now (a later change to the object is not recorded), so
 * the hash can wait for the batch.
 */
export function canonicalText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return canonicalize(value);
  } catch {
    return undefined;
  }
}
