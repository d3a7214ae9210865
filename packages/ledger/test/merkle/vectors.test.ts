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
  inclusionPlan,
  rootFromInclusionProof,
  rootFromLeafHashes,
  rootOfFrontier,
  rootPlan,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';
import type { ProofPlan } from '../../src/merkle/index.js';
import { asInt, b64, hex, loadVectors, toHex } from '../vectors.js';

interface InclusionKat {
  leaf_1based_in_source: number;
  treeSize: number;
  proof: string[];
  leafIndex: number | null;
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
  expectValid: boolean;
}
interface InclusionProbe {
  file: string;
  leafIdx: number | string;
  treeSize: number | string;
  root: string;
  root_b64: string;
  leafHash: string;
  leafHash_b64: string;
  proof: string[] | null;
  proof_b64: string[] | null;
  wantErr: boolean;
}
interface ConsistencyProbe {
  file: string;
  size1: number | string;
  size2: number | string;
  root1: string;
  root1_b64: string;
  root2: string;
  root2_b64: string;
  proof: string[] | null;
  proof_b64: string[] | null;
  wantErr: boolean;
}
interface Vectors {
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
  inclusionProofsKAT: InclusionKat[];
  consistencyProofsKAT: ConsistencyKat[];
  goldenProbes: { inclusion: InclusionProbe[]; consistency: ConsistencyProbe[] };
  derivedRfc9162Example: {
    treeSize: number;
    root: string;
    nodes: Record<string, string>;
    inclusion: (InclusionKat & { rfcNames: string[] })[];
    consistency: (ConsistencyKat & { rfcNames: string[] })[];
  };
  counts: Record<string, number>;
}

const v = loadVectors<Vectors>('rfc6962-merkle.json');
const tree = v.referenceTree;
const leafHashes = tree.leafInputsHex.map((x) => hashLeaf(hex(x)));

// Every complete subtree of the 8-leaf reference tree, as a store would hold it.
const store = new Map<string, Uint8Array>();
leafHashes.forEach((h, i) => store.set(`0/${i}`, h));
for (const n of appendLeafHashes(EMPTY_FRONTIER, leafHashes).nodes)
  store.set(`${n.level}/${n.index}`, n.hash);

function fetchPlan(plan: ProofPlan, treeSize: number): Uint8Array[] {
  return plan.nodes.map(({ level, index }) => {
    expect((index + 1) * 2 ** level).toBeLessThanOrEqual(treeSize); // complete, inside the tree
    const h = store.get(`${level}/${index}`);
    if (!h) throw new Error(`node ${level}/${index} not stored`);
    return h;
  });
}

const hexes = (hs: readonly Uint8Array[]): string[] => hs.map(toHex);

describe('RFC 6962 vectors: counts', () => {
  it('has exactly the number of vectors the file declares', () => {
    const c = v.counts;
    expect(tree.leafInputsHex).toHaveLength(c.leafInputs!);
    expect(Object.keys(tree.rootsBySize)).toHaveLength(c.rootsBySize!);
    expect(tree.nodeHashesByLevel.levels.flat()).toHaveLength(c.nodeHashes!);
    expect(v.hasherVectors).toHaveLength(c.hasherVectors!);
    expect(v.inclusionProofsKAT.filter((k) => k.expectValid === true)).toHaveLength(
      c.inclusionProofsKAT_valid!,
    );
    expect(v.consistencyProofsKAT.filter((k) => k.expectValid)).toHaveLength(
      c.consistencyProofsKAT_valid!,
    );
    expect(v.goldenProbes.inclusion).toHaveLength(c.inclusionProbes!);
    expect(v.goldenProbes.inclusion.filter((p) => !p.wantErr)).toHaveLength(
      c.inclusionProbes_wantErr_false!,
    );
    expect(v.goldenProbes.consistency).toHaveLength(c.consistencyProbes!);
    expect(v.goldenProbes.consistency.filter((p) => !p.wantErr)).toHaveLength(
      c.consistencyProbes_wantErr_false!,
    );
    expect(v.derivedRfc9162Example.inclusion).toHaveLength(c.derived_rfc_example_inclusion!);
    expect(v.derivedRfc9162Example.consistency).toHaveLength(c.derived_rfc_example_consistency!);
  });

  it('keeps 64-bit probe indices exact instead of rounding them', () => {
    const big = v.goldenProbes.inclusion.filter((p) => typeof p.leafIdx === 'string');
    expect(big).toHaveLength(2);
    for (const p of big) expect(asInt(p.leafIdx)).toBe(18446744073709551615n);
  });
});

