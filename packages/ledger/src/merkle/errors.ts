// One error class for the Merkle rules wherever they run (the runtime-neutral verifier throws it).
export { MerkleError } from '@provenant/core/verify';
export type { MerkleErrorCode } from '@provenant/core/verify';
