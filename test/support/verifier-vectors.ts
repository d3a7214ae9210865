/**
 * Every case of `test/vectors` (RFC 6962 Merkle proofs, C2SP signed notes) plus derived negative
 * cases, run against a verifier given as functions. Plain TypeScript without Node APIs: the
 * same module runs in Node (against `@provenant/core/verify` and ledger's synchronous paths)
 * and, bundled, inside Chromium. Each case yields `ok` or the error `code` it failed with, so
 * runs in different runtimes can be compared case by case.
 */

/** The verifier operations the vectors exercise; sync or async results are both fine. */
export interface VectorVerifier {
  sha256(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  leafHash(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array | Promise<Uint8Array>;
  rootFromInclusionProof(
    leafHash: Uint8Array,
    leafIndex: number | bigint,
    treeSize: number | bigint,
    proof: readonly Uint8Array[],
  ): Uint8Array | Promise<Uint8Array>;
  verifyInclusion(
    leafHash: Uint8Array,
    leafIndex: number | bigint,
    treeSize: number | bigint,
    proof: readonly Uint8Array[],
    root: Uint8Array,
  ): void | Promise<void>;
  verifyConsistency(
    size1: number | bigint,
    size2: number | bigint,
    proof: readonly Uint8Array[],
    root1: Uint8Array,
    root2: Uint8Array,
  ): void | Promise<void>;
  parseVerifierKey(s: string): Key | Promise<Key>;
  openNote(note: string, keys: readonly Key[]): Opened | Promise<Opened>;
  parseCheckpoint(text: string): Checkpoint;
  openLogCheckpoint(note: string, key: Key): Checkpoint | Promise<Checkpoint>;
  parseCosignerVerifierKey(s: string): Key | Promise<Key>;
  verifyCosignatureLine(text: string, line: string, witness: Key): unknown;
  verifyCosignedCheckpoint(
    note: string,
    log: Key,
    witnesses: readonly Key[],
    policy: number,
  ): unknown;
}

interface Key {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}
interface Opened {
  readonly text: string;
  readonly signatures: readonly { name: string; keyId: number; verified: boolean }[];
}
interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

type Int = number | string;
interface MerkleKat {
  treeSize: number;
  leafIndex: number | null;
  proof: string[];
  leafHash?: string;
  expectedRoot?: string;
  expectValid?: boolean;
}
interface ConsistencyKat {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
}
export interface MerkleVectors {
  hasherVectors: {
    desc: string;
    want: string;
    leafInputHex?: string;
    leftHex?: string;
    rightHex?: string;
  }[];
  referenceTree: {
    leafInputsHex: string[];
    leafHashes: string[];
    nodeHashesByLevel: { levels: string[][] };
    rootsBySize: Record<string, string>;
  };
  inclusionProofsKAT: MerkleKat[];
  consistencyProofsKAT: ConsistencyKat[];
  goldenProbes: {
    inclusion: {
      file: string;
      leafIdx: Int;
      treeSize: Int;
      root: string;
      leafHash: string;
      proof: string[] | null;
      wantErr: boolean;
    }[];
    consistency: {
      file: string;
      size1: Int;
      size2: Int;
      root1: string;
      root2: string;
      proof: string[] | null;
      wantErr: boolean;
    }[];
  };
  derivedRfc9162Example: { inclusion: MerkleKat[]; consistency: ConsistencyKat[] };
}
export interface NoteVectors {
  valid_notes: { verifier_key: string; note: string }[];
  more_signer_keys: { verifier_key: string }[];
  invalid_verifier_keys: { key: string; why: string }[];
  malformed_notes: { why: string; note: string }[];
  checkpoint_bodies: { valid: string[]; invalid: string[] };
}
/** Made in Node by signing (the vectors carry no cosignatures): see `verifier-derived.ts`. */
export interface DerivedVectors {
  /** A checkpoint whose origin is not the name of the (valid) key that signed it. */
  wrongOriginNote: string;
  logKey: string;
  /** A checkpoint note signed by `logKey` and cosigned by `witnessKey`. */
  cosignedNote: string;
  cosignatureLine: string;
  witnessKey: string;
  otherWitnessKey: string;
}

export interface CaseResult {
  readonly name: string;
  /** `ok`, or the error code the case must fail with (`merkle_error`: any Merkle code). */
  readonly expect: string;
  readonly got: string;
}

const MERKLE_CODES = [
  'bad_size',
  'index_out_of_range',
  'bad_hash_size',
  'invalid_proof',
  'root_mismatch',
];

export function hex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new Error(`not lowercase hex: ${s}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
export const toHex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
/** A vector integer: long ones are kept as decimal strings so they are not rounded. */
const asInt = (v: Int): number | bigint => (typeof v === 'number' ? v : BigInt(v));

class Mismatch extends Error {
  readonly code = 'mismatch';
}
function same(got: Uint8Array | string | number, want: string | number, what: string): void {
  const g = got instanceof Uint8Array ? toHex(got) : got;
  if (g !== want) throw new Mismatch(`${what}: got ${String(g)}, want ${String(want)}`);
}
/** One byte of `b` flipped (a copy). */
function flip(b: Uint8Array, at = 0): Uint8Array {
  const c = new Uint8Array(b);
  c[at] = c[at]! ^ 1;
  return c;
}

/** Runs every case and reports what each gave. Never throws for a failing case. */
export async function runVectorCases(
  v: VectorVerifier,
  merkle: MerkleVectors,
  notes: NoteVectors,
  derived: DerivedVectors,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const run = async (name: string, expect: string, body: () => unknown): Promise<void> => {
    let got: string;
    try {
      await body();
      got = 'ok';
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      got = typeof code === 'string' ? code : `threw: ${(e as Error).message}`;
    }
    if (expect === 'merkle_error' && MERKLE_CODES.includes(got)) got = 'merkle_error';
    results.push({ name, expect, got });
  };

  // --- RFC 6962 hashing ---
  for (const h of merkle.hasherVectors) {
    await run(`hasher: ${h.desc}`, 'ok', async () => {
      if (h.leafInputHex !== undefined) same(await v.leafHash(hex(h.leafInputHex)), h.want, 'leaf');
      else if (h.leftHex !== undefined && h.rightHex !== undefined) {
        same(await v.nodeHash(hex(h.leftHex), hex(h.rightHex)), h.want, 'node');
      } else same(await v.sha256(new Uint8Array(0)), h.want, 'empty root');
    });
  }
  const tree = merkle.referenceTree;
  for (const [i, x] of tree.leafInputsHex.entries()) {
    await run(`reference leaf ${i}`, 'ok', async () =>
      same(await v.leafHash(hex(x)), tree.leafHashes[i]!, 'leaf hash'),
    );
  }
  const levels = tree.nodeHashesByLevel.levels;
  for (let level = 1; level < levels.length; level++) {
    for (const [i, want] of levels[level]!.entries()) {
      await run(`reference node ${level}/${i}`, 'ok', async () => {
        const below = levels[level - 1]!;
        same(await v.nodeHash(hex(below[2 * i]!), hex(below[2 * i + 1]!)), want, 'node hash');
      });
    }
  }

  // --- inclusion proofs ---
  const inclusionKats = [
    ...merkle.inclusionProofsKAT.map((k) => ({ k, from: 'KAT' })),
    ...merkle.derivedRfc9162Example.inclusion.map((k) => ({ k, from: 'RFC 9162 example' })),
  ];
  for (const { k, from } of inclusionKats) {
    if (k.expectValid !== true) {
      await run(`inclusion ${from}: tree size ${k.treeSize} (invalid)`, 'index_out_of_range', () =>
        v.verifyInclusion(hex(tree.leafHashes[0]!), 0, k.treeSize, [], new Uint8Array(32)),
      );
      continue;
    }
    const name = `inclusion ${from}: leaf ${k.leafIndex} of ${k.treeSize}`;
    const [leaf, root, proof] = [hex(k.leafHash!), hex(k.expectedRoot!), k.proof.map(hex)];
    await run(name, 'ok', async () => {
      await v.verifyInclusion(leaf, k.leafIndex!, k.treeSize, proof, root);
      same(
        await v.rootFromInclusionProof(leaf, k.leafIndex!, k.treeSize, proof),
        k.expectedRoot!,
        'root',
      );
    });
    if (proof.length === 0) continue;
    await run(`${name}, a proof hash tampered`, 'root_mismatch', () =>
      v.verifyInclusion(leaf, k.leafIndex!, k.treeSize, [flip(proof[0]!), ...proof.slice(1)], root),
    );
    await run(`${name}, the proof truncated`, 'invalid_proof', () =>
      v.verifyInclusion(leaf, k.leafIndex!, k.treeSize, proof.slice(0, -1), root),
    );
    await run(`${name}, another leaf`, 'root_mismatch', () =>
      v.verifyInclusion(flip(leaf), k.leafIndex!, k.treeSize, proof, root),
    );
    await run(`${name}, a short hash`, 'bad_hash_size', () =>
      v.verifyInclusion(
        leaf,
        k.leafIndex!,
        k.treeSize,
        [proof[0]!.subarray(1), ...proof.slice(1)],
        root,
      ),
    );
  }
  for (const p of merkle.goldenProbes.inclusion) {
    await run(`inclusion probe ${p.file}`, p.wantErr ? 'merkle_error' : 'ok', () =>
      v.verifyInclusion(
        hex(p.leafHash),
        asInt(p.leafIdx),
        asInt(p.treeSize),
        (p.proof ?? []).map(hex),
        hex(p.root),
      ),
    );
  }

  // --- consistency proofs ---
  const consistencyKats = [
    ...merkle.consistencyProofsKAT.map((k) => ({ k, from: 'KAT' })),
    ...merkle.derivedRfc9162Example.consistency.map((k) => ({ k, from: 'RFC 9162 example' })),
  ];
  for (const { k, from } of consistencyKats) {
    const name = `consistency ${from}: ${k.size1} → ${k.size2}`;
    const [root1, root2, proof] = [hex(k.root1), hex(k.root2), k.proof.map(hex)];
    await run(name, 'ok', () => v.verifyConsistency(k.size1, k.size2, proof, root1, root2));
    if (proof.length === 0) continue;
    await run(`${name}, a proof hash tampered`, 'root_mismatch', () =>
      v.verifyConsistency(
        k.size1,
        k.size2,
        [...proof.slice(0, -1), flip(proof.at(-1)!)],
        root1,
        root2,
      ),
    );
    await run(`${name}, the proof truncated`, 'invalid_proof', () =>
      v.verifyConsistency(k.size1, k.size2, proof.slice(1), root1, root2),
    );
    await run(`${name}, sizes swapped`, 'bad_size', () =>
      v.verifyConsistency(k.size2, k.size1, proof, root2, root1),
    );
  }
  for (const p of merkle.goldenProbes.consistency) {
    await run(`consistency probe ${p.file}`, p.wantErr ? 'merkle_error' : 'ok', () =>
      v.verifyConsistency(
        asInt(p.size1),
        asInt(p.size2),
        (p.proof ?? []).map(hex),
        hex(p.root1),
        hex(p.root2),
      ),
    );
  }

  // --- C2SP signed notes ---
  const other = await v.parseVerifierKey(notes.more_signer_keys[0]!.verifier_key);
  for (const n of notes.valid_notes) {
    const name = `note signed by ${n.verifier_key.split('+')[0]}`;
    await run(name, 'ok', async () => {
      const key = await v.parseVerifierKey(n.verifier_key);
      const opened = await v.openNote(n.note, [key]);
      same(opened.text, n.note.slice(0, n.note.lastIndexOf('\n\n') + 1), 'text');
      same(opened.signatures.filter((s) => s.verified).length, 1, 'verified signatures');
      same(opened.signatures[0]!.keyId, parseInt(n.verifier_key.split('+')[1]!, 16), 'key id');
    });
    await run(`${name}, opened with another key`, 'unverified_note', () =>
      v.openNote(n.note, [other]),
    );
    await run(`${name}, opened with no key`, 'unverified_note', () => v.openNote(n.note, []));
    await run(`${name}, its signature tampered`, 'invalid_signature', async () => {
      const line = n.note.split('\n').at(-2)!;
      const at = line.length - 10; // inside the base64 signature, well before the padding
      const c = line[at] === 'A' ? 'B' : 'A';
      const tampered = n.note.replace(line, line.slice(0, at) + c + line.slice(at + 1));
      await v.openNote(tampered, [await v.parseVerifierKey(n.verifier_key)]);
    });
    await run(`${name}, truncated`, 'malformed_note', async () =>
      v.openNote(n.note.slice(0, -20), [await v.parseVerifierKey(n.verifier_key)]),
    );
    await run(`${name}, its text changed`, 'invalid_signature', async () =>
      v.openNote(`x${n.note}`, [await v.parseVerifierKey(n.verifier_key)]),
    );
  }
  for (const k of notes.more_signer_keys) {
    await run(`verifier key ${k.verifier_key}`, 'ok', async () =>
      same((await v.parseVerifierKey(k.verifier_key)).name, k.verifier_key.split('+')[0]!, 'name'),
    );
    const wrongId = k.verifier_key.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    await run(`verifier key ${k.verifier_key}, wrong key id`, 'invalid_verifier_key', () =>
      v.parseVerifierKey(wrongId),
    );
  }
  for (const k of notes.invalid_verifier_keys) {
    await run(`invalid verifier key (${k.why})`, 'invalid_verifier_key', () =>
      v.parseVerifierKey(k.key),
    );
  }
  const peter = await v.parseVerifierKey(notes.valid_notes[0]!.verifier_key);
  for (const n of notes.malformed_notes) {
    await run(`malformed note (${n.why})`, 'malformed_note', () => v.openNote(n.note, [peter]));
  }

  // --- checkpoints ---
  for (const body of notes.checkpoint_bodies.valid) {
    await run(`checkpoint ${JSON.stringify(body)}`, 'ok', () => v.parseCheckpoint(body));
  }
  for (const body of notes.checkpoint_bodies.invalid) {
    await run(`checkpoint ${JSON.stringify(body)}`, 'invalid_checkpoint', () =>
      v.parseCheckpoint(body),
    );
  }
  const logNote = notes.valid_notes[3]!;
  const logKey = await v.parseVerifierKey(logNote.verifier_key);
  await run('log checkpoint of the reference tree', 'ok', async () => {
    const c = await v.openLogCheckpoint(logNote.note, logKey);
    same(c.size, 8, 'size');
    same(c.rootHash, tree.rootsBySize['8']!, 'root');
  });
  await run('log checkpoint with another origin', 'invalid_checkpoint', () =>
    v.openLogCheckpoint(derived.wrongOriginNote, logKey),
  );
  await run('log checkpoint opened with another key', 'unverified_note', () =>
    v.openLogCheckpoint(logNote.note, other),
  );

  // --- witness cosignatures (C2SP tlog-cosignature/v1) ---
  const log = await v.parseVerifierKey(derived.logKey);
  const witness = await v.parseCosignerVerifierKey(derived.witnessKey);
  const otherWitness = await v.parseCosignerVerifierKey(derived.otherWitnessKey);
  const text = derived.cosignedNote.slice(0, derived.cosignedNote.lastIndexOf('\n\n') + 1);
  await run('cosignature line', 'ok', () =>
    v.verifyCosignatureLine(text, derived.cosignatureLine, witness),
  );
  await run('cosignature line over another checkpoint', 'invalid_cosignature', () =>
    v.verifyCosignatureLine(`x${text}`, derived.cosignatureLine, witness),
  );
  await run('cosignature line checked with another witness', 'invalid_cosignature', () =>
    v.verifyCosignatureLine(text, derived.cosignatureLine, otherWitness),
  );
  await run('cosigned checkpoint, 1 of 1', 'ok', () =>
    v.verifyCosignedCheckpoint(derived.cosignedNote, log, [witness], 1),
  );
  await run('cosigned checkpoint, 2 of 2', 'witness_policy_unmet', () =>
    v.verifyCosignedCheckpoint(derived.cosignedNote, log, [witness, otherWitness], 2),
  );
  await run('cosigned checkpoint, wrong log key', 'unverified_note', () =>
    v.verifyCosignedCheckpoint(derived.cosignedNote, other, [witness], 1),
  );
  await run('cosigner key given a note key (type 0x01)', 'invalid_cosigner_key', () =>
    v.parseCosignerVerifierKey(derived.logKey),
  );
  await run('note key given a cosigner key (type 0x04)', 'invalid_verifier_key', () =>
    v.parseVerifierKey(derived.witnessKey),
  );
  return results;
}
