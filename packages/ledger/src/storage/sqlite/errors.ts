import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from '../errors.js';

/**
 * Whether a failed write means "no space": SQLITE_FULL, or an I/O error (a short write, a failed
 * fsync or -shm extension, which SQLite reports as SQLITE_IOERR_*) while the file system holding
 * the ledger has (almost) no free space. WAL checkpoints that fail for lack of space need no
 * mapping: SQLite ignores them after the commit and retries at the next one, and the WAL keeps
 * every committed frame meanwhile.
 */
function isOutOfSpace(code: unknown, file: string): boolean {
  if (code === 'SQLITE_FULL') return true;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_IOERR')) return false;
  const free = freeBytes(file);
  return free !== null && free < LOW_SPACE_BYTES;
}

export const LOW_SPACE_BYTES = 1024 * 1024;

/**
 * A failed write to a SQLite file (the ledger, or the registry and policy stores sharing it) as
 * a StorageError: `storage_full` when it failed for lack of space, else `storage_unavailable`.
 */
export function sqliteWriteError(e: unknown, file: string, message: string): StorageError {
  if (e instanceof StorageError) return e;
  const code = (e as { code?: unknown }).code;
  const details = { cause: (e as Error).message, sqlite_code: code };
  return isOutOfSpace(code, file)
    ? new StorageError('storage_full', `The disk holding ${file} is full.`, details)
    : new StorageError('storage_unavailable', message, details);
}

/** Free bytes on the file system holding `file` (for an unprivileged writer), or null. */
export function freeBytes(file: string): number | null {
  try {
    const s = statfsSync(dirname(file));
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
