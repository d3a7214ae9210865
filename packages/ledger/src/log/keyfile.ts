import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSignerKey, parseSignerKey, verifierKeyString } from '../note/index.js';
import type { NoteSignerKey } from '../note/index.js';
import { readSecretFile, writeSecretFile } from '../lib/secret-file.js';
import { LogError } from './errors.js';

export const SIGNER_KEY_FILE = 'log-signer.key';
export const VERIFIER_KEY_FILE = 'log-verifier.key';

/**
 * Loads the log's checkpoint signing key from the data folder, creating it (mode 0600) on first
 * start. The origin is fixed when the key is made: a log's identity is its key and origin.
 */
export function loadOrCreateSignerKey(dataDir: string, origin?: string): NoteSignerKey {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SIGNER_KEY_FILE);
  if (existsSync(file)) {
    const key = parseSignerKey(readSecretFile(file).trim());
    if (origin !== undefined && origin !== key.name) {
      throw new LogError(
        'log_key_mismatch',
        `The data folder's log key is for origin "${key.name}", not "${origin}".`,
      );
    }
    return key;
  }
  const name = origin ?? `provenant.local/${randomBytes(4).toString('hex')}`;
  const { signerKey, verifierKey } = generateSignerKey(name);
  writeSecretFile(file, `${signerKey}\n`);
  writeFileSync(join(dataDir, VERIFIER_KEY_FILE), `${verifierKey}\n`, { mode: 0o644 });
  const key = parseSignerKey(signerKey);
  if (verifierKeyString(key) !== verifierKey) throw new Error('generated key does not round-trip');
  return key;
}
