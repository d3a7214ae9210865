import { afterEach, describe, expect, it, vi } from 'vitest';
import { isProvenantError } from '../src/errors.js';
import { isUuid, uuidv7, uuidv7Time } from '../src/ids/uuidv7.js';

const fixedRandom =
  (...bytes: number[]) =>
  (n: number): Uint8Array => {
    expect(n).toBe(10);
    return Uint8Array.from(bytes);
  };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('uuidv7', () => {
  it('sets the version to 7 and the variant to 10', () => {
    for (let i = 0; i < 100; i++) {
      const id = uuidv7();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(isUuid(id)).toBe(true);
    }
  });

  it('lays out timestamp, counter and random bits as RFC 9562 §5.7 and §6.2 method 1', () => {
    // 0x017f22e279b0 is the timestamp of RFC 9562's own UUIDv7 example.
    const ms = 0x017f22e279b0;
    const random = fixedRandom(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xaa, 0xbb, 0xcc, 0xdd);
    // Seed 0x010203040506: rand_a holds its top 12 bits (0x408), then the variant and the rest.
    expect(uuidv7(ms, random)).toBe('017f22e2-79b0-7408-8304-0506aabbccdd');
    // Same millisecond: the counter goes up by one, the last 32 bits stay random.
    expect(uuidv7(ms, fixedRandom(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4))).toBe(
      '017f22e2-79b0-7408-8304-050701020304',
    );
  });

  it('keeps the top counter bit clear when seeding, leaving room for 2^41 increments', () => {
    const id = uuidv7(0x017f22e279b1, fixedRandom(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0));
    expect(id).toBe('017f22e2-79b1-77ff-bfff-ffff00000000');
  });

  it('orders 10,000 consecutive ids strictly', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('orders ids made within one frozen millisecond', () => {
    uuidv7(1_800_000_000_000);
    vi.spyOn(Date, 'now').mockReturnValue(1_800_000_000_000);
    const ids = Array.from({ length: 1000 }, () => uuidv7());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(ids.every((id) => uuidv7Time(id) === 1_800_000_000_000)).toBe(true);
  });

  it('keeps order when the clock steps backwards, reusing the last timestamp', () => {
    // An explicit time resets the generator's last timestamp, whatever ran before.
    const before = uuidv7(1_900_000_000_500);
    vi.spyOn(Date, 'now').mockReturnValue(1_900_000_000_000);
    const after = uuidv7();
    expect(after > before).toBe(true);
    expect(uuidv7Time(after)).toBe(1_900_000_000_500);
  });

  it('honours an explicit time earlier than the previous id', () => {
    uuidv7(2_000_000_000_000);
    const earlier = uuidv7(1_000_000_000_000);
    expect(uuidv7Time(earlier)).toBe(1_000_000_000_000);
  });

  it.each([-1, 1.5, 2 ** 48, Number.NaN])('refuses nowMs %s', (ms) => {
    expect(() => uuidv7(ms)).toThrow(RangeError);
  });

  it('refuses a random source that returns too few bytes', () => {
    expect(() => uuidv7(undefined, () => new Uint8Array(4))).toThrow(RangeError);
  });
});

describe('uuidv7Time', () => {
  it.each([0, 1, 1_764_248_701_123, 2 ** 48 - 1])('extracts the milliseconds %s', (ms) => {
    expect(uuidv7Time(uuidv7(ms))).toBe(ms);
  });

  it('reads uppercase ids', () => {
    expect(uuidv7Time('017F22E2-79B0-7CC3-98C4-DC0C0C07398F')).toBe(0x017f22e279b0);
  });

  it('refuses an id that is not a UUIDv7 with code invalid_id', () => {
    for (const id of ['550e8400-e29b-41d4-a716-446655440000', 'not-a-uuid']) {
      try {
        uuidv7Time(id);
        expect.unreachable();
      } catch (e) {
        expect(isProvenantError(e) && e.code).toBe('invalid_id');
      }
    }
  });
});

describe('isUuid', () => {
  it.each([
    '550e8400-e29b-41d4-a716-446655440000',
    '017F22E2-79B0-7CC3-98C4-DC0C0C07398F',
    'c232ab00-9414-11ec-b3c8-9f6bdeced846',
    '5df41881-3aed-3515-88a7-2f4a814cf09e',
    '320c3d4d-cc00-875b-8ec9-32d5f69181c0',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  ])('accepts %s', (s) => {
    expect(isUuid(s)).toBe(true);
  });

  it.each([
    '550e8400-e29b-01d4-a716-446655440000', // version 0 that is not the Nil UUID
    '550e8400-e29b-91d4-a716-446655440000', // version 9
    '550e8400-e29b-41d4-c716-446655440000', // variant 110
    '550e8400e29b41d4a716446655440000',
    '{550e8400-e29b-41d4-a716-446655440000}',
    '550e8400-e29b-41d4-a716-44665544000g',
    ' 550e8400-e29b-41d4-a716-446655440000',
    '',
  ])('refuses %s', (s) => {
    expect(isUuid(s)).toBe(false);
  });

  it('refuses non-strings', () => {
    expect(isUuid(42)).toBe(false);
    expect(isUuid(null)).toBe(false);
  });
});
