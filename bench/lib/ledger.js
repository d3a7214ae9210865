// Builds a ledger data folder of `size` real entries in-process, in the collector's layout
// (<dir>/ledger.db, <dir>/log-signer.key, <dir>/log-verifier.key), so `provenant serve` and
// `provenant verify --data` both work on it.
import { join } from 'node:path';
import { Log, loadOrCreateSignerKey } from '@provenant/ledger';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { LEDGER_FILE } from '@provenant/server/offline';
import { entryOf, recordGenerator } from './records.js';
import { msSince, now } from './util.js';

export const APPEND_BATCH = 10_000;

/**
 * `generator`: where the records come from (default `recordGenerator()`, bench/lib/records.js);
 * `storage`: an open, empty storage to build in (default the folder's SQLite ledger); closed
 * when built, as the SQLite one is.
 */
export async function buildLedger(dir, size, say, { generator, storage: given } = {}) {
  const signer = loadOrCreateSignerKey(dir, 'bench.provenant.local/ledger');
  const storage = given ?? new SqliteStorage(join(dir, LEDGER_FILE));
  const log = await Log.open({ storage, signer });
  const gen = generator ?? recordGenerator();
  let prepareMs = 0;
  let appendMs = 0;
  const start = now();
  try {
    for (let from = 0; from < size; from += APPEND_BATCH) {
      let t = now();
      const entries = [];
      for (let i = from; i < Math.min(size, from + APPEND_BATCH); i++)
        entries.push(entryOf(gen.next()));
      prepareMs += msSince(t);
      t = now();
      const outcomes = await log.append(entries);
      appendMs += msSince(t);
      if (outcomes.some((o) => o.status !== 'accepted' || o.duplicate)) {
        throw new Error('the ledger refused a generated entry');
      }
      if (say && (from / APPEND_BATCH) % 20 === 19) {
        say(`  built ${from + APPEND_BATCH} entries (${(msSince(start) / 1000).toFixed(0)} s)`);
      }
    }
    if (log.size !== size) throw new Error(`built ${log.size} entries, expected ${size}`);
  } finally {
    await log.close();
    await storage.close();
  }
  return {
    size,
    ms: msSince(start),
    prepareMs,
    appendMs,
    appendPerSec: (size / appendMs) * 1000,
  };
}
