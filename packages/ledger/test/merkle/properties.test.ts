import { describe, expect, it } from 'vitest';
import {
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  MerkleError,
  appendLeafHashes,
  assemble,
  consistencyPlan,
  hashChildren,
  hashLeaf,
  hashLeafText,
  inclusionPlan,
  rangeNodes,
  rootFromLeafHashes,
  rootOfFrontier,
  rootPlan,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';
import type { Frontier, NewNode, NodeId, ProofPlan } from '../../src/merkle/index.js';
import { toHex } from '../vectors.js';

const MAX = 70;
const enc = new TextEncoder();
const leaves = Array.from({ length: 200 }, (_, i) => hashLeaf(enc.encode(`leaf ${i}`)));
const hexes = (hs: readonly Uint8Array[]): string[] => hs.map(toHex);

// RFC 9162 §2.1 straight from the definitions, over leaf hashes, as an independent reference.
const largestPow2Below = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
const mth = (d: Uint8Array[]): Uint8Array => rootFromLeafHashes(d);
function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = largestPow2Below(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), mth(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function refSubproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = largestPow2Below(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

// A store holding every complete subtree of the 70-leaf tree, fed only by appendLeafHashes.
const built = appendLeafHashes(EMPTY_FRONTIER, leaves.slice(0, MAX));
const store = new Map<string, Uint8Array>();
leaves.slice(0, MAX).forEach((h, i) => store.set(`0/${i}`, h));
for (const n of built.nodes) store.set(`${n.level}/${n.index}`, n.hash);

function fetch(plan: ProofPlan, treeSize: number): Uint8Array[] {
  return plan.nodes.map(({ level, index }) => {
    if (!((index + 1) * 2 ** level <= treeSize)) {
      throw new Error(
        `plan names ${level}/${index}, not a complete subtree of a tree of ${treeSize}`,
      );
    }
    const h = store.get(`${level}/${index}`);
    if (!h) throw new Error(`node ${level}/${index} is not stored`);
    return h;
  });
}

function flipBit(h: Uint8Array): Uint8Array {
  const c = h.slice();
  c[7]! ^= 0x10;
  return c;
}

const sizes = Array.from({ length: MAX }, (_, i) => i + 1);
const roots = [EMPTY_ROOT, ...sizes.map((n) => rootFromLeafHashes(leaves.slice(0, n)))];

describe('appendLeafHashes', () => {
  it('emits every complete subtree above the leaves once, children before parents, with correct hashes', () => {
    expect(built.nodes).toHaveLength(MAX - 3); // n - popcount(n) for n = 70 = 0b1000110
    const seen = new Set<string>();
    for (const n of built.nodes) {
      const key = `${n.level}/${n.index}`;
      expect(seen.has(key)).toBe(false);
      if (n.level >= 2) {
        expect(seen.has(`${n.level - 1}/${2 * n.index}`)).toBe(true);
        expect(seen.has(`${n.level - 1}/${2 * n.index + 1}`)).toBe(true);
      }
      seen.add(key);
      const w = 2 ** n.level;
      expect(toHex(n.hash)).toBe(
        toHex(rootFromLeafHashes(leaves.slice(n.index * w, (n.index + 1) * w))),
      );
    }
  });

  it('keeps the frontier equal to the rootPlan nodes and its root equal to the reference root, for sizes 0..70', () => {
    let f: Frontier = EMPTY_FRONTIER;
    for (let n = 0; n <= MAX; n++) {
      expect(f.size).toBe(n);
      expect(toHex(rootOfFrontier(f))).toBe(toHex(roots[n]!));
      const plan = rootPlan(n);
      expect(hexes(f.hashes)).toEqual(hexes(fetch(plan, n)));
      expect(hexes(assemble(plan, fetch(plan, n)))).toEqual([toHex(roots[n]!)]);
      if (n < MAX) f = appendLeafHashes(f, [leaves[n]!]).frontier;
    }
  });

  it('gives identical nodes and frontiers however the leaves are split into batches', () => {
    const whole = appendLeafHashes(EMPTY_FRONTIER, leaves);
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 25; trial++) {
      let f: Frontier = EMPTY_FRONTIER;
      const nodes: NewNode[] = [];
      let i = 0;
      while (i < leaves.length) {
        const take = Math.floor(rand() * (trial % 2 === 0 ? 5 : 40));
        const r = appendLeafHashes(f, leaves.slice(i, i + take));
        nodes.push(...r.nodes);
        f = r.frontier;
        i = Math.min(leaves.length, i + take);
        expect(f.size).toBe(i);
      }
      expect(nodes.map((n) => `${n.level}/${n.index}/${toHex(n.hash)}`)).toEqual(
        whole.nodes.map((n) => `${n.level}/${n.index}/${toHex(n.hash)}`),
      );
      expect(hexes(f.hashes)).toEqual(hexes(whole.frontier.hashes));
    }
  });

  it('does about one node hash per leaf', () => {
    expect(appendLeafHashes(EMPTY_FRONTIER, leaves).nodes.length).toBeLessThan(leaves.length);
  });

  it('rejects a frontier whose hash count does not match its size, and leaf hashes of the wrong size', () => {
    const bad = { size: 3, hashes: [leaves[0]!] };
    expect(() => appendLeafHashes(bad, [])).toThrow(
      expect.objectContaining({ code: 'bad_frontier' }),
    );
    expect(() => rootOfFrontier(bad)).toThrow(MerkleError);
    expect(() => appendLeafHashes(EMPTY_FRONTIER, [new Uint8Array(31)])).toThrow(
      expect.objectContaining({ code: 'bad_hash_size' }),
    );
  });
});

describe.each(sizes)('tree of size %i', (n) => {
  const d = leaves.slice(0, n);

  it('serves every inclusion proof from stored complete subtrees, exactly as RFC 9162 defines it, and it verifies', () => {
    for (let m = 0; m < n; m++) {
      const plan = inclusionPlan(m, n);
      const proof = assemble(plan, fetch(plan, n));
      expect(hexes(proof)).toEqual(hexes(refPath(m, d)));
      expect(() => verifyInclusion(d[m]!, m, n, proof, roots[n]!)).not.toThrow();
      expect(() => verifyInclusion(d[m]!, BigInt(m), BigInt(n), proof, roots[n]!)).not.toThrow();
      for (let i = 0; i < proof.length; i++) {
        const bad = proof.slice();
        bad[i] = flipBit(bad[i]!);
        expect(() => verifyInclusion(d[m]!, m, n, bad, roots[n]!)).toThrow(MerkleError);
      }
      expect(() => verifyInclusion(flipBit(d[m]!), m, n, proof, roots[n]!)).toThrow(MerkleError);
      if (m + 1 < n)
        expect(() => verifyInclusion(d[m]!, m + 1, n, proof, roots[n]!)).toThrow(MerkleError);
    }
  });

  it('serves every consistency proof from stored complete subtrees, exactly as RFC 9162 defines it, and it verifies', () => {
    for (let m = 1; m <= n; m++) {
      const plan = consistencyPlan(m, n);
      const proof = assemble(plan, fetch(plan, n));
      expect(hexes(proof)).toEqual(hexes(refSubproof(m, d, true)));
      expect(() => verifyConsistency(m, n, proof, roots[m]!, roots[n]!)).not.toThrow();
      for (let i = 0; i < proof.length; i++) {
        const bad = proof.slice();
        bad[i] = flipBit(bad[i]!);
        expect(() => verifyConsistency(m, n, bad, roots[m]!, roots[n]!)).toThrow(MerkleError);
      }
      if (m < n) {
        expect(() => verifyConsistency(m, n, proof, flipBit(roots[m]!), roots[n]!)).toThrow(
          MerkleError,
        );
        expect(() => verifyConsistency(m, n, proof, roots[m]!, flipBit(roots[n]!))).toThrow(
          MerkleError,
        );
        expect(() => verifyConsistency(m, n, proof.slice(1), roots[m]!, roots[n]!)).toThrow(
          MerkleError,
        );
        expect(() => verifyConsistency(m, n, [...proof, roots[0]!], roots[m]!, roots[n]!)).toThrow(
          MerkleError,
        );
      }
    }
  });
});

// ---- Sizes up to 2^53 - 1: structure against the RFC recursion in BigInt, hashes on a uniform tree.

type Range = [bigint, bigint];
function refPathRanges(m: bigint, lo: bigint, hi: bigint): Range[] {
  const n = hi - lo;
  if (n <= 1n) return [];
  let k = 1n;
  while (k * 2n < n) k *= 2n;
  return m - lo < k
    ? [...refPathRanges(m, lo, lo + k), [lo + k, hi]]
    : [...refPathRanges(m, lo + k, hi), [lo, lo + k]];
}
function refSubproofRanges(m: bigint, lo: bigint, hi: bigint, b: boolean): Range[] {
  if (m === hi - lo) return b ? [] : [[lo, hi]];
  let k = 1n;
  while (k * 2n < hi - lo) k *= 2n;
  return m <= k
    ? [...refSubproofRanges(m, lo, lo + k, b), [lo + k, hi]]
    : [...refSubproofRanges(m - k, lo + k, hi, false), [lo, lo + k]];
}

/** Checks each plan output covers exactly its reference leaf range with aligned, descending, complete nodes. */
function expectPlanCovers(plan: ProofPlan, ranges: Range[], treeSize: bigint): void {
  expect(plan.outputs).toHaveLength(ranges.length);
  let next = 0;
  plan.outputs.forEach(({ begin, end }, i) => {
    expect(begin).toBe(next);
    expect(end).toBeGreaterThan(begin);
    next = end;
    const [start, stop] = ranges[i]!;
    let pos = start;
    let prevLevel = Infinity;
    for (const node of plan.nodes.slice(begin, end)) {
      const w = 2n ** BigInt(node.level);
      expect(Number.isSafeInteger(node.index)).toBe(true);
      expect(BigInt(node.index) * w).toBe(pos);
      expect(node.level).toBeLessThan(prevLevel);
      prevLevel = node.level;
      pos += w;
    }
    expect(pos).toBe(stop);
    expect(stop <= treeSize).toBe(true);
  });
  expect(next).toBe(plan.nodes.length);
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const bigSizes = [
  2 ** 31 - 1,
  2 ** 31,
  2 ** 31 + 1,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 33 + 12345,
  2 ** 52,
  2 ** 52 + 1,
  2 ** 53 - 2,
  MAX_SAFE,
  5_000_000_000_000_123,
];

// Uniform tree: every leaf has the same hash, so a complete subtree's hash depends on its level only.
const uniform: Uint8Array[] = [hashLeaf(enc.encode('same'))];
for (let k = 1; k <= 53; k++) uniform.push(hashChildren(uniform[k - 1]!, uniform[k - 1]!));
const uniformFetch = (plan: ProofPlan, treeSize: number): Uint8Array[] =>
  plan.nodes.map((n: NodeId) => {
    expect((n.index + 1) * 2 ** n.level <= treeSize).toBe(true);
    return uniform[n.level]!;
  });
const uniformRoot = (treeSize: number): Uint8Array => {
  const plan = rootPlan(treeSize);
  return assemble(plan, uniformFetch(plan, treeSize))[0]!;
};

describe('sizes up to 2^53 - 1', () => {
  it.each(bigSizes)('plans proofs with the RFC 9162 structure in a tree of size %i', (n) => {
    const N = BigInt(n);
    for (const m of [
      0,
      1,
      2,
      255,
      256,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 + 7,
      Math.floor(n / 3),
      n - 2,
      n - 1,
    ]) {
      if (m >= n) continue;
      expectPlanCovers(inclusionPlan(m, n), refPathRanges(BigInt(m), 0n, N), N);
    }
    for (const m of [1, 2, 3, 2 ** 31 + 1, 2 ** 32, Math.floor(n / 2) + 1, n - 1, n]) {
      if (m > n) continue;
      expectPlanCovers(consistencyPlan(m, n), refSubproofRanges(BigInt(m), 0n, N, true), N);
    }
    expectPlanCovers(rootPlan(n), [[0n, N]], N);
  });

  it.each(bigSizes)('verifies proofs assembled on a uniform tree of size %i', (n) => {
    const root = uniformRoot(n);
    for (const m of [0, 2 ** 31 + 3, n - 1]) {
      if (m >= n) continue;
      const plan = inclusionPlan(m, n);
      const proof = assemble(plan, uniformFetch(plan, n));
      expect(() => verifyInclusion(uniform[0]!, m, n, proof, root)).not.toThrow();
      expect(() => verifyInclusion(uniform[0]!, BigInt(m), BigInt(n), proof, root)).not.toThrow();
    }
    for (const m of [1, 3, 2 ** 32 + 1, n - 1]) {
      if (m >= n) continue;
      const plan = consistencyPlan(m, n);
      const proof = assemble(plan, uniformFetch(plan, n));
      expect(() => verifyConsistency(m, n, proof, uniformRoot(m), root)).not.toThrow();
      expect(() => verifyConsistency(m, n, proof, root, root)).toThrow(MerkleError);
    }
  });

  it('appends up to 2^53 - 1 leaves and no further', () => {
    const start = MAX_SAFE - 3; // ...11100
    const frontier = { size: start, hashes: rangeNodes(0, start).map((n) => uniform[n.level]!) };
    const r = appendLeafHashes(frontier, [uniform[0]!, uniform[0]!, uniform[0]!]);
    expect(r.frontier.size).toBe(MAX_SAFE);
    expect(r.nodes.map((n) => [n.level, n.index])).toEqual([[1, start / 2]]);
    expect(toHex(rootOfFrontier(r.frontier))).toBe(toHex(uniformRoot(MAX_SAFE)));
    expect(() => appendLeafHashes(r.frontier, [uniform[0]!])).toThrow(
      expect.objectContaining({ code: 'bad_size' }),
    );
  });

  it('rejects indices and sizes that are not safe non-negative integers', () => {
    const h = uniform[0]!;
    expect(() => verifyInclusion(h, 2n ** 64n - 1n, 8, [], h)).toThrow(
      expect.objectContaining({ code: 'index_out_of_range' }),
    );
    expect(() => verifyInclusion(h, 2n ** 53n, 2n ** 53n + 1n, [], h)).toThrow(
      expect.objectContaining({ code: 'bad_size' }),
    );
    expect(() => verifyInclusion(h, -1, 8, [], h)).toThrow(
      expect.objectContaining({ code: 'index_out_of_range' }),
    );
    expect(() => verifyInclusion(h, 0.5, 8, [], h)).toThrow(
      expect.objectContaining({ code: 'index_out_of_range' }),
    );
    expect(() => verifyInclusion(h, 0, 2 ** 53, [], h)).toThrow(
      expect.objectContaining({ code: 'bad_size' }),
    );
    expect(() => verifyConsistency(1, 2n ** 63n, [], h, h)).toThrow(
      expect.objectContaining({ code: 'bad_size' }),
    );
    expect(() => verifyConsistency(-1, 2, [], h, h)).toThrow(
      expect.objectContaining({ code: 'bad_size' }),
    );
    expect(() => inclusionPlan(8, 8)).toThrow(
      expect.objectContaining({ code: 'index_out_of_range' }),
    );
    expect(() => inclusionPlan(-1, 8)).toThrow(
      expect.objectContaining({ code: 'index_out_of_range' }),
    );
    expect(() => inclusionPlan(0, NaN)).toThrow(expect.objectContaining({ code: 'bad_size' }));
    expect(() => inclusionPlan(0, 2 ** 53)).toThrow(expect.objectContaining({ code: 'bad_size' }));
    expect(() => consistencyPlan(0, 5)).toThrow(expect.objectContaining({ code: 'bad_size' }));
    expect(() => consistencyPlan(6, 5)).toThrow(expect.objectContaining({ code: 'bad_size' }));
    expect(() => rootPlan(-1)).toThrow(expect.objectContaining({ code: 'bad_size' }));
  });
});

describe('plans', () => {
  it('gives an empty consistency proof between equal sizes', () => {
    expect(consistencyPlan(5, 5)).toEqual({ nodes: [], outputs: [] });
    expect(assemble(consistencyPlan(5, 5), [])).toEqual([]);
  });

  it('assembles the empty tree root from the empty plan', () => {
    expect(hexes(assemble(rootPlan(0), []))).toEqual([toHex(EMPTY_ROOT)]);
  });

  it('refuses to assemble a plan from the wrong number or size of hashes', () => {
    const plan = inclusionPlan(3, 8);
    expect(() => assemble(plan, [])).toThrow(expect.objectContaining({ code: 'bad_plan' }));
    expect(() =>
      assemble(
        plan,
        plan.nodes.map(() => new Uint8Array(31)),
      ),
    ).toThrow(expect.objectContaining({ code: 'bad_hash_size' }));
  });

  it('folds the incomplete right subtree of an audit path into one ephemeral hash', () => {
    // Leaf 0 of 7: siblings b (0/1), h (1/1), and l = MTH(D[4:7]) = H(1/2, 0/6).
    expect(inclusionPlan(0, 7)).toEqual({
      nodes: [
        { level: 0, index: 1 },
        { level: 1, index: 1 },
        { level: 1, index: 2 },
        { level: 0, index: 6 },
      ],
      outputs: [
        { begin: 0, end: 1 },
        { begin: 1, end: 2 },
        { begin: 2, end: 4 },
      ],
    });
  });

  it('covers leaf ranges with the fewest complete subtrees', () => {
    expect(rangeNodes(0, 7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(rangeNodes(3, 13)).toEqual([
      { level: 0, index: 3 },
      { level: 2, index: 1 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    expect(rangeNodes(5, 5)).toEqual([]);
  });
});

describe('hashLeafText', () => {
  it('hashes a string as the leaf of its UTF-8 bytes, for any text', () => {
    const texts = [
      '',
      '{"a":1}',
      'caf\u00e9 \u20ac \u{1f600}',
      'x'.repeat(20_000),
      '\u0000 leading nul',
      'lone \ud800 surrogate', // U+FFFD in both encodings
    ];
    for (const t of texts) expect(toHex(hashLeafText(t))).toBe(toHex(hashLeaf(enc.encode(t))));
  });
});
