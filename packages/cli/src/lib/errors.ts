import { ProvenantError } from '@provenant/core/errors';

/** Process exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  verificationFailed: 1,
  usage: 2,
  unavailable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line and turns into an exit code. */
export class CliError extends ProvenantError {
  readonly exitCode: ExitCode;
  constructor(code: string, message: string, exitCode: ExitCode) {
    super(code, message);
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string) => new CliError('usage', message, EXIT.usage);
