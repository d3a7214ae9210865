import { join } from 'node:path';
import { Log, SqliteStorage, loadOrCreateSignerKey } from '@provenant/ledger';
import type { LogStorage } from '@provenant/ledger';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import { DEFAULT_LIMITS } from './context.js';
import type { CollectorLimits } from './context.js';

export const LEDGER_FILE = 'ledger.db';

export interface CollectorConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** Checkpoint origin for a new log; an existing log keeps its own. */
  readonly origin?: string;
  readonly limits?: Partial<CollectorLimits>;
  readonly logger?: FastifyServerOptions['logger'];
}

export interface RunningCollector {
  readonly app: FastifyInstance;
  readonly log: Log;
  readonly storage: LogStorage;
  /** The address it listens on, e.g. http://127.0.0.1:7410. */
  readonly url: string;
  close(): Promise<void>;
}

/** Opens the embedded SQLite ledger in `dataDir` and serves the collector API. */
export async function startCollector(config: CollectorConfig): Promise<RunningCollector> {
  const signer = loadOrCreateSignerKey(config.dataDir, config.origin);
  const storage = new SqliteStorage(join(config.dataDir, LEDGER_FILE));
  let log: Log;
  try {
    log = await Log.open({ storage, signer });
  } catch (e) {
    await storage.close();
    throw e;
  }
  const limits = { ...DEFAULT_LIMITS, ...config.limits };
  const app = buildApp({ log, storage, limits }, { logger: config.logger ?? false });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | null = null;
  return {
    app,
    log,
    storage,
    url: `http://${host}:${port}`,
    close: () =>
      (closing ??= (async () => {
        await app.close(); // stop accepting; in-flight requests finish first
        await log.close();
        await storage.close();
      })()),
  };
}
