import { describe, expect, it } from 'vitest';
import {
  NoteError,
  formatCheckpoint,
  hasSha256RootHash,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  signerKeyString,
  verifierKeyString,
} from '../../src/note/index.js';
import { loadVectors, toHex } from '../vectors.js';

interface NoteVectors {
  valid_notes: { verifier_key: string; signer_key?: string; note: string }[];
  more_signer_keys: { verifier_key: string; signer_key: string }[];
  invalid_verifier_keys: { key: string; why: string }[];
  malformed_notes: { why: string; note: string }[];
  checkpoint_bodies: { valid: string[]; invalid: string[] };
}

const v = loadVectors<NoteVectors>('c2sp-signed-note.json');
const merkle = loadVectors<{ referenceTree: { rootsBySize: Record<string, string> } }>(
  'rfc6962-merkle.json',
);

/** The text part of a signed note: everything up to and including the newline before the blank line. */
const textOf = (note: string): string => note.slice(0, note.lastIndexOf('\n\n') + 1);

const code = (c: string) => expect.objectContaining({ code: c });

describe('C2SP signed-note vectors: counts', () => {
  it('has every vector this suite was written for', () => {
    expect(v.valid_notes).toHaveLength(4);
    expect(v.valid_notes.filter((n) => n.signer_key)).toHaveLength(2);
    expect(v.more_signer_keys).toHaveLength(3);
    expect(v.invalid_verifier_keys).toHaveLength(2);
    expect(v.malformed_notes).toHaveLength(5);
    expect(v.checkpoint_bodies.valid).toHaveLength(3);
    expect(v.checkpoint_bodies.invalid).toHaveLength(8);
  });
});

describe('valid signed notes', () => {
  it.each(v.valid_notes)('opens the note signed by $verifier_key', ({ verifier_key, note }) => {
    const key = parseVerifierKey(verifier_key);
    expect(verifierKeyString(key)).toBe(verifier_key);
    const opened = openNote(note, [key]);
    expect(opened.text).toBe(textOf(note));
    expect(opened.signatures).toHaveLength(1);
    expect(opened.signatures[0]).toMatchObject({
      name: key.name,
      keyId: key.keyId,
      verified: true,
    });
    expect(opened.signatures[0]!.signature).toHaveLength(64);
    // Also from bytes.
    expect(openNote(new TextEncoder().encode(note), [key]).text).toBe(opened.text);
  });

  const signed = v.valid_notes.filter((n) => n.signer_key !== undefined);
  it.each(signed)(
    'reproduces the note signed by $verifier_key byte for byte',
    ({ verifier_key, signer_key, note }) => {
      const signer = parseSignerKey(signer_key!);
      expect(signerKeyString(signer)).toBe(signer_key);
      expect(verifierKeyString(signer)).toBe(verifier_key);
      expect(signNote(textOf(note), [signer])).toBe(note);
    },
  );

  it.each(v.valid_notes)(
    'rejects the note signed by $verifier_key when that key is not given',
    ({ note }) => {
      const other = parseVerifierKey(v.more_signer_keys[0]!.verifier_key);
      expect(() => openNote(note, [other])).toThrow(code('unverified_note'));
      expect(() => openNote(note, [])).toThrow(code('unverified_note'));
    },
  );

  it('the checkpoint note holds the RFC 6962 reference root of size 8', () => {
    const n = v.valid_notes[3]!;
    const c = parseCheckpoint(openNote(n.note, [parseVerifierKey(n.verifier_key)]).text);
    expect(c).toMatchObject({ origin: 'Log', size: 8, extensions: [] });
    expect(toHex(c.rootHash)).toBe(merkle.referenceTree.rootsBySize['8']);
    expect(hasSha256RootHash(c)).toBe(true);
  });
});

