/** An external AuthZEN PDP as the decision point's engine. */
export { AuthzenEngine, checkPdpUrl, toAuthzen } from './engine.js';
export type { AuthzenEngineOptions } from './engine.js';
