import { sha256 } from '@provenant/core';
import * as neutral from '@provenant/core/verify';
import { describe, expect, it } from 'vitest';
import * as ledger from '../src/index.js';
import { rootFromInclusionProof } from '../src/merkle/verify.js';
import { runVectorCases } from '../../../test/support/verifier-vectors.js';
import type {
  CaseResult,
  MerkleVectors,
  NoteVectors,
  VectorVerifier,
} from '../../../test/support/verifier-vectors.js';
import { deriveVectors } from './verifier-derived.js';
import { loadVectors } from './vectors.js';

const merkle = loadVectors<MerkleVectors>('rfc6962-merkle.json');
const notes = loadVectors<NoteVectors & { valid_notes: { signer_key?: string }[] }>(
  'c2sp-signed-note.json',
);
const derived = deriveVectors(notes);

/** The runtime-neutral verifier: WebCrypto, async. */
const onWebCrypto: VectorVerifier = { ...neutral, sha256: neutral.webCrypto.sha256 };

/** Ledger's synchronous node:crypto paths, which the collector's hot paths use. */
const onNodeCrypto: VectorVerifier = {
  ...ledger,
  rootFromInclusionProof,
  sha256,
  leafHash: ledger.hashLeaf,
  nodeHash: ledger.hashChildren,
};

const failed = (rs: readonly CaseResult[]) => rs.filter((r) => r.got !== r.expect);

describe('the runtime-neutral verifier against test/vectors (Node, WebCrypto)', () => {
  it('gives every case its expected result, the negative ones their stable codes', async () => {
    const results = await runVectorCases(onWebCrypto, merkle, notes, derived);
    expect(failed(results)).toEqual([]);
    // Every vector of the files is a case (counts as the files declare them), plus derived ones.
    const count = (prefix: string) => results.filter((r) => r.name.startsWith(prefix)).length;
    expect(count('inclusion probe ')).toBe(merkle.goldenProbes.inclusion.length);
    expect(count('consistency probe ')).toBe(merkle.goldenProbes.consistency.length);
    expect(count('malformed note ')).toBe(notes.malformed_notes.length);
    expect(count('checkpoint ')).toBe(
      notes.checkpoint_bodies.valid.length + notes.checkpoint_bodies.invalid.length,
    );
    const codes = new Set(results.map((r) => r.expect));
    for (const code of [
      'root_mismatch',
      'invalid_proof',
      'bad_size',
      'bad_hash_size',
      'index_out_of_range',
      'unverified_note',
      'invalid_signature',
      'malformed_note',
      'invalid_verifier_key',
      'invalid_checkpoint',
      'invalid_cosignature',
      'witness_policy_unmet',
      'invalid_cosigner_key',
    ]) {
      expect(codes, code).toContain(code);
    }
    expect(results.length).toBeGreaterThan(300);
  });

  it('agrees case by case with ledger’s synchronous node:crypto paths', async () => {
    const neutralResults = await runVectorCases(onWebCrypto, merkle, notes, derived);
    const ledgerResults = await runVectorCases(onNodeCrypto, merkle, notes, derived);
    expect(failed(ledgerResults)).toEqual([]);
    expect(ledgerResults).toEqual(neutralResults);
  });

  it('throws the same error classes as ledger', async () => {
    const key = await neutral.parseVerifierKey(notes.valid_notes[0]!.verifier_key);
    await expect(neutral.openNote('no signatures\n', [key])).rejects.toBeInstanceOf(
      ledger.NoteError,
    );
    await expect(
      neutral.verifyInclusion(new Uint8Array(32), 1, 1, [], new Uint8Array(32)),
    ).rejects.toBeInstanceOf(ledger.MerkleError);
  });
});
