export * from './hash.js';
export * from './tree.js';
export * from './node.js';
export * from './plan.js';
export * from './verify.js';
export * from './append.js';
export * from './errors.js';
