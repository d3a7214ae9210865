/**
 * UUIDs: RFC 9562 version 7 generation (time-ordered, so ids sort by creation time and index
 * well), recognition of any UUID, and time extraction.
 */
import { randomFillSync } from 'node:crypto';
import { ProvenantError } from '../errors.js';
export { UUID_PATTERN, isUuid } from './uuid-pattern.js';

const UUIDV7_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;

const MAX_UNIX_MS = 2 ** 48 - 1;

// RFC 9562 §6.2 method 1 ("fixed bit-length dedicated counter"), with the longest counter the
// RFC allows: 42 bits, the 12 bits of rand_a followed by the top 30 bits of rand_b. Each new
// millisecond reseeds it with 41 random bits (top bit zero, leaving at least 2^41 increments
// before it could overflow); each further id in the same millisecond adds one. The last 32 bits
// of rand_b stay random in every id, so consecutive ids are not guessable from one another.
const COUNTER_LIMIT = 2 ** 42;
const TWO_24 = 2 ** 24;

interface GeneratorState {
  ms: number;
  counter: number;
}

// Shared by every call in this process, which is what makes consecutive ids increase.
const state: GeneratorState = { ms: -1, counter: 0 };

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

function defaultRandom(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}

/**
 * A new UUIDv7 (RFC 9562 §5.7), lowercase.
 *
 * Ids from this process strictly increase, even within one millisecond (see the counter above).
 * When the time is read from the clock (`nowMs` omitted) and the clock steps backwards, the last
 * timestamp is kept so order still holds; if the counter ever overflowed, the timestamp would
 * advance by 1 ms. An explicit `nowMs` earlier than the previous id's is taken as asked — the
 * caller wants an id for that moment (an import of old events, a test) — and starts a new run.
 *
 * @param nowMs Unix time in milliseconds, an integer in [0, 2^48). Defaults to `Date.now()`.
 * @param random Source of random bytes (called with 10); inject a fixed one in tests.
 */
export function uuidv7(nowMs?: number, random: (n: number) => Uint8Array = defaultRandom): string {
  const explicit = nowMs !== undefined;
  const ms = nowMs ?? Date.now();
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_UNIX_MS) {
    throw new RangeError(`uuidv7: nowMs must be an integer in [0, 2^48), got ${ms}`);
  }
  const bytes = random(10);
  if (bytes.length < 10) throw new RangeError('uuidv7: random(10) returned fewer than 10 bytes');

  if (ms > state.ms || (explicit && ms < state.ms)) {
    state.ms = ms;
    // 41 random bits: 1 + 5 bytes, the first masked to its low bit.
    state.counter =
      (bytes[0]! & 0x01) * 2 ** 40 +
      bytes[1]! * 2 ** 32 +
      bytes[2]! * 2 ** 24 +
      bytes[3]! * 2 ** 16 +
      bytes[4]! * 2 ** 8 +
      bytes[5]!;
  } else {
    state.counter += 1;
    if (state.counter >= COUNTER_LIMIT) {
      state.ms += 1;
      state.counter = 0;
    }
  }
  return format(state.ms, state.counter, bytes);
}

function format(ms: number, counter: number, bytes: Uint8Array): string {
  const msHigh = Math.floor(ms / 2 ** 16); // top 32 of the 48 timestamp bits
  const msLow = ms % 2 ** 16;
  const counterHigh = Math.floor(counter / TWO_24); // 18 bits: 12 for rand_a, 6 after the variant
  const counterLow = counter % TWO_24; // 24 bits
  const randA = counterHigh >>> 6; // 12 bits
  return (
    HEX[(msHigh >>> 24) & 0xff]! +
    HEX[(msHigh >>> 16) & 0xff]! +
    HEX[(msHigh >>> 8) & 0xff]! +
    HEX[msHigh & 0xff]! +
    '-' +
    HEX[msLow >>> 8]! +
    HEX[msLow & 0xff]! +
    '-' +
    HEX[0x70 | (randA >>> 8)]! + // version 7
    HEX[randA & 0xff]! +
    '-' +
    HEX[0x80 | (counterHigh & 0x3f)]! + // variant 10
    HEX[counterLow >>> 16]! +
    '-' +
    HEX[(counterLow >>> 8) & 0xff]! +
    HEX[counterLow & 0xff]! +
    HEX[bytes[6]!]! +
    HEX[bytes[7]!]! +
    HEX[bytes[8]!]! +
    HEX[bytes[9]!]!
  );
}

/**
 * The Unix time in milliseconds embedded in a UUIDv7. Throws a `ProvenantError` with code
 * `invalid_id` when `id` is not a UUIDv7.
 */
export function uuidv7Time(id: string): number {
  if (!UUIDV7_PATTERN.test(id)) {
    throw new ProvenantError('invalid_id', `${JSON.stringify(id)} is not a UUIDv7.`);
  }
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
