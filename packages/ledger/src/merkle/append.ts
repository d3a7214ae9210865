import { MerkleError } from './errors.js';
import { EMPTY_ROOT, HASH_SIZE, hashChildren } from './hash.js';
import { isSafeIndex, popCount } from './int.js';

/**
 * The right edge of a tree: for a tree of `size` leaves, the hashes of `rootPlan(size).nodes`
 * (the complete subtrees covering all leaves, one per set bit of `size`), largest subtree first.
 * It is all that is needed to append leaves and to compute the root.
 */
export interface Frontier {
  readonly size: number;
  readonly hashes: readonly Uint8Array[];
}

/** A complete subtree hash produced by an append. */
export interface NewNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

export const EMPTY_FRONTIER: Frontier = Object.freeze({ size: 0, hashes: Object.freeze([]) });

function checkFrontier(frontier: Frontier): void {
  if (!isSafeIndex(frontier.size) || popCount(frontier.size) !== frontier.hashes.length) {
    throw new MerkleError(
      'bad_frontier',
      `A frontier of size ${String(frontier.size)} cannot have ${frontier.hashes.length} hashes.`,
    );
  }
  for (const h of frontier.hashes) {
    if (h.length !== HASH_SIZE) {
      throw new MerkleError('bad_hash_size', `A frontier hash is not ${HASH_SIZE} bytes.`);
    }
  }
}

/**
 * Appends leaves to the tree whose frontier is given. Returns the new frontier and `nodes`: every
 * complete subtree at level >= 1 completed by this append, children before parents (leaf hashes
 * are not repeated). One `hashChildren` per completed node, i.e. fewer than one per leaf on
 * average; O(log n) extra work per call.
 */
export function appendLeafHashes(
  frontier: Frontier,
  leafHashes: readonly Uint8Array[],
): { frontier: Frontier; nodes: NewNode[] } {
  checkFrontier(frontier);
  let size = frontier.size;
  if (size + leafHashes.length > Number.MAX_SAFE_INTEGER) {
    throw new MerkleError('bad_size', 'The tree would grow beyond 2^53 - 1 leaves.');
  }
  // The frontier as a stack: the smallest (rightmost) subtree on top.
  const stack = frontier.hashes.slice();
  const nodes: NewNode[] = [];
  for (let i = 0; i < leafHashes.length; i++) {
    let h = leafHashes[i]!;
    if (h.length !== HASH_SIZE) {
      throw new MerkleError('bad_hash_size', `Leaf hash ${i} is not ${HASH_SIZE} bytes.`);
    }
    // Leaf `size` closes one subtree per trailing one bit of `size`.
    let t = size;
    let level = 0;
    while (t % 2 === 1) {
      h = hashChildren(stack.pop()!, h);
      t = (t - 1) / 2;
      level++;
      nodes.push({ level, index: t, hash: h });
    }
    stack.push(h);
    size++;
  }
  return { frontier: { size, hashes: stack }, nodes };
}

/** The root hash of the tree with this frontier (`EMPTY_ROOT` for size 0). */
export function rootOfFrontier(frontier: Frontier): Uint8Array {
  checkFrontier(frontier);
  const hashes = frontier.hashes;
  if (hashes.length === 0) return EMPTY_ROOT.slice();
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
  return acc;
}
