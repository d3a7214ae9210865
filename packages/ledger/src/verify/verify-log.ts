import { ProvenantError } from '@provenant/core/errors';
import { appendLeafHashes, hashLeaf, rootOfFrontier } from '../merkle/index.js';
import type { Frontier } from '../merkle/index.js';
import { openNote, parseCheckpoint } from '../note/index.js';
import type { Checkpoint, NoteVerifierKey } from '../note/index.js';
import { equalBytes } from '@provenant/core/vocabulary';
import type { LeafSource } from '../storage/port.js';

/** Why a log failed verification; `leafIndex` names the first bad leaf when it is known. */
export type LogVerificationCode =
  | 'bad_checkpoint_signature'
  | 'bad_checkpoint'
  | 'key_changed' // a known origin now presents another key
  | 'missing_entry' // a gap in the leaf sequence
  | 'leaf_hash_mismatch' // the record bytes do not hash to the leaf hash stored with them
  | 'subtree_mismatch' // leaves reordered or altered under a stored subtree hash
  | 'unsigned_entries' // entries beyond the signed checkpoint
  | 'log_truncated' // fewer entries than a signed or previously seen checkpoint
  | 'root_mismatch' // the recomputed root is not the signed one
  | 'inconsistent_with_known'; // the log forked from a checkpoint seen before

export class LogVerificationError extends ProvenantError {
  declare readonly code: LogVerificationCode;
  readonly leafIndex: number | undefined;
  constructor(code: LogVerificationCode, message: string, leafIndex?: number) {
    super(code, message, leafIndex === undefined ? undefined : { leafIndex });
    this.leafIndex = leafIndex;
  }
}

/** One entry as read back from storage or a tile: its leaf data and, if kept, its stored hash. */
export type { LeafSource };

/** A checkpoint the verifier saw earlier (from `~/.provenant/known/`). */
export interface KnownCheckpoint {
  readonly origin: string;
  readonly verifierKey: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

export interface VerifyLogInput {
  /** The latest signed checkpoint note of the log. */
  readonly checkpointNote: string;
  readonly verifier: NoteVerifierKey;
  readonly verifierKeyString: string;
  /** Entries in leaf order, in chunks; the verifier never holds more than one chunk. */
  readonly chunks: AsyncIterable<readonly LeafSource[]> | Iterable<readonly LeafSource[]>;
  /**
   * Stored hashes of complete subtrees at one level (>= 1), indices [start, start + count), in
   * order, undefined where none is stored: to localise reordered leaves. One call per level and
   * chunk keeps this to a range read, not a query per node.
   */
  readonly storedNodes?: (
    level: number,
    start: number,
    count: number,
  ) => readonly (Uint8Array | undefined)[] | Promise<readonly (Uint8Array | undefined)[]>;
  readonly known?: KnownCheckpoint | undefined;
  readonly onProgress?: (verified: number, total: number) => void;
}

export interface VerifiedLog {
  readonly checkpoint: Checkpoint;
}

/**
 * Recomputes every leaf hash and the tree root from the stored records, and checks them against
 * the signed checkpoint and against the last checkpoint this verifier saw. Throws
 * LogVerificationError naming the first bad leaf; trusts nothing the log says about itself.
 */
export async function verifyLog(input: VerifyLogInput): Promise<VerifiedLog> {
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(openNote(input.checkpointNote, [input.verifier]).text);
  } catch (e) {
    throw new LogVerificationError(
      'bad_checkpoint_signature',
      `The checkpoint is not validly signed by ${input.verifier.name}: ${(e as Error).message}`,
    );
  }
  if (checkpoint.rootHash.length !== 32 || checkpoint.origin !== input.verifier.name) {
    throw new LogVerificationError(
      'bad_checkpoint',
      'The checkpoint origin or root hash is malformed.',
    );
  }
  const known = input.known;
  if (known) {
    if (known.verifierKey !== input.verifierKeyString) {
      throw new LogVerificationError(
        'key_changed',
        `Log ${known.origin} was last seen with key ${known.verifierKey}; now it presents ${input.verifierKeyString}.`,
      );
    }
    if (checkpoint.size < known.size) {
      throw new LogVerificationError(
        'log_truncated',
        `The signed checkpoint has ${checkpoint.size} entries but ${known.size} were seen before.`,
        checkpoint.size,
      );
    }
  }

