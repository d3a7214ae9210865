import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { sha256 } from '@provenant/core';
import { readSecretFile, writeSecretFile } from '@provenant/ledger';

/** Reads the admin token from the data folder, creating a random one (0600) on first start. */
export function loadOrCreateAdminToken(file: string): string {
  if (existsSync(file)) return readSecretFile(file).trim();
  const token = `pva_${randomBytes(32).toString('base64url')}`;
  writeSecretFile(file, `${token}\n`);
  return token;
}

/**
 * A check of a presented bearer token against the admin token, in constant time (digests, so
 * lengths leak nothing). Without an admin token nothing matches.
 */
export function adminTokenMatcher(adminToken: string | undefined): (presented: string) => boolean {
  if (!adminToken) return () => false;
  const expected = secretDigest(adminToken);
  return (presented) => timingSafeEqual(secretDigest(presented), expected);
}

/** Whether a presented secret (token, CSRF token) is the expected one, in constant time. */
export function equalSecrets(presented: string, expected: string): boolean {
  return timingSafeEqual(secretDigest(presented), secretDigest(expected));
}

const secretDigest = (secret: string) => sha256(new TextEncoder().encode(secret));
