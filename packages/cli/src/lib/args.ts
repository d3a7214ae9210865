import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { usageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
>;

/** parseArgs with the CLI's usage errors instead of Node's TypeErrors. */
export function parseFlags<T extends Options>(args: readonly string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

export function intFlag(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw usageError(`--${name} must be an integer from ${min} to ${max}.`);
  }
  return Number(value);
}

export const DEFAULT_SERVER = 'http://127.0.0.1:7410';

/** The collector's URL: the flag (named `name` in messages), else $PROVENANT_URL, else local. */
export function serverUrl(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  name = 'server',
): string {
  const url = flag ?? env['PROVENANT_URL'] ?? DEFAULT_SERVER;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
  } catch {
    const from = flag === undefined ? '$PROVENANT_URL' : `--${name}`;
    throw usageError(`${from} must be an http(s) URL; got "${url}".`);
  }
  return url.replace(/\/+$/, '');
}
