import { CliError, EXIT } from './errors.js';
import type { ExitCode } from './errors.js';

/**
 * GET a collector route, with `token` as the bearer credential when given (lib/credential.ts);
 * network and HTTP failures become CLI errors with the server's code. `fromInput: false` for a
 * route the user's input does not shape (the log's tiles and checkpoint, metadata): its 4xx
 * means the server cannot be read as a Provenant collector (exit 3), not a usage error.
 */
export async function httpGet(
  url: string,
  token?: string,
  { fromInput = true }: { fromInput?: boolean } = {},
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(30_000),
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  } catch (e) {
    throw new CliError(
      'server_unreachable',
      `Cannot reach ${new URL(url).origin}: ${(e as Error).cause ? String((e as { cause: { message?: string } }).cause.message) : (e as Error).message}.`,
      EXIT.unavailable,
    );
  }
  if (!res.ok) {
    let detail = `HTTP ${res.status}`;
    let serverCode: string | undefined;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      if (body.error?.code) {
        serverCode = body.error.code;
        detail = `${body.error.code}: ${body.error.message ?? ''}`;
      }
    } catch {
      // not a JSON error body; the status says enough
    }
    throw new HttpError(
      `${new URL(url).pathname} failed (${detail}).`,
      res.status,
      serverCode,
      fromInput ? exitCodeOfStatus(res.status) : EXIT.unavailable,
    );
  }
  return res;
}

/**
 * The exit code of an HTTP error answer: the request the command built from its input was
 * refused as wrong — a bad parameter or cursor (400), an id that names nothing (404), a body
 * the server cannot take (409, 413, 422) — is a usage error (2), like a bad flag; anything
 * else (no credential or role, 401/403; the server failing or busy, 5xx, 429) means the log or
 * the server could not be read (3).
 */
export function exitCodeOfStatus(status: number): ExitCode {
  return [400, 404, 409, 413, 422].includes(status) ? EXIT.usage : EXIT.unavailable;
}

/** A route that answered an HTTP error: its status and the server's error code, if it sent one. */
export class HttpError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly serverCode: string | undefined,
    exitCode: ExitCode = exitCodeOfStatus(status),
  ) {
    super('server_error', message, exitCode);
  }
}