  let frontier: Frontier = { size: 0, hashes: [] };
  const checkKnownAt = (size: number, root: Uint8Array) => {
    if (known && size === known.size && !equalBytes(root, known.rootHash)) {
      throw new LogVerificationError(
        'inconsistent_with_known',
        `The first ${known.size} entries no longer hash to the root seen before: the log was rewritten.`,
      );
    }
  };
  if (known && known.size === 0) checkKnownAt(0, rootOfFrontier(frontier));

  for await (const chunk of input.chunks) {
    const leafHashes: Uint8Array[] = [];
    for (const entry of chunk) {
      const expected = frontier.size + leafHashes.length;
      if (entry.leafIndex !== expected) {
        throw new LogVerificationError(
          'missing_entry',
          `Leaf ${expected} is missing (the next stored entry is leaf ${entry.leafIndex}).`,
          expected,
        );
      }
      if (expected >= checkpoint.size) {
        throw new LogVerificationError(
          'unsigned_entries',
          `Leaf ${expected} and after are not covered by the signed checkpoint of size ${checkpoint.size}.`,
          expected,
        );
      }
      const leafHash = hashLeaf(entry.data);
      if (entry.storedLeafHash && !equalBytes(leafHash, entry.storedLeafHash)) {
        throw new LogVerificationError(
          'leaf_hash_mismatch',
          `Leaf ${expected}: the record's bytes do not hash to the leaf hash stored when it was appended (the record was edited).`,
          expected,
        );
      }
      leafHashes.push(leafHash);
      // Check a known size that falls inside this chunk exactly at its position.
      if (known && expected + 1 === known.size) {
        const partial = appendLeafHashes(frontier, leafHashes);
        frontier = partial.frontier;
        await checkNodes(partial.nodes, input.storedNodes);
        leafHashes.length = 0;
        checkKnownAt(frontier.size, rootOfFrontier(frontier));
      }
    }
    if (leafHashes.length > 0) {
      const next = appendLeafHashes(frontier, leafHashes);
      await checkNodes(next.nodes, input.storedNodes);
      frontier = next.frontier;
    }
    input.onProgress?.(frontier.size, checkpoint.size);
  }

  if (frontier.size < checkpoint.size) {
    throw new LogVerificationError(
      'log_truncated',
      `The signed checkpoint covers ${checkpoint.size} entries but only ${frontier.size} are stored; leaf ${frontier.size} is the first missing.`,
      frontier.size,
    );
  }
  const root = rootOfFrontier(frontier);
  if (!equalBytes(root, checkpoint.rootHash)) {
    throw new LogVerificationError(
      'root_mismatch',
      `The ${frontier.size} stored entries do not hash to the signed root: entries were altered, reordered or replaced.`,
    );
  }
  return { checkpoint };
}

async function checkNodes(
  nodes: readonly { level: number; index: number; hash: Uint8Array }[],
  storedNodes: VerifyLogInput['storedNodes'],
): Promise<void> {
  if (!storedNodes || nodes.length === 0) return;
  // Nodes completed by appending a run of leaves form one index range per level.
  const byLevel = new Map<number, { level: number; index: number; hash: Uint8Array }[]>();
  for (const n of nodes) {
    const list = byLevel.get(n.level);
    if (list) list.push(n);
    else byLevel.set(n.level, [n]);
  }
  let first: { level: number; index: number } | undefined;
  for (const [level, list] of byLevel) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const n of list) {
      if (n.index < lo) lo = n.index;
      if (n.index > hi) hi = n.index;
    }
    const stored = await storedNodes(level, lo, hi - lo + 1);
    for (const n of list) {
      const s = stored[n.index - lo];
      if (s && !equalBytes(s, n.hash)) {
        // Report the finest mismatching subtree (it localises best), the first one on ties.
        if (!first || n.level < first.level || (n.level === first.level && n.index < first.index)) {
          first = n;
        }
      }
    }
  }
  if (first) {
    const start = first.index * 2 ** first.level;
    const last = start + 2 ** first.level - 1;
    throw new LogVerificationError(
      'subtree_mismatch',
      `Leaves ${start}..${last} no longer hash to the subtree hash stored when they were appended (records reordered, swapped or altered).`,
      start,
    );
  }
}
