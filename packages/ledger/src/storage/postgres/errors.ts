import { StorageError } from '../errors.js';

export function appendError(e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const err = e as { code?: string; message?: string };
  if (err.code === '23505') {
    return new StorageError('storage_conflict', 'An entry of this batch is already stored.', {
      cause: err.message,
    });
  }
  return postgresWriteError(e, 'The PostgreSQL ledger refused the write.');
}

export function closedError(): StorageError {
  return new StorageError('storage_unavailable', 'The PostgreSQL ledger was closed.');
}

/** A failed PostgreSQL call as a StorageError: storage_full on a full disk, else storage_unavailable. */
export function postgresWriteError(e: unknown, message: string): StorageError {
  if (e instanceof StorageError) return e;
  // 53100 disk_full: the client can retry once there is room, like SQLite's SQLITE_FULL.
  if ((e as { code?: string }).code === '53100') {
    return new StorageError('storage_full', 'The PostgreSQL server is out of disk space.', {
      cause: (e as Error).message,
    });
  }
  return new StorageError('storage_unavailable', message, { cause: (e as Error).message });
}
