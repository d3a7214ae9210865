export * from './cosignature.js';
export * from './request.js';
export * from './store.js';
export * from './witness.js';
export * from './policy.js';
export * from './errors.js';
