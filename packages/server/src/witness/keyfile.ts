import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readSecretFile, writeSecretFile } from '@provenant/ledger';
import { join } from 'node:path';
import {
  cosignerVerifierKeyString,
  generateCosignerKey,
  parseCosignerKey,
} from '@provenant/ledger';
import type { CosignerKey } from '@provenant/ledger';

export const WITNESS_KEY_FILE = 'witness-signer.key';
export const WITNESS_VERIFIER_KEY_FILE = 'witness-verifier.key';

/**
 * Loads the witness's cosigning key from its data folder, creating it (mode 0600) on first start.
 * The name is fixed when the key is made; a later `name` that differs is refused.
 */
export function loadOrCreateWitnessKey(dataDir: string, name?: string): CosignerKey {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, WITNESS_KEY_FILE);
  if (existsSync(file)) {
    const key = parseCosignerKey(readSecretFile(file).trim());
    if (name !== undefined && name !== key.name) {
      throw new Error(`The data folder's witness key is named "${key.name}", not "${name}".`);
    }
    return key;
  }
  const keyName = name ?? `provenant-witness.local/${randomBytes(4).toString('hex')}`;
  const { signerKey, verifierKey } = generateCosignerKey(keyName);
  writeSecretFile(file, `${signerKey}\n`);
  writeFileSync(join(dataDir, WITNESS_VERIFIER_KEY_FILE), `${verifierKey}\n`, { mode: 0o644 });
  const key = parseCosignerKey(signerKey);
  if (cosignerVerifierKeyString(key) !== verifierKey)
    throw new Error('witness key does not round-trip');
  return key;
}
