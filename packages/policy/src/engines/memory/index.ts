/** The memory engine, for tests: policies are functions, a set's files name the ones in force. */
export { MemoryEngine } from './engine.js';
export type { MemoryEngineOptions, MemoryPolicy } from './engine.js';
