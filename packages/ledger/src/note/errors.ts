// One error class for signed notes wherever they are opened (the runtime-neutral verifier throws
// it); the codes are listed where it is defined, in `@provenant/core/verify`.
export { NoteError } from '@provenant/core/verify';
export type { NoteErrorCode } from '@provenant/core/verify';
