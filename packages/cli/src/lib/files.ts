import { readFileSync } from 'node:fs';
import { CliError, EXIT } from './errors.js';

/** A text file the user named; one that cannot be read is exit 3. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new CliError('unreadable', `Cannot read ${file}.`, EXIT.unavailable);
  }
}
