export * from './chain.js';
export * from './tlog-proof.js';
export * from './bundle.js';
export * from './errors.js';