describe('RFC 6962 hasher vectors', () => {
  it.each(v.hasherVectors)('$desc', (h) => {
    if (h.leafInputHex !== undefined) {
      expect(toHex(hashLeaf(hex(h.leafInputHex)))).toBe(h.want);
    } else if (h.leftHex !== undefined && h.rightHex !== undefined) {
      expect(toHex(hashChildren(hex(h.leftHex), hex(h.rightHex)))).toBe(h.want);
    } else {
      expect(toHex(EMPTY_ROOT)).toBe(h.want);
      expect(toHex(rootFromLeafHashes([]))).toBe(h.want);
    }
  });
});

describe('RFC 6962 reference tree', () => {
  it.each(tree.leafInputsHex.map((x, i) => ({ i, x })))(
    'leaf $i hashes to the reference leaf hash',
    ({ i, x }) => {
      expect(toHex(hashLeaf(hex(x)))).toBe(tree.leafHashes[i]);
    },
  );

  const nodes = tree.nodeHashesByLevel.levels.flatMap((hs, level) =>
    hs.map((h, index) => ({ level, index, h })),
  );
  it.each(nodes)(
    'node $level/$index matches the reference (built by appendLeafHashes)',
    ({ level, index, h }) => {
      expect(toHex(store.get(`${level}/${index}`)!)).toBe(h);
    },
  );

  it('appendLeafHashes produces exactly the 7 reference nodes above the leaves', () => {
    expect(appendLeafHashes(EMPTY_FRONTIER, leafHashes).nodes).toHaveLength(nodes.length - 8);
  });

  const roots = Object.entries(tree.rootsBySize).map(([size, root]) => ({
    size: Number(size),
    root,
  }));
  it.each(roots)(
    'root of size $size matches by reference, frontier and rootPlan',
    ({ size, root }) => {
      expect(toHex(rootFromLeafHashes(leafHashes.slice(0, size)))).toBe(root);
      const { frontier } = appendLeafHashes(EMPTY_FRONTIER, leafHashes.slice(0, size));
      expect(toHex(rootOfFrontier(frontier))).toBe(root);
      const plan = rootPlan(size);
      expect(hexes(assemble(plan, fetchPlan(plan, size)))).toEqual([root]);
      expect(hexes(frontier.hashes)).toEqual(hexes(fetchPlan(plan, size)));
    },
  );
});

describe('RFC 6962 inclusion proof KATs', () => {
  const valid = v.inclusionProofsKAT.filter((k) => k.expectValid === true);
  it.each(valid)('leaf $leafIndex in a tree of size $treeSize verifies and is reproduced', (k) => {
    const proof = k.proof.map(hex);
    const leafHash = hex(k.leafHash!);
    const root = hex(k.expectedRoot!);
    expect(() => verifyInclusion(leafHash, k.leafIndex!, k.treeSize, proof, root)).not.toThrow();
    expect(toHex(rootFromInclusionProof(leafHash, k.leafIndex!, k.treeSize, proof))).toBe(
      k.expectedRoot,
    );
    const plan = inclusionPlan(k.leafIndex!, k.treeSize);
    expect(hexes(assemble(plan, fetchPlan(plan, k.treeSize)))).toEqual(k.proof);
  });

  it('the source entry marked invalid (tree size 0) has no plan and never verifies', () => {
    const invalid = v.inclusionProofsKAT.filter((k) => k.expectValid !== true);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.treeSize).toBe(0);
    expect(() => inclusionPlan(0, 0)).toThrow(MerkleError);
    expect(() => verifyInclusion(leafHashes[0]!, 0, 0, [], EMPTY_ROOT)).toThrow(MerkleError);
  });
});

