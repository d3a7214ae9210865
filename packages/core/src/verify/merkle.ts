import { equalBytes } from '../vocabulary/bytes.js';
import { MerkleError } from './errors.js';
import type { Steps } from './steps.js';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** RFC 6962 domain separation: a leaf hashes as SHA-256(0x00 || data)... */
export const LEAF_PREFIX = 0x00;
/** ...and an interior node as SHA-256(0x01 || left || right). */
export const NODE_PREFIX = 0x01;

/** RFC 6962 leaf hash: SHA-256(0x00 || data). */
export function* leafHashSteps(data: Uint8Array): Steps<Uint8Array> {
  const input = new Uint8Array(1 + data.length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return (yield { op: 'sha256', data: input }) as Uint8Array;
}

/**
 * RFC 6962 interior node hash: SHA-256(0x01 || left || right). A step of its own, so that a
 * synchronous provider can hash without allocating (proof verification is a run of these).
 */
export function* nodeHashSteps(left: Uint8Array, right: Uint8Array): Steps<Uint8Array> {
  return (yield { op: 'node_hash', left, right }) as Uint8Array;
}

/** A safe non-negative integer, or null for anything else (including bigint beyond 2^53 - 1). */
export function toSafeIndex(x: unknown): number | null {
  if (typeof x === 'number') return Number.isSafeInteger(x) && x >= 0 ? x : null;
  if (typeof x === 'bigint') {
    return x >= 0n && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : null;
  }
  return null;
}

// RFC 9162 §2.1.3.2 and §2.1.4.2 verification. Sizes and indices may be given as bigint (as
// parsed from untrusted input) and must be safe non-negative integers; anything else fails.
// Tree sizes go up to 2^53 - 1, so no 32-bit bitwise operator touches them: halving, `% 2` and
// `Math.floor(x / 2)` are exact below 2^53.

function sizeArg(value: number | bigint, name: string): number {
  const n = toSafeIndex(value);
  if (n === null) {
    throw new MerkleError('bad_size', `${name} must be a safe non-negative integer.`, {
      [name]: String(value),
    });
  }
  return n;
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new MerkleError('bad_hash_size', `The ${what} is not a ${HASH_SIZE}-byte hash.`, {
      length: h instanceof Uint8Array ? h.length : null,
    });
  }
}

function checkProofHashes(proof: readonly Uint8Array[]): void {
  for (let i = 0; i < proof.length; i++) checkHash(proof[i]!, `proof element ${i}`);
}

/**
 * Length of the audit path of the complete node at `index` on its level, where `last` is the
 * index of the rightmost node of that level (mirrors the walk of ledger's proof planner).
 */
function auditPathLength(index: number, last: number): number {
  let n = 0;
  while (last > 0) {
    if (index % 2 === 1 || index < last) n++;
    index = Math.floor(index / 2);
    last = Math.floor(last / 2);
  }
  return n;
}

/**
 * The root hash that an inclusion proof implies for a leaf, or a `MerkleError` if the proof is
 * malformed for that index and size (`index_out_of_range`, `bad_size`, `bad_hash_size`,
 * `invalid_proof`).
 */
