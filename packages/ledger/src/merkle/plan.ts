import { MerkleError } from './errors.js';
import { EMPTY_ROOT, HASH_SIZE, hashChildren } from './hash.js';
import { isSafeIndex, trailingZeros } from './int.js';
import { rangeNodes } from './node.js';
import type { NodeId } from './node.js';

/**
 * One hash of an assembled result: the hashes of `plan.nodes[begin .. end)`, folded right to
 * left — `hashChildren(h[begin], hashChildren(h[begin + 1], … h[end - 1]))`. A single node
 * (`end = begin + 1`) is used as is; an empty slice (only in `rootPlan(0)`) is `EMPTY_ROOT`.
 */
export interface PlanOutput {
  readonly begin: number;
  readonly end: number;
}

/**
 * Which stored hashes a proof or root needs, and how to combine them.
 *
 * `nodes` only ever names COMPLETE subtrees lying fully inside the tree of the size the plan
 * was made for, so a store that keeps the hash of every complete subtree answers any plan with
 * O(log n) point lookups. Each element of the result is one `PlanOutput`: either one stored
 * node, or — for the incomplete subtree on the tree's right edge that RFC 9162 proofs sometimes
 * need — a run of consecutive nodes (that subtree's compact range) folded into one ephemeral
 * hash. Outputs cover `nodes` in order, without gaps.
 */
export interface ProofPlan {
  readonly nodes: readonly NodeId[];
  readonly outputs: readonly PlanOutput[];
}

class PlanBuilder {
  readonly nodes: NodeId[] = [];
  readonly outputs: PlanOutput[] = [];

  node(level: number, index: number): void {
    const begin = this.nodes.length;
    this.nodes.push({ level, index });
    this.outputs.push({ begin, end: begin + 1 });
  }

  /** The (possibly incomplete) subtree hash MTH(D[begin:end]) as one output. */
  range(begin: number, end: number): void {
    const from = this.nodes.length;
    for (const n of rangeNodes(begin, end)) this.nodes.push(n);
    this.outputs.push({ begin: from, end: this.nodes.length });
  }

  build(): ProofPlan {
    return { nodes: this.nodes, outputs: this.outputs };
  }
}

/**
 * Appends the audit path of the complete node (level, index) in a tree of `treeSize` leaves,
 * lowest sibling first. At each level the sibling is either a complete node, the (possibly
 * incomplete) rightmost subtree of the tree, or absent (the path node is the rightmost node of
 * its level and is carried up unchanged).
 */
function addAuditPath(b: PlanBuilder, level: number, index: number, treeSize: number): void {
  let width = 2 ** level;
  let idx = index;
  let last = Math.floor((treeSize - 1) / width); // index of the rightmost node at this level
  while (last > 0) {
    if (idx % 2 === 1) {
      b.node(level, idx - 1);
    } else if (idx + 1 < last) {
      b.node(level, idx + 1);
    } else if (idx + 1 === last) {
      b.range(last * width, treeSize);
    }
    idx = Math.floor(idx / 2);
    last = Math.floor(last / 2);
    level++;
    width *= 2;
  }
}

function checkSize(value: number, name: 'treeSize' | 'size1' | 'size2'): void {
  if (!isSafeIndex(value)) {
    throw new MerkleError('bad_size', `${name} must be a safe non-negative integer.`, {
      [name]: String(value),
    });
  }
}

/** Plan of the RFC 9162 §2.1.3 inclusion proof (audit path) of a leaf, leaf level first. */
export function inclusionPlan(leafIndex: number, treeSize: number): ProofPlan {
  checkSize(treeSize, 'treeSize');
  if (!isSafeIndex(leafIndex) || leafIndex >= treeSize) {
    throw new MerkleError(
      'index_out_of_range',
      `Leaf index ${String(leafIndex)} is not in a tree of size ${treeSize}.`,
      { leafIndex: String(leafIndex), treeSize },
    );
  }
  const b = new PlanBuilder();
  addAuditPath(b, 0, leafIndex, treeSize);
  return b.build();
}

/**
 * Plan of the RFC 9162 §2.1.4 consistency proof between tree sizes `0 < size1 <= size2`
 * (empty when the sizes are equal). The proof is the audit path, in the tree of `size2`, of the
 * largest complete subtree ending at leaf `size1 - 1`, preceded by that subtree's own hash
 * unless it is the whole tree of `size1` (i.e. `size1` is a power of two).
 */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  checkSize(size1, 'size1');
  checkSize(size2, 'size2');
  if (size1 === 0 || size1 > size2) {
    throw new MerkleError('bad_size', `A consistency proof needs 0 < size1 <= size2.`, {
      size1,
      size2,
    });
  }
  const b = new PlanBuilder();
  if (size1 === size2) return b.build();
  const level = trailingZeros(size1);
  const index = size1 / 2 ** level - 1;
  if (index !== 0) b.node(level, index);
  addAuditPath(b, level, index, size2);
  return b.build();
}

/**
 * Plan of the root hash of a tree: its frontier (the complete subtrees covering all leaves,
 * largest first) folded into one output. `assemble` turns it into `[root]`; `[EMPTY_ROOT]` for
 * an empty tree.
 */
export function rootPlan(treeSize: number): ProofPlan {
  checkSize(treeSize, 'treeSize');
  const nodes = rangeNodes(0, treeSize);
  return { nodes, outputs: [{ begin: 0, end: nodes.length }] };
}

/**
 * Combines the hashes of `plan.nodes` (`hashes[i]` is the hash of `plan.nodes[i]`) into the
 * plan's result: the proof in RFC 9162 order, or `[root]` for a `rootPlan`.
 */
export function assemble(plan: ProofPlan, hashes: readonly Uint8Array[]): Uint8Array[] {
  if (hashes.length !== plan.nodes.length) {
    throw new MerkleError(
      'bad_plan',
      `The plan names ${plan.nodes.length} nodes but ${hashes.length} hashes were given.`,
    );
  }
  for (let i = 0; i < hashes.length; i++) {
    if (hashes[i]!.length !== HASH_SIZE) {
      throw new MerkleError(
        'bad_hash_size',
        `The hash of plan node ${i} is not ${HASH_SIZE} bytes.`,
        {
          node: plan.nodes[i],
        },
      );
    }
  }
  const out: Uint8Array[] = [];
  for (const { begin, end } of plan.outputs) {
    if (!(
      Number.isInteger(begin) &&
      Number.isInteger(end) &&
      0 <= begin &&
      begin <= end &&
      end <= hashes.length
    )) {
      throw new MerkleError('bad_plan', `Plan output [${begin}, ${end}) is out of range.`);
    }
    if (begin === end) {
      out.push(EMPTY_ROOT.slice());
      continue;
    }
    let acc = hashes[end - 1]!;
    for (let i = end - 2; i >= begin; i--) acc = hashChildren(hashes[i]!, acc);
    out.push(acc);
  }
  return out;
}
