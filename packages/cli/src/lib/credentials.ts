/**
 * The user's stored collector credentials: `$XDG_CONFIG_HOME/provenant/credentials.json` (or
 * `~/.config/provenant/credentials.json`), mode 0600 in a 0700 folder, one entry per collector
 * URL. Written by `provenant login`, removed by `provenant logout`, read by commands that talk
 * to a collector.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliError, EXIT } from './errors.js';

export interface StoredCredential {
  /** The collector credential (a JWT); never printed. */
  readonly access_token: string;
  /** RFC 3339. */
  readonly expires_at: string;
  readonly subject?: string;
  readonly roles?: readonly string[];
}

type CredentialsFile = Record<string, StoredCredential>;

export function credentialsFile(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const base =
    xdg !== undefined && xdg.startsWith('/') ? xdg : join(env['HOME'] ?? homedir(), '.config');
  return join(base, 'provenant', 'credentials.json');
}

/** The key a collector URL is stored under: its origin and path, without a trailing slash. */
export function collectorKey(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

function readAll(file: string): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError('unreadable', `Cannot read ${file}.`, EXIT.unavailable);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
    return parsed as CredentialsFile;
  } catch {
    throw new CliError(
      'unreadable',
      `${file} is not a credentials file (JSON object).`,
      EXIT.unavailable,
    );
  }
}

function writeAll(file: string, all: CredentialsFile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  chmodSync(file, 0o600);
}

/** The stored credential for `collectorUrl` that has not expired, or undefined. */
export function storedCredential(
  env: NodeJS.ProcessEnv,
  collectorUrl: string,
  now: number = Date.now(),
): StoredCredential | undefined {
  const entry = readAll(credentialsFile(env))[collectorKey(collectorUrl)];
  if (entry === undefined || typeof entry.access_token !== 'string') return undefined;
  return Date.parse(entry.expires_at) > now ? entry : undefined;
}

export function storeCredential(
  env: NodeJS.ProcessEnv,
  collectorUrl: string,
  c: StoredCredential,
): string {
  const file = credentialsFile(env);
  const all = readAll(file);
  all[collectorKey(collectorUrl)] = c;
  writeAll(file, all);
  return file;
}

/** Removes the entry for `collectorUrl`; answers what it held (to revoke), if anything. */
export function removeCredential(
  env: NodeJS.ProcessEnv,
  collectorUrl: string,
): StoredCredential | undefined {
  const file = credentialsFile(env);
  const all = readAll(file);
  const key = collectorKey(collectorUrl);
  const held = all[key];
  if (held === undefined) return undefined;
  delete all[key];
  writeAll(file, all);
  return held;
}
