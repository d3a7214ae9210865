/**
 * `provenant digest-check`: an investigator holding the deployment key tests a known value
 * against a record's keyed digests and redacted arguments (core's `checkKnownValue`). The key
 * never leaves this machine; the record is read straight from the ledger.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkKnownValue } from '@provenant/core';
import type { LogStorage } from '@provenant/ledger';
import { AUDIT_HMAC_KEY_FILE, LEDGER_FILE } from '@provenant/server/offline';
import { parseFlags } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import { readTextFile } from '../lib/files.js';
import type { CommandContext } from '../main.js';

export async function digestCheck(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    data: { type: 'string' },
    postgres: { type: 'string' },
    'key-file': { type: 'string' },
    string: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const [id, text] = positionals;
  if (id === undefined || text === undefined || positionals.length > 2) {
    throw usageError('digest-check needs a record id and a value.');
  }
  if ((values.data === undefined) === (values.postgres === undefined)) {
    throw usageError('Give exactly one of --data DIR or --postgres URL.');
  }
  const keyFile =
    values['key-file'] ??
    (values.data === undefined ? undefined : join(values.data, AUDIT_HMAC_KEY_FILE));
  if (keyFile === undefined) throw usageError('--postgres needs --key-file FILE.');
  const key = new Uint8Array(Buffer.from(readTextFile(keyFile).trim(), 'base64'));
  if (key.length < 16) {
    throw new CliError('unreadable', `${keyFile} holds no deployment key.`, EXIT.unavailable);
  }
  let value: unknown = text;
  if (!values.string) {
    try {
      value = JSON.parse(text);
    } catch {
      throw usageError('VALUE is not JSON; give --string to test it as a plain string.');
    }
  }

  const storage = await openStorage(values.data, values.postgres);
  let canonical: string;
  try {
    const entry = await storage.getEntryById(id);
    if (!entry) throw new CliError('not_found', `No record ${id} in the log.`, EXIT.unavailable);
    canonical = entry.canonical;
  } finally {
    await storage.close();
  }
  const checks = checkKnownValue(JSON.parse(canonical) as object, key, value);
  const matched = checks.filter((c) => c.matches);
  if (values.json) {
    ctx.out(`${JSON.stringify({ id, matched: matched.length > 0, checks })}\n`);
  } else if (checks.length === 0) {
    ctx.out(`${id} keeps no digest or redacted value to test.\n`);
  } else {
    for (const c of checks) {
      const other =
        c.otherKeyId === undefined ? '' : ` (keyed under key ${c.otherKeyId}, not this one)`;
      ctx.out(`${c.matches ? 'match   ' : 'no match'} ${c.field} (${c.form})${other}\n`);
    }
  }
  return matched.length > 0 ? EXIT.ok : EXIT.verificationFailed;
}

async function openStorage(
  data: string | undefined,
  postgres: string | undefined,
): Promise<LogStorage> {
  if (data !== undefined) {
    const file = join(data, LEDGER_FILE);
    if (!existsSync(file))
      throw new CliError('unreadable', `No ledger at ${file}.`, EXIT.unavailable);
    const { SqliteStorage } = await import('@provenant/ledger/sqlite');
    return new SqliteStorage(file, { readonly: true });
  }
  const { PostgresStorage } = await import('@provenant/ledger/postgres');
  return PostgresStorage.open(postgres!, { readOnly: true, poolSize: 1 });
}
