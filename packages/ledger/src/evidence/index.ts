export * from './chain.js';
export * from './bundle.js';
export * from './errors.js';
export {
  TLOG_PROOF_HEADER,
  formatTlogProof,
  parseTlogProof,
  type TlogProof,
} from '@provenant/core/verify';
