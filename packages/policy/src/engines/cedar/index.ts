/** The Cedar engine: `engine.ts` implements the port, `parse.ts` reads policies and their ids. */
export { CedarEngine } from './engine.js';
