import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';

/**
 * Writes a secret (a private key, a token) readable only by its owner: to a fresh temporary file
 * with mode 0600, synced, then renamed over `file`, so a crash never leaves a half-written or
 * world-readable secret behind.
 */
export function writeSecretFile(file: string, text: string): void {
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    // A full disk or a failed rename must not leave a half-written secret behind.
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Reads a secret file, first tightening its mode to 0600 if others could read it. */
export function readSecretFile(file: string): string {
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return readFileSync(file, 'utf8');
}
