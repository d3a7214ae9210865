/** Recognising a UUID (runtime-neutral: the vocabulary entry and the schema use it). */

/**
 * Any RFC 9562 UUID in its hyphenated 8-4-4-4-12 form, either case: versions 1–8 with the
 * RFC variant (`10xx`), plus the Nil and Max UUIDs. The schema's `id` fields use this too.
 */
export const UUID_PATTERN =
  /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|[fF]{8}-[fF]{4}-[fF]{4}-[fF]{4}-[fF]{12})$/;

/** True when `s` is a UUID as `UUID_PATTERN` defines it. */
export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_PATTERN.test(s);
}
