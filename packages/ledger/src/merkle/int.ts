// Internal integer helpers (not re-exported). Tree sizes and indices are JavaScript numbers up to
// Number.MAX_SAFE_INTEGER (2^53 - 1), so 32-bit bitwise operators (`>>`, `&`, `^`) must not be
// used on them: everything here uses exact floating-point arithmetic instead (division by two of
// an even integer, `% 2`, `Math.floor(x / 2)` are exact below 2^53).

export const isSafeIndex = (x: unknown): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Number of set bits of a safe non-negative integer. */
export function popCount(x: number): number {
  let n = 0;
  while (x > 0) {
    if (x % 2 === 1) {
      n++;
      x = (x - 1) / 2;
    } else {
      x = x / 2;
    }
  }
  return n;
}

/** Number of trailing zero bits of a positive safe integer. */
export function trailingZeros(x: number): number {
  let n = 0;
  while (x % 2 === 0) {
    x = x / 2;
    n++;
  }
  return n;
}
