import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readSecretFile, writeSecretFile } from '@provenant/ledger';
import type { AuthorizationRequest } from './authorization.js';

/**
 * What a sign-in in progress must remember between the redirect to the provider and the
 * callback: the state, the nonce, the PKCE verifier, where to go afterwards and, for a client
 * of the authorization endpoint (the CLI, an MCP client), its authorization request. It travels in a cookie sealed with AES-256-GCM under the
 * collector's sign-in key, so the collector keeps nothing per attempt (no memory an attacker
 * can fill) and any member of a cluster holding the same key can finish it.
 */
export interface LoginState {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  /** A same-origin path to land on after the console signs in. */
  readonly returnTo: string;
  /** Unix ms after which the attempt is refused. */
  readonly expiresAt: number;
  /** Present when a client's authorization request started it (`/v1/auth/authorize`). */
  readonly authorization?: AuthorizationRequest;
}

/** How long a sign-in may take from the redirect to the callback. */
export const LOGIN_TTL_SEC = 600;

const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * The additional data binds a sealed value to its use: a sealed code is no login cookie, nor a
 * dev sign-in page's sealed request.
 */
export type SealPurpose = 'login' | 'code' | 'authorize';

/** Seals JSON under `key` (32 bytes) for one purpose: base64url(iv ‖ ciphertext ‖ tag). */
export function seal(key: Uint8Array, purpose: SealPurpose, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`provenant-signin:${purpose}`));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Opens what `seal` made for the same purpose; anything else (tampered, other key) is undefined. */
export function unseal(key: Uint8Array, purpose: SealPurpose, sealed: string): unknown {
  if (sealed.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length < IV_BYTES + TAG_BYTES + 2) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`provenant-signin:${purpose}`));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const text = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A `LoginState` read back from a cookie, or undefined when it is not one or has expired. */
export function openLoginState(
  key: Uint8Array,
  sealed: string | undefined,
  now: number,
): LoginState | undefined {
  if (sealed === undefined) return undefined;
  const v = unseal(key, 'login', sealed) as Partial<LoginState> | undefined;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.state !== 'string' ||
    typeof v.nonce !== 'string' ||
    typeof v.verifier !== 'string' ||
    typeof v.returnTo !== 'string' ||
    typeof v.expiresAt !== 'number' ||
    v.expiresAt <= now
  ) {
    return undefined;
  }
  return v as LoginState;
}

/** Reads the sign-in key from the data folder, creating a random one (0600) on first start. */
export function loadOrCreateSignInKey(file: string): Uint8Array {
  if (existsSync(file)) {
    const key = Buffer.from(readSecretFile(file).trim(), 'base64url');
    if (key.length !== 32) throw new TypeError(`${file} does not hold a 32-byte key.`);
    return key;
  }
  const key = randomBytes(32);
  writeSecretFile(file, `${key.toString('base64url')}\n`);
  return key;
}
