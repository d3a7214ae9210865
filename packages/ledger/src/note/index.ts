export * from './keys.js';
export * from './note.js';
export * from './errors.js';
export {
  formatCheckpoint,
  hasSha256RootHash,
  parseCheckpoint,
  type Checkpoint,
} from '@provenant/core/verify';
