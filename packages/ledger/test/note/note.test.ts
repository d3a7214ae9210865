import { describe, expect, it } from 'vitest';
import {
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  generateSignerKey,
  isValidKeyName,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  signerKeyFromSeed,
  signerKeyString,
  verifierKeyString,
} from '../../src/note/index.js';
import type { NoteSignerKey } from '../../src/note/index.js';
import { toHex } from '../vectors.js';

const code = (c: string) => expect.objectContaining({ code: c });
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const alice = signerKeyFromSeed('example.com/alice', seed(1));
const aliceV = parseVerifierKey(verifierKeyString(alice));

describe('keys', () => {
  it('generates a key pair whose strings parse back to the same key', () => {
    const { signerKey, verifierKey } = generateSignerKey('provenant.local/log');
    const s = parseSignerKey(signerKey);
    const v = parseVerifierKey(verifierKey);
    expect(s.name).toBe('provenant.local/log');
    expect(v.keyId).toBe(s.keyId);
    expect(toHex(v.publicKey)).toBe(toHex(s.publicKey));
    expect(signerKeyString(s)).toBe(signerKey);
    expect(verifierKey).toMatch(/^provenant\.local\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
  });

  it('generates the same key from the same seed and different keys at random', () => {
    expect(generateSignerKey('a', seed(7))).toEqual(generateSignerKey('a', seed(7)));
    expect(generateSignerKey('a').signerKey).not.toBe(generateSignerKey('a').signerKey);
  });

  it('derives the key ID from the name and public key', () => {
    expect(alice.keyId).toBe(noteKeyId(alice.name, alice.publicKey));
    expect(signerKeyFromSeed('example.com/bob', seed(1)).keyId).not.toBe(alice.keyId);
  });

  it.each([
    ['', 'empty'],
    ['a b', 'a space'],
    ['a\u00a0b', 'a no-break space'],
    ['a\u3000b', 'an ideographic space'],
    ['a+b', 'a plus'],
    ['a\tb', 'a tab'],
    ['a\u0001b', 'a control character'],
    ['a\ud800', 'a lone surrogate'],
  ])('refuses the key name %j (%s)', (name) => {
    expect(isValidKeyName(name)).toBe(false);
    expect(() => generateSignerKey(name, seed(1))).toThrow(code('invalid_key_name'));
  });

  it('accepts URL-like and non-ASCII key names', () => {
    expect(isValidKeyName('example.com/log42')).toBe(true);
    expect(isValidKeyName('café/🌙')).toBe(true);
  });

  it.each([
    ['no key ID', 'name+AXAQ'],
    ['a short key ID', 'Known+451c786+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH'],
    ['a wrong key ID', 'Known+451c786e+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH'],
    ['loose base64', 'Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH\n'],
    ['unpadded base64', 'Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdU'],
  ])('refuses a verifier key with %s', (_why, key) => {
    expect(() => parseVerifierKey(key)).toThrow(code('invalid_verifier_key'));
  });

  it('accepts an upper-case key ID', () => {
    expect(
      parseVerifierKey('Known+451C786D+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH').keyId,
    ).toBe(0x451c786d);
  });

  it('refuses signer keys that are malformed or whose key ID does not match', () => {
    const good = signerKeyString(alice);
    expect(() => parseSignerKey(good.replace('PRIVATE+KEY+', ''))).toThrow(
      code('invalid_signer_key'),
    );
    expect(() => parseSignerKey(verifierKeyString(alice))).toThrow(code('invalid_signer_key'));
    const wrongId = good.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    expect(() => parseSignerKey(wrongId)).toThrow(code('invalid_signer_key'));
    try {
      parseSignerKey(wrongId);
    } catch (e) {
      expect(String((e as Error).message)).not.toContain(good.split('+').pop()); // never echoes the secret
    }
  });
});

describe('signNote and openNote', () => {
  it('signs deterministically and opens what it signs', () => {
    const text = 'hello\n\nworld\n';
    const note = signNote(text, [alice]);
    expect(signNote(text, [alice])).toBe(note);
    expect(openNote(note, [aliceV]).text).toBe(text); // blank lines inside the text are fine
  });

  it.each([
    ['no final newline', 'hello'],
    ['a control character', 'he\u0007llo\n'],
    ['a carriage return', 'hello\r\n'],
    ['a lone surrogate', 'he\udc00llo\n'],
  ])('refuses to sign text with %s', (_why, text) => {
    expect(() => signNote(text, [alice])).toThrow(code('invalid_note_text'));
  });

  it('refuses to sign with a signer whose seed, public key and key ID disagree', () => {
    const bob = signerKeyFromSeed('example.com/bob', seed(2));
    expect(() => signNote('x\n', [{ ...alice, keyId: alice.keyId ^ 1 }])).toThrow(
      code('invalid_signer_key'),
    );
    expect(() => signNote('x\n', [{ ...alice, publicKey: bob.publicKey }])).toThrow(
      code('invalid_signer_key'),
    );
    expect(() => signNote('x\n', [{ ...alice, seed: new Uint8Array(31) }])).toThrow(
      code('invalid_signer_key'),
    );
  });

  it('rejects a signature by a given verifier key that is not a valid Ed25519 key', () => {
    const note = signNote('hello\n', [alice]);
    const broken = { ...aliceV, publicKey: new Uint8Array(32).fill(0xff) };
    expect(() => openNote(note, [broken])).toThrow(code('invalid_signature'));
  });

  it('refuses to sign with no signers', () => {
    expect(() => signNote('x\n', [])).toThrow(code('invalid_signer_key'));
  });

  it('rejects notes that are not valid UTF-8', () => {
    const bytes = new TextEncoder().encode(signNote('hello\n', [alice]));
    const bad = new Uint8Array([...bytes.slice(0, 2), 0xff, ...bytes.slice(2)]);
    expect(() => openNote(bad, [aliceV])).toThrow(code('malformed_note'));
  });

  it.each([
    ['an empty signature', (n: string) => n.replace(/ [A-Za-z0-9+/=]+\n$/, ' \n')],
    [
      'a signature of under 5 bytes',
      (n: string) => n.replace(/ [A-Za-z0-9+/=]+\n$/, ' AAAAAA==\n'),
    ],
    ['non-canonical base64', (n: string) => n.replace(/=\n$/, '\n')],
    ['a missing space', (n: string) => n.replace('— example.com/alice ', '— example.com/alice')],
    ['a hyphen instead of an em dash', (n: string) => n.replace('—', '-')],
    ['trailing text', (n: string) => n + 'x'],
    ['a blank line at the end', (n: string) => n + '\n'],
  ])('rejects a note with %s', (_why, mangle) => {
    expect(() => openNote(mangle(signNote('hello\n', [alice])), [aliceV])).toThrow(
      code('malformed_note'),
    );
  });

  it(`accepts ${MAX_NOTE_SIGNATURES} signatures and rejects more`, () => {
    const others: NoteSignerKey[] = Array.from({ length: MAX_NOTE_SIGNATURES - 1 }, (_, i) =>
      signerKeyFromSeed(`witness${i}`, seed(i + 2)),
    );
    const note = signNote('hello\n', [alice, ...others]);
    const opened = openNote(note, [aliceV]);
    expect(opened.signatures).toHaveLength(MAX_NOTE_SIGNATURES);
    expect(opened.signatures.filter((s) => s.verified)).toHaveLength(1);
    const oneMore = `— witness-extra ${Buffer.alloc(68, 1).toString('base64')}\n`;
    expect(() => openNote(note + oneMore, [aliceV])).toThrow(code('malformed_note'));
    expect(() => signNote('hello\n', [alice, ...others, alice])).toThrow(
      code('invalid_signer_key'),
    );
  });

  it('rejects a note larger than the size limit', () => {
    const big = 'a'.repeat(MAX_NOTE_BYTES) + '\n';
    expect(() => signNote(big, [alice])).toThrow(code('invalid_note_text'));
    expect(() => openNote(`${big}\n— example.com/alice AAAAAAAA\n`, [aliceV])).toThrow(
      code('malformed_note'),
    );
  });

  it('counts a repeated signature by the same key once', () => {
    const note = signNote('hello\n', [alice, alice]);
    expect(openNote(note, [aliceV]).signatures).toHaveLength(1);
  });

  it('refuses to choose between two different verifier keys with the same name and key ID', () => {
    const note = signNote('hello\n', [alice]);
    const impostor = { ...aliceV, publicKey: signerKeyFromSeed('x', seed(9)).publicKey };
    expect(() => openNote(note, [aliceV, impostor])).toThrow(code('ambiguous_verifier'));
    expect(openNote(note, [aliceV, aliceV]).signatures).toHaveLength(1);
  });
});
