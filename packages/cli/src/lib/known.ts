import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fromBase64Strict, toBase64 } from '@provenant/core';
import type { KnownCheckpoint } from '@provenant/ledger';
import { CliError, EXIT } from './errors.js';

/** Where `verify` keeps the last checkpoint it saw of each log (`$PROVENANT_HOME/known`). */
export function knownDir(env: NodeJS.ProcessEnv, flag?: string): string {
  return flag ?? join(env['PROVENANT_HOME'] ?? join(homedir(), '.provenant'), 'known');
}

const fileFor = (dir: string, origin: string) =>
  join(dir, `${createHash('sha256').update(origin).digest('hex').slice(0, 32)}.json`);

export function readKnown(dir: string, origin: string): KnownCheckpoint | undefined {
  let text: string;
  try {
    text = readFileSync(fileFor(dir, origin), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const j = JSON.parse(text) as {
      origin: string;
      verifier_key: string;
      size: number;
      root: string;
    };
    if (j.origin !== origin || !Number.isSafeInteger(j.size)) throw new Error('bad');
    return {
      origin,
      verifierKey: j.verifier_key,
      size: j.size,
      rootHash: fromBase64Strict(j.root),
    };
  } catch {
    throw new CliError(
      'known_corrupt',
      `The known-checkpoint file for ${origin} in ${dir} is unreadable; remove it to start over.`,
      EXIT.unavailable,
    );
  }
}

export function writeKnown(dir: string, k: KnownCheckpoint): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = fileFor(dir, k.origin);
  const tmp = `${file}.tmp-${process.pid}`;
  const body = {
    origin: k.origin,
    verifier_key: k.verifierKey,
    size: k.size,
    root: toBase64(k.rootHash),
  };
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(tmp, file);
}
