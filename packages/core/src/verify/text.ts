// Character rules shared by notes, key names and checkpoints.

/** ASCII control characters other than newline (forbidden anywhere in a note). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f]/;

/** A UTF-16 surrogate without its pair: such a string has no UTF-8 encoding. */
export const LONE_SURROGATE =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// eslint-disable-next-line no-control-regex -- key names must not contain control characters
const NAME_FORBIDDEN = /[\p{White_Space}+\u0000-\u001f]/u;

/**
 * C2SP signed-note key name: non-empty, no Unicode space, no `+`. Control characters are refused
 * too, since no note may contain them.
 */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !NAME_FORBIDDEN.test(name) &&
    !LONE_SURROGATE.test(name)
  );
}
