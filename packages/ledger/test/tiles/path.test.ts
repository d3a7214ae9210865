import { describe, expect, it } from 'vitest';
import { TileError, entriesPath, parseTilePath, tilePath } from '../../src/tiles/path.js';

describe('tile paths', () => {
  it.each([
    [0, '000'],
    [7, '007'],
    [999, '999'],
    [1000, 'x001/000'],
    [1234, 'x001/234'],
    [1234067, 'x001/x234/067'],
    [1_000_000, 'x001/x000/000'],
    [Number.MAX_SAFE_INTEGER, 'x009/x007/x199/x254/x740/991'],
  ])('encodes index %i as %s', (index, encoded) => {
    expect(tilePath(0, index)).toBe(`tile/0/${encoded}`);
    expect(tilePath(63, index, 255)).toBe(`tile/63/${encoded}.p/255`);
    expect(entriesPath(index)).toBe(`tile/entries/${encoded}`);
    expect(entriesPath(index, 1)).toBe(`tile/entries/${encoded}.p/1`);
  });

  it('follows the tlog-tiles examples', () => {
    expect(tilePath(2, 1234067)).toBe('tile/2/x001/x234/067');
    expect(tilePath(0, 273, 112)).toBe('tile/0/273.p/112');
    expect(tilePath(1, 1, 17)).toBe('tile/1/001.p/17');
  });

  it('parses what it formats', () => {
    const indices = [
      0,
      1,
      255,
      256,
      999,
      1000,
      65535,
      1234067,
      2 ** 32 + 5,
      2 ** 40,
      Number.MAX_SAFE_INTEGER,
    ];
    for (const index of indices) {
      for (const level of [0, 1, 9, 10, 63]) {
        expect(parseTilePath(tilePath(level, index))).toEqual({ kind: 'hash', level, index });
        expect(parseTilePath(tilePath(level, index, 42))).toEqual({
          kind: 'hash',
          level,
          index,
          width: 42,
        });
      }
      expect(parseTilePath(entriesPath(index))).toEqual({ kind: 'entries', index });
      expect(parseTilePath(entriesPath(index, 255))).toEqual({
        kind: 'entries',
        index,
        width: 255,
      });
    }
  });

  it.each([
    '',
    'tile/0/',
    'tile/0/1',
    'tile/0/01',
    'tile/0/0000',
    'tile/00/000',
    'tile/01/000',
    'tile/64/000',
    'tile/-1/000',
    'tile/0/x000/001',
    'tile/0/001/002',
    'tile/0/x001',
    'tile/0/x1/234',
    'tile/0/X001/234',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/0/000.p/010',
    'tile/0/000.p/',
    'tile/0/000.p',
    'tile/0/000/',
    '/tile/0/000',
    'tile/entry/000',
    'tile/entries/x000/000',
    'tile/entries/000.p/300',
    'tile/0/x009/x007/x199/x254/x740/992',
    'tile/0/x001/x000/x000/x000/x000/x000/000',
    'tile/0/000?x=1',
  ])('rejects the non-canonical path %j', (path) => {
    expect(() => parseTilePath(path)).toThrow(TileError);
    expect(() => parseTilePath(path)).toThrow(
      expect.objectContaining({ code: 'invalid_tile_path' }),
    );
  });

  it('refuses to format impossible tiles', () => {
    expect(() => tilePath(64, 0)).toThrow(RangeError);
    expect(() => tilePath(-1, 0)).toThrow(RangeError);
    expect(() => tilePath(0, -1)).toThrow(RangeError);
    expect(() => tilePath(0, 1.5)).toThrow(RangeError);
    expect(() => tilePath(0, 2 ** 53)).toThrow(RangeError);
    expect(() => tilePath(0, 0, 0)).toThrow(RangeError);
    expect(() => tilePath(0, 0, 256)).toThrow(RangeError);
    expect(() => entriesPath(0, 1.5)).toThrow(RangeError);
  });
});
