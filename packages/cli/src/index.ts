export { main, USAGE } from './main.js';
export type { CommandContext } from './main.js';
export { EXIT } from './lib/errors.js';
