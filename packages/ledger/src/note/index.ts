export * from './keys.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './errors.js';
