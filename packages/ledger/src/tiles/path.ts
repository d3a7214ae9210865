import { ProvenantError } from '@provenant/core/errors';

// C2SP tlog-tiles resource paths (relative to the log's URL prefix):
//   tile/<L>/<N>[.p/<W>]        Merkle tree tiles, level L in 0..63
//   tile/entries/<N>[.p/<W>]    entry bundles
// <N> is split into 3-digit zero-padded decimal groups, all but the last prefixed with "x"
// (1234067 → x001/x234/067); a partial tile of width W (1..255) ends in ".p/<W>".

export type TileErrorCode = 'invalid_tile_path';

export class TileError extends ProvenantError {
  declare readonly code: TileErrorCode;

  constructor(code: TileErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** Hashes in a full tile, and entries in a full entry bundle. */
export const TILE_WIDTH = 256;
/** Highest tile level allowed by the spec. */
export const MAX_TILE_LEVEL = 63;

export type ParsedTilePath =
  | { kind: 'hash'; level: number; index: number; width?: number }
  | { kind: 'entries'; index: number; width?: number };

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`A tile index must be a safe non-negative integer, not ${index}.`);
  }
}

function suffix(partialWidth: number | undefined): string {
  if (partialWidth === undefined) return '';
  if (!Number.isInteger(partialWidth) || partialWidth < 1 || partialWidth >= TILE_WIDTH) {
    throw new RangeError(`A partial tile width must be 1..${TILE_WIDTH - 1}, not ${partialWidth}.`);
  }
  return `.p/${partialWidth}`;
}

/** `N` as path elements: `x001/x234/067` for 1234067, `000` for 0. */
function encodeIndex(index: number): string {
  let rest = index;
  let out = String(rest % 1000).padStart(3, '0');
  rest = Math.floor(rest / 1000);
  while (rest > 0) {
    out = `x${String(rest % 1000).padStart(3, '0')}/${out}`;
    rest = Math.floor(rest / 1000);
  }
  return out;
}

/** Path of a Merkle tree tile: `tile/<level>/<N>` or, for a partial tile, `tile/<level>/<N>.p/<W>`. */
export function tilePath(level: number, index: number, partialWidth?: number): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new RangeError(`A tile level must be 0..${MAX_TILE_LEVEL}, not ${level}.`);
  }
  checkIndex(index);
  return `tile/${level}/${encodeIndex(index)}${suffix(partialWidth)}`;
}

/** Path of an entry bundle: `tile/entries/<N>` or `tile/entries/<N>.p/<W>`. */
export function entriesPath(index: number, partialWidth?: number): string {
  checkIndex(index);
  return `tile/entries/${encodeIndex(index)}${suffix(partialWidth)}`;
}

// Only canonical paths: no leading zeros in L or W, no leading "x000" group, at most 6 groups.
const TILE_PATH =
  /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/){0,5})([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * Parses a tile or entry bundle path as produced by `tilePath` / `entriesPath`. Anything else —
 * leading zeros, a non-canonical index, a level above 63, a width outside 1..255, a leading
 * slash — is a `TileError` with code `invalid_tile_path`.
 */
export function parseTilePath(path: string): ParsedTilePath {
  const fail = (reason: string): never => {
    throw new TileError('invalid_tile_path', `Not a tile path: ${reason}.`, { path, reason });
  };
  const m = typeof path === 'string' ? TILE_PATH.exec(path) : null;
  if (!m) return fail('expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]');
  const [, levelText, groupsText, lastGroup, widthText] = m as unknown as [
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  const groups =
    groupsText === ''
      ? []
      : groupsText
          .slice(0, -1)
          .split('/')
          .map((g) => g.slice(1));
  if (groups[0] === '000') return fail('the index has a leading zero group');
  let index = 0;
  for (const g of [...groups, lastGroup]) index = index * 1000 + Number(g);
  if (!Number.isSafeInteger(index)) return fail('the index is larger than 2^53 - 1');
  let width: number | undefined;
  if (widthText !== undefined) {
    width = Number(widthText);
    if (width >= TILE_WIDTH) return fail(`the partial width must be 1..${TILE_WIDTH - 1}`);
  }
  if (levelText === 'entries') {
    return width === undefined ? { kind: 'entries', index } : { kind: 'entries', index, width };
  }
  const level = Number(levelText);
  if (level > MAX_TILE_LEVEL) return fail(`the level must be 0..${MAX_TILE_LEVEL}`);
  return width === undefined
    ? { kind: 'hash', level, index }
    : { kind: 'hash', level, index, width };
}
