import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { storedCredential } from './credentials.js';

/**
 * The bearer token a command reads `server` with: `--token`, else `$PROVENANT_TOKEN`, else the
 * `provenant login` credential stored for that URL (lib/credentials.ts), else the admin token
 * (`$PROVENANT_ADMIN_TOKEN`, or `admin.token` in `--data`, `$PROVENANT_DATA` or
 * `./provenant-data`, as an operator next to the collector has it); none when there is none
 * (the collector then answers 401).
 */
export function readCredential(
  server: string,
  flag: string | undefined,
  dataDir: string | undefined,
  env: NodeJS.ProcessEnv,
  now: number = Date.now(),
): string | undefined {
  if (flag) return flag;
  if (env['PROVENANT_TOKEN']) return env['PROVENANT_TOKEN'];
  const stored = storedCredential(env, server, now);
  if (stored) return stored.access_token;
  if (env['PROVENANT_ADMIN_TOKEN']) return env['PROVENANT_ADMIN_TOKEN'];
  const file = join(dataDir ?? env['PROVENANT_DATA'] ?? 'provenant-data', 'admin.token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}
