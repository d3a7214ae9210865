import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT } from '../../src/merkle/index.js';
import {
  formatCheckpoint,
  hasSha256RootHash,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  signNote,
  signerKeyFromSeed,
  verifierKeyString,
} from '../../src/note/index.js';
import type { Checkpoint } from '../../src/note/index.js';

const code = (c: string) => expect.objectContaining({ code: c });
const root = new Uint8Array(32).fill(0xab);

describe('checkpoints', () => {
  it('formats the empty tree as size 0 with the SHA-256 of nothing', () => {
    const text = formatCheckpoint({
      origin: 'example.com/log',
      size: 0,
      rootHash: EMPTY_ROOT,
      extensions: [],
    });
    expect(text).toBe('example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
    expect(parseCheckpoint(text).size).toBe(0);
  });

  it('round-trips through a signed note', () => {
    const key = signerKeyFromSeed('example.com/log', new Uint8Array(32).fill(3));
    const c: Checkpoint = {
      origin: 'example.com/log',
      size: 123456,
      rootHash: root,
      extensions: ['ext one'],
    };
    const note = signNote(formatCheckpoint(c), [key]);
    const back = parseCheckpoint(openNote(note, [parseVerifierKey(verifierKeyString(key))]).text);
    expect({ ...back, rootHash: [...back.rootHash] }).toEqual({ ...c, rootHash: [...root] });
    expect(hasSha256RootHash(back)).toBe(true);
  });

  it('accepts sizes up to 2^53 - 1 and no larger', () => {
    const b64 = Buffer.from(root).toString('base64');
    expect(parseCheckpoint(`L\n9007199254740991\n${b64}\n`).size).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseCheckpoint(`L\n9007199254740992\n${b64}\n`)).toThrow(
      code('invalid_checkpoint'),
    );
  });

  it.each([
    ['an empty extension line', 'L\n1\nYmFuYW5hcw==\n\n'],
    ['an empty extension line between others', 'L\n1\nYmFuYW5hcw==\na\n\nb\n'],
    ['a size with a plus sign', 'L\n+1\nYmFuYW5hcw==\n'],
    ['a size with spaces', 'L\n 1\nYmFuYW5hcw==\n'],
    ['a non-ASCII digit', 'L\n١\nYmFuYW5hcw==\n'],
    ['an empty root', 'L\n1\n\n'],
    ['unpadded base64', 'L\n1\nYmFuYW5hcw\n'],
    ['URL-safe base64', 'L\n1\n-_-_\n'],
    ['a carriage return', 'L\r\n1\nYmFuYW5hcw==\n'],
  ])('rejects a body with %s', (_why, body) => {
    expect(() => parseCheckpoint(body)).toThrow(code('invalid_checkpoint'));
  });

  it.each([
    ['an empty origin', { origin: '', size: 1, rootHash: root, extensions: [] }],
    ['a newline in the origin', { origin: 'a\nb', size: 1, rootHash: root, extensions: [] }],
    ['a negative size', { origin: 'L', size: -1, rootHash: root, extensions: [] }],
    ['a fractional size', { origin: 'L', size: 1.5, rootHash: root, extensions: [] }],
    ['an empty root', { origin: 'L', size: 1, rootHash: new Uint8Array(0), extensions: [] }],
    ['an empty extension', { origin: 'L', size: 1, rootHash: root, extensions: [''] }],
    ['a newline in an extension', { origin: 'L', size: 1, rootHash: root, extensions: ['a\n'] }],
  ])('refuses to format a checkpoint with %s', (_why, c) => {
    expect(() => formatCheckpoint(c)).toThrow(code('invalid_checkpoint'));
  });
});
