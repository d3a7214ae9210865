import type { LeafSource, LogStorage } from '../storage/port.js';
import { readLevelRange } from '../tiles/read.js';
import type { VerifyLogInput } from './verify-log.js';

/** Leaves read per chunk: the verifier holds one chunk at a time. */
const CHUNK = 4096;

/**
 * What `verifyLog` reads from a stored log, through the storage port only, so every driver is
 * verified by the same path: the leaves of [0, size) in chunks (`readLeaves`), and the stored
 * hash tiles (`getTiles`) that the recomputed tree is compared with, localising reordered leaves,
 * and the inner tiles kept beside them.
 */
export function storedLogInput(
  storage: Pick<LogStorage, 'readLeaves' | 'getTiles'>,
  size: number,
): Pick<VerifyLogInput, 'chunks' | 'storedNodes' | 'storedTiles'> {
  // One chunk read ahead: while the verifier hashes a chunk, the next one is read (by the
  // database server, or SQLite's read worker thread), so reading and hashing share the cores.
  const read = (start: number) =>
    start < size ? storage.readLeaves(start, Math.min(CHUNK, size - start)) : null;
  async function* chunks(): AsyncIterable<LeafSource[]> {
    let next = read(0);
    for (let start = 0; next !== null; start += CHUNK) {
      const current = await next;
      next = read(start + CHUNK);
      // A read ahead that fails while this chunk is verified is reported when it is awaited.
      next?.catch(() => {});
      yield current;
    }
  }
  return {
    chunks: chunks(),
    storedNodes: (level, start, count) => readLevelRange(storage, level, start, count),
    storedTiles: (ids) => storage.getTiles(ids),
  };
}
