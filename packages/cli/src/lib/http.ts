import { CliError, EXIT } from './errors.js';

/**
 * GET a collector route, with `token` as the bearer credential when given (lib/credential.ts);
 * network and HTTP failures become CLI errors with the server's code.
 */
export async function httpGet(url: string, token?: string): Promise<Response> {
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
    throw new HttpError(`${new URL(url).pathname} failed (${detail}).`, res.status, serverCode);
  }
  return res;
}

/** A route that answered an HTTP error: its status and the server's error code, if it sent one. */
export class HttpError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly serverCode: string | undefined,
  ) {
    super('server_error', message, EXIT.unavailable);
  }
}
