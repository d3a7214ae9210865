// One error class for evidence bundles wherever they are checked (the runtime-neutral verifier
// throws it); the codes are listed where it is defined, in `@provenant/core/verify`.
export { EvidenceError } from '@provenant/core/verify';
export type { EvidenceErrorCode } from '@provenant/core/verify';
