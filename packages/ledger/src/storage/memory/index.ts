export { MemoryStorage } from './storage.js';