describe('RFC 6962 consistency proof KATs', () => {
  it.each(v.consistencyProofsKAT)('from size $size1 to $size2 verifies and is reproduced', (k) => {
    expect(k.expectValid).toBe(true);
    const proof = k.proof.map(hex);
    expect(() =>
      verifyConsistency(k.size1, k.size2, proof, hex(k.root1), hex(k.root2)),
    ).not.toThrow();
    expect(k.root1).toBe(tree.rootsBySize[k.size1]);
    expect(k.root2).toBe(tree.rootsBySize[k.size2]);
    const plan = consistencyPlan(k.size1, k.size2);
    expect(hexes(assemble(plan, fetchPlan(plan, k.size2)))).toEqual(k.proof);
  });
});

describe('RFC 9162 §2.1.5 example (derived)', () => {
  const ex = v.derivedRfc9162Example;
  it('the example root is the reference root of size 7', () => {
    expect(ex.root).toBe(tree.rootsBySize['7']);
  });
  it.each(ex.inclusion)('inclusion of leaf $leafIndex is $rfcNames', (k) => {
    expect(k.rfcNames.map((n) => ex.nodes[n])).toEqual(k.proof);
    expect(() =>
      verifyInclusion(
        hex(k.leafHash!),
        k.leafIndex!,
        k.treeSize,
        k.proof.map(hex),
        hex(k.expectedRoot!),
      ),
    ).not.toThrow();
    const plan = inclusionPlan(k.leafIndex!, k.treeSize);
    expect(hexes(assemble(plan, fetchPlan(plan, k.treeSize)))).toEqual(k.proof);
  });
  it.each(ex.consistency)('consistency from $size1 to $size2 is $rfcNames', (k) => {
    expect(k.rfcNames.map((n) => ex.nodes[n])).toEqual(k.proof);
    expect(() =>
      verifyConsistency(k.size1, k.size2, k.proof.map(hex), hex(k.root1), hex(k.root2)),
    ).not.toThrow();
    const plan = consistencyPlan(k.size1, k.size2);
    expect(hexes(assemble(plan, fetchPlan(plan, k.size2)))).toEqual(k.proof);
  });
});

function checkBase64Twins(pairs: [string, string][]): void {
  for (const [h, b] of pairs) expect(toHex(b64(b))).toBe(h);
}

describe('transparency-dev golden probes: inclusion', () => {
  it.each(v.goldenProbes.inclusion)('$file (wantErr $wantErr)', (p) => {
    checkBase64Twins([
      [p.root, p.root_b64],
      [p.leafHash, p.leafHash_b64],
      ...(p.proof ?? []).map((x, i): [string, string] => [x, p.proof_b64![i]!]),
    ]);
    const run = (): void =>
      verifyInclusion(
        hex(p.leafHash),
        asInt(p.leafIdx),
        asInt(p.treeSize),
        (p.proof ?? []).map(hex),
        hex(p.root),
      );
    if (p.wantErr) expect(run).toThrow(MerkleError);
    else expect(run).not.toThrow();
  });
});

describe('transparency-dev golden probes: consistency', () => {
  it.each(v.goldenProbes.consistency)('$file (wantErr $wantErr)', (p) => {
    checkBase64Twins([
      [p.root1, p.root1_b64],
      [p.root2, p.root2_b64],
      ...(p.proof ?? []).map((x, i): [string, string] => [x, p.proof_b64![i]!]),
    ]);
    const run = (): void =>
      verifyConsistency(
        asInt(p.size1),
        asInt(p.size2),
        (p.proof ?? []).map(hex),
        hex(p.root1),
        hex(p.root2),
      );
    if (p.wantErr) expect(run).toThrow(MerkleError);
    else expect(run).not.toThrow();
  });
});
