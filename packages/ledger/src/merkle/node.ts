/**
 * A complete subtree of the Merkle tree: level `k`, index `i` covers leaves
 * `[i * 2^k, (i + 1) * 2^k)`. Level 0 nodes are the leaf hashes.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** The leaves `[begin, end)` that a node covers. */
export function nodeLeafRange(node: NodeId): { begin: number; end: number } {
  const width = 2 ** node.level;
  return { begin: node.index * width, end: (node.index + 1) * width };
}

/**
 * The fewest complete subtrees that exactly cover leaves `[begin, end)`, left to right (a
 * "compact range"). For `begin = 0` these are the frontier of a tree of size `end`, largest
 * first. O(log(end)) work.
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
    throw new RangeError(`Invalid leaf range [${begin}, ${end})`);
  }
  const out: NodeId[] = [];
  let level = 0;
  let width = 1;
  while (begin < end) {
    // Grow while the next bigger subtree is still aligned at `begin` and fits in the range...
    while (begin % (2 * width) === 0 && begin + 2 * width <= end) {
      width *= 2;
      level++;
    }
    // ...and shrink while it overflows the range (`begin` stays aligned to smaller widths).
    while (begin + width > end) {
      width /= 2;
      level--;
    }
    out.push({ level, index: begin / width });
    begin += width;
  }
  return out;
}
