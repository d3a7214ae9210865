import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT, usageError } from './errors.js';
import { readTextFile } from './files.js';
import { exitCodeOfStatus } from './http.js';

/** The admin token: --admin-token, $PROVENANT_ADMIN_TOKEN, or <data>/admin.token. */
export function adminToken(
  flag: string | undefined,
  dataDir: string | undefined,
  env: NodeJS.ProcessEnv,
): string {
  if (flag) return flag;
  if (env['PROVENANT_ADMIN_TOKEN']) return env['PROVENANT_ADMIN_TOKEN'];
  const file = join(dataDir ?? env['PROVENANT_DATA'] ?? 'provenant-data', 'admin.token');
  if (!existsSync(file)) {
    throw usageError(
      `No admin token: pass --admin-token, set PROVENANT_ADMIN_TOKEN, or --data DIR holding admin.token.`,
    );
  }
  return readTextFile(file).trim();
}

/** A JSON request with the admin token; server errors become CLI errors with the server's code. */
export async function adminRequest(url: string, token: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new CliError(
      'server_unreachable',
      `Cannot reach ${new URL(url).origin}: ${(e as Error).message}.`,
      EXIT.unavailable,
    );
  }
  const answer = (await res.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string };
  };
  if (!res.ok) {
    const code = answer.error?.code ?? `HTTP ${res.status}`;
    // A wrong admin token is the caller's mistake too (--token, --data).
    const exit = res.status === 401 ? EXIT.usage : exitCodeOfStatus(res.status);
    throw new CliError(code, `${code}: ${answer.error?.message ?? ''}`, exit);
  }
  return answer;
}