export function* rootFromInclusionProofSteps(
  leafHash: Uint8Array,
  leafIndex: number | bigint,
  treeSize: number | bigint,
  proof: readonly Uint8Array[],
): Steps<Uint8Array> {
  const size = sizeArg(treeSize, 'treeSize');
  const index = toSafeIndex(leafIndex);
  if (index === null || index >= size) {
    throw new MerkleError(
      'index_out_of_range',
      `Leaf index ${String(leafIndex)} is not in a tree of size ${size}.`,
      { leafIndex: String(leafIndex), treeSize: size },
    );
  }
  checkHash(leafHash, 'leaf hash');
  checkProofHashes(proof);
  const want = auditPathLength(index, size - 1);
  if (proof.length !== want) {
    throw new MerkleError(
      'invalid_proof',
      `An inclusion proof for leaf ${index} in a tree of size ${size} has ${want} hashes, not ${proof.length}.`,
    );
  }
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new MerkleError('invalid_proof', 'The inclusion proof is too long.');
    if (fn % 2 === 1 || fn === sn) {
      r = yield* nodeHashSteps(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = fn / 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = yield* nodeHashSteps(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new MerkleError('invalid_proof', 'The inclusion proof is too short.');
  return r;
}

/**
 * Verifies that `leafHash` is leaf `leafIndex` of the tree of `treeSize` leaves whose root is
 * `root`. Returns on success; throws a `MerkleError` otherwise.
 */
export function* verifyInclusionSteps(
  leafHash: Uint8Array,
  leafIndex: number | bigint,
  treeSize: number | bigint,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Steps<void> {
  const computed = yield* rootFromInclusionProofSteps(leafHash, leafIndex, treeSize, proof);
  checkHash(root, 'root hash');
  if (!equalBytes(computed, root)) {
    throw new MerkleError('root_mismatch', 'The inclusion proof does not lead to the root hash.');
  }
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves
 * with root `root1`. Returns on success; throws a `MerkleError` otherwise.
 *
 * - `size1 > size2` fails (`bad_size`).
 * - `size1 == 0` always fails (`bad_size`), even `0 == size2` with equal roots: a consistency
 *   proof from the empty tree proves nothing. This is the transparency-dev/merkle behaviour that
 *   the golden probes encode (RFC 9162 itself leaves size1 = 0 undefined).
 * - `size1 == size2 > 0` needs an empty proof and byte-equal roots; like the reference
 *   implementation it then only compares the two roots (of whatever length).
 */
export function* verifyConsistencySteps(
  size1: number | bigint,
  size2: number | bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): Steps<void> {
  const s1 = sizeArg(size1, 'size1');
  const s2 = sizeArg(size2, 'size2');
  if (s1 > s2) {
    throw new MerkleError('bad_size', `size1 (${s1}) is larger than size2 (${s2}).`, {
      size1: s1,
      size2: s2,
    });
  }
  if (s1 === 0) {
    throw new MerkleError('bad_size', 'A consistency proof from the empty tree is meaningless.', {
      size1: s1,
      size2: s2,
    });
  }
  if (s1 === s2) {
    if (proof.length !== 0) {
      throw new MerkleError('invalid_proof', 'Equal tree sizes need an empty consistency proof.');
    }
    if (!equalBytes(root1, root2)) {
      throw new MerkleError('root_mismatch', 'Equal tree sizes but different root hashes.');
    }
    return;
  }
  checkHash(root1, 'first root hash');
  checkHash(root2, 'second root hash');
  checkProofHashes(proof);

  // The proof is (unless size1 is a power of two) the hash of the largest complete subtree that
  // ends at leaf size1 - 1, then that subtree's audit path in the tree of size2.
  let fn = s1 - 1;
  let sn = s2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  const powerOfTwo = fn === 0;
  const want = (powerOfTwo ? 0 : 1) + auditPathLength(fn, sn);
  if (proof.length !== want) {
    throw new MerkleError(
      'invalid_proof',
      `A consistency proof from size ${s1} to ${s2} has ${want} hashes, not ${proof.length}.`,
    );
  }
  const path = powerOfTwo ? [root1, ...proof] : proof;
  let fr = path[0]!;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) throw new MerkleError('invalid_proof', 'The consistency proof is too long.');
    if (fn % 2 === 1 || fn === sn) {
      fr = yield* nodeHashSteps(c, fr);
      sr = yield* nodeHashSteps(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = fn / 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = yield* nodeHashSteps(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new MerkleError('invalid_proof', 'The consistency proof is too short.');
  if (!equalBytes(fr, root1)) {
    throw new MerkleError(
      'root_mismatch',
      'The consistency proof does not lead to the first root.',
      {
        which: 'root1',
      },
    );
  }
  if (!equalBytes(sr, root2)) {
    throw new MerkleError(
      'root_mismatch',
      'The consistency proof does not lead to the second root.',
      {
        which: 'root2',
      },
    );
  }
}
