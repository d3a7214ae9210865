// One error class for witness cosignatures wherever they are checked (the runtime-neutral
// verifier throws it); the codes are listed where it is defined, in `@provenant/core/verify`.
export { WitnessError } from '@provenant/core/verify';
export type { WitnessErrorCode } from '@provenant/core/verify';
