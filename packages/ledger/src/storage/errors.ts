import { ProvenantError } from '@provenant/core';

export type StorageErrorCode =
  | 'storage_conflict' // the batch was built on another size than the stored one
  | 'storage_corrupt' // stored data is missing or contradicts itself
  | 'storage_unavailable'
  | 'storage_full' // the disk (or file system quota) has no room for the write; nothing was stored
  | 'storage_read_only';

export class StorageError extends ProvenantError {
  declare readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
