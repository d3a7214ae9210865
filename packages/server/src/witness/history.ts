// The rule that the collector never extends a history its own publications show to be ahead:
// the cosigned checkpoint kept in the data folder and the witnesses' answers are evidence of
// checkpoints this log's key signed and others saw. A stored tree that is smaller than such a
// checkpoint (rolled back, truncated) or has another root at its size (replaced, forked) would
// hand out leaf indices already published for other records, so the log refuses every append
// (`log_behind_witness`) while any such evidence stands.
import { readFileSync } from 'node:fs';
import { equalBytes, openNote, parseCheckpoint } from '@provenant/ledger';
import type { Log } from '@provenant/ledger';

/** How a checkpoint this log published relates to the stored tree. */
export type Relation =
  | { readonly kind: 'contained'; readonly size: number }
  /** Larger than the stored tree: the tree lost entries it had. */
  | { readonly kind: 'behind'; readonly size: number }
  /** Another root at a size the tree has: another history under the same key. */
  | { readonly kind: 'fork'; readonly size: number }
  /** Not a checkpoint signed by this log's key. */
  | { readonly kind: 'foreign' };

/** Compares a signed checkpoint note with the stored tree. */
export async function relationToLog(log: Log, note: string): Promise<Relation> {
  let checkpoint;
  try {
    checkpoint = parseCheckpoint(openNote(note, [log.noteVerifier()]).text);
  } catch {
    return { kind: 'foreign' };
  }
  const { size, rootHash } = checkpoint;
  if (size > log.size) return { kind: 'behind', size };
  if (size === 0) return { kind: 'contained', size };
  // A tree that cannot produce its root at that size (a node missing) does not contain it either.
  const root = await log.rootAt(size).catch(() => null);
  return root !== null && equalBytes(root, rootHash)
    ? { kind: 'contained', size }
    : { kind: 'fork', size };
}

/** One piece of evidence that the stored tree does not extend what this log published. */
export interface HistoryProblem {
  /** `cosigned-checkpoint` or `witness <name>`. */
  readonly source: string;
  readonly kind: 'behind' | 'fork';
  /** The size of the published checkpoint the evidence is about. */
  readonly size: number;
  readonly message: string;
}

const FILE_SOURCE = 'cosigned-checkpoint';

/**
 * The evidence this collector holds about its log's published history, applied to the log:
 * while any stands, `log.refuseExtension` refuses appends. A witness's evidence is replaced by
 * its next answer (a cosignature clears it); the data folder's checkpoint is checked again by
 * `recheck` (a cluster member's tree can grow back when an operator restores the entries).
 */
export class PublishedHistory {
  private readonly problems = new Map<string, HistoryProblem>();
  /** The cosigned checkpoint read at start, while it is not contained in the tree. */
  private fileNote: string | null = null;

  constructor(private readonly log: Log) {}

  /** Reads the cosigned checkpoint kept in the data folder (none is no evidence). */
  async loadCosignedFile(file: string): Promise<Relation | null> {
    let note: string;
    try {
      note = readFileSync(file, 'utf8');
    } catch {
      return null;
    }
    const relation = await relationToLog(this.log, note);
    if (relation.kind === 'behind' || relation.kind === 'fork') this.fileNote = note;
    this.noteFile(relation);
    return relation;
  }

  /** What a witness answered: the size it cosigned is ahead of or beside the tree, or null (it cosigned). */
  witnessSaid(name: string, evidence: Omit<HistoryProblem, 'source'> | null): void {
    this.set(
      `witness ${name}`,
      evidence === null ? null : { source: `witness ${name}`, ...evidence },
    );
  }

  /** Checks the data folder's checkpoint against the tree again (it may have grown back). */
  async recheck(): Promise<void> {
    if (this.fileNote === null) return;
    const relation = await relationToLog(this.log, this.fileNote);
    if (relation.kind !== 'behind' && relation.kind !== 'fork') this.fileNote = null;
    this.noteFile(relation);
  }

  list(): HistoryProblem[] {
    return [...this.problems.values()];
  }

  private noteFile(relation: Relation): void {
    if (relation.kind === 'behind') {
      this.set(FILE_SOURCE, {
        source: FILE_SOURCE,
        kind: 'behind',
        size: relation.size,
        message: `The cosigned checkpoint in the data folder has size ${relation.size}, beyond the stored log's ${this.log.size}: the ledger was rolled back or truncated.`,
      });
    } else if (relation.kind === 'fork') {
      this.set(FILE_SOURCE, {
        source: FILE_SOURCE,
        kind: 'fork',
        size: relation.size,
        message: `The cosigned checkpoint in the data folder has another root at size ${relation.size} than the stored log: the ledger was replaced.`,
      });
    } else {
      this.set(FILE_SOURCE, null);
    }
  }

  private set(source: string, problem: HistoryProblem | null): void {
    if (problem === null) this.problems.delete(source);
    else this.problems.set(source, problem);
    const first = this.problems.values().next().value;
    this.log.refuseExtension(
      first === undefined
        ? null
        : `${first.message} Appends are refused until the missing entries are restored (docs/OPERATIONS.md).`,
    );
  }
}
