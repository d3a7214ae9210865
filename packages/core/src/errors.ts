/**
 * One error base for every Provenant package. `code` is a stable snake_case string that
 * callers (and the HTTP layer) switch on; the message is for humans and may change.
 */
export class ProvenantError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export const isProvenantError = (e: unknown): e is ProvenantError => e instanceof ProvenantError;