describe('more signer keys', () => {
  it.each(v.more_signer_keys)(
    '$signer_key round-trips and yields $verifier_key',
    ({ signer_key, verifier_key }) => {
      const signer = parseSignerKey(signer_key);
      expect(signerKeyString(signer)).toBe(signer_key);
      expect(verifierKeyString(signer)).toBe(verifier_key);
      const verifier = parseVerifierKey(verifier_key);
      expect(verifier).toMatchObject({ name: signer.name, keyId: signer.keyId });
      expect(toHex(verifier.publicKey)).toBe(toHex(signer.publicKey));
    },
  );

  const [known, knownAgain, unknown] = v.more_signer_keys.map((k) => ({
    signer: parseSignerKey(k.signer_key),
    verifier: parseVerifierKey(k.verifier_key),
  })) as [
    { signer: ReturnType<typeof parseSignerKey>; verifier: ReturnType<typeof parseVerifierKey> },
    { signer: ReturnType<typeof parseSignerKey>; verifier: ReturnType<typeof parseVerifierKey> },
    { signer: ReturnType<typeof parseSignerKey>; verifier: ReturnType<typeof parseVerifierKey> },
  ];
  const text = 'Moon Log\n4027504\naXQncyBhIHJvb3QgaGFzaA==\n';

  it('verifies every known signature and ignores unknown ones', () => {
    const note = signNote(text, [known.signer, unknown.signer, knownAgain.signer]);
    const opened = openNote(note, [known.verifier, knownAgain.verifier]);
    expect(opened.text).toBe(text);
    expect(opened.signatures.map((s) => [s.name, s.verified])).toEqual([
      ['Known', true],
      ['Unknown', false],
      ['KnownAgain', true],
    ]);
  });

  it('rejects the whole note when a signature by a known key does not verify', () => {
    const good = signNote(text, [known.signer, knownAgain.signer]);
    const forged = signNote('Moon Log\n4027505\naXQncyBhIHJvb3QgaGFzaA==\n', [knownAgain.signer]);
    const sigLine = (n: string, name: string): string =>
      n.split('\n').find((l) => l.startsWith(`— ${name} `))!;
    const tampered = good.replace(sigLine(good, 'KnownAgain'), sigLine(forged, 'KnownAgain'));
    expect(() => openNote(tampered, [known.verifier, knownAgain.verifier])).toThrow(
      code('invalid_signature'),
    );
    // Not given KnownAgain's key, the bad signature is just an unknown one.
    expect(openNote(tampered, [known.verifier]).signatures.filter((s) => s.verified)).toHaveLength(
      1,
    );
  });

  it('ignores a signature whose key name matches a known key but whose key ID does not', () => {
    const note = signNote(text, [known.signer]);
    const renamed = { ...knownAgain.verifier, name: 'Known' }; // same name, other ID
    expect(() => openNote(note, [renamed])).toThrow(code('unverified_note'));
  });
});

describe('invalid verifier keys', () => {
  it.each(v.invalid_verifier_keys)('rejects $key ($why)', ({ key }) => {
    expect(() => parseVerifierKey(key)).toThrow(NoteError);
    expect(() => parseVerifierKey(key)).toThrow(code('invalid_verifier_key'));
  });
});

describe('malformed notes', () => {
  const peter = parseVerifierKey(v.valid_notes[0]!.verifier_key);
  it.each(v.malformed_notes)('rejects a note with $why', ({ note }) => {
    expect(() => openNote(note, [peter])).toThrow(code('malformed_note'));
  });
});

describe('checkpoint bodies', () => {
  it.each(v.checkpoint_bodies.valid.map((body) => ({ body, shown: JSON.stringify(body) })))(
    'accepts $shown',
    ({ body }) => {
      const c = parseCheckpoint(body);
      expect(formatCheckpoint(c)).toBe(body);
    },
  );

  it('parses the fields of a checkpoint with extension lines', () => {
    const c = parseCheckpoint(v.checkpoint_bodies.valid[2]!);
    expect(c.origin).toBe('Moon Log');
    expect(c.size).toBe(4027504);
    expect(Buffer.from(c.rootHash).toString()).toBe("it's a root hash");
    expect(c.extensions).toEqual(['6086d1a9', 'Waxing gibbous']);
    expect(hasSha256RootHash(c)).toBe(false);
  });

  it.each(v.checkpoint_bodies.invalid.map((body) => ({ body, shown: JSON.stringify(body) })))(
    'rejects $shown',
    ({ body }) => {
      expect(() => parseCheckpoint(body)).toThrow(code('invalid_checkpoint'));
    },
  );
});
