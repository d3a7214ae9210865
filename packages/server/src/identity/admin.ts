import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { bearerToken, sha256 } from '@provenant/core';
import { readSecretFile, writeSecretFile } from '@provenant/ledger';
import { RequestError } from '../errors.js';

/** Reads the admin token from the data folder, creating a random one (0600) on first start. */
export function loadOrCreateAdminToken(file: string): string {
  if (existsSync(file)) return readSecretFile(file).trim();
  const token = `pva_${randomBytes(32).toString('base64url')}`;
  writeSecretFile(file, `${token}\n`);
  return token;
}

/** Checks `Authorization: Bearer <admin token>` in constant time (digests, so lengths leak nothing). */
export function requireAdmin(
  authorization: string | undefined,
  adminToken: string | undefined,
): void {
  const presented = bearerToken(authorization, 512);
  if (!adminToken || !presented) {
    throw new RequestError(
      'admin_required',
      'This route needs the admin token: Authorization: Bearer <admin token>.',
    );
  }
  const a = sha256(new TextEncoder().encode(presented));
  const b = sha256(new TextEncoder().encode(adminToken));
  if (!timingSafeEqual(a, b))
    throw new RequestError('admin_required', 'The admin token is not valid.');
}
