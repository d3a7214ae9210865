import { ENV_URL, findPostgresBin, startPostgres } from './pg-server.js';
import type { PostgresServer } from './pg-server.js';

/**
 * A throwaway PostgreSQL for tests (the server logic is in ./pg-server.js, shared with the
 * benchmarks): a private cluster on a Unix socket with fsync off, or `PROVENANT_TEST_PG_URL`
 * (the role needs CREATEDB). Every `newDatabase()` is a fresh empty database. In CI
 * (`CI=true`) a missing PostgreSQL is an error, never a skip.
 */
export type TestPostgres = PostgresServer;

/** Tests run against an external server (no outage tests there). */
export const externalPostgres = Boolean(process.env[ENV_URL]);

/** Whether PostgreSQL tests can run here (a URL or local binaries). */
export function postgresAvailable(): boolean {
  return Boolean(process.env[ENV_URL]) || findPostgresBin() !== null;
}

let said = false;

/**
 * True when PostgreSQL tests should be skipped: never in CI, only where no server is found, and
 * then with one loud line saying what to install.
 */
export function skipPostgres(): boolean {
  if (postgresAvailable()) return false;
  const what = `no PostgreSQL: install the server binaries (initdb, pg_ctl; Debian/Ubuntu: apt-get install postgresql) or set ${ENV_URL}`;
  if (process.env['CI']) throw new Error(`CI=true but ${what}.`);
  if (!said) {
    said = true;
    process.stderr.write(`\n*** SKIPPING the PostgreSQL tests: ${what}. ***\n\n`);
  }
  return true;
}

export function startTestPostgres(): Promise<TestPostgres> {
  return startPostgres({ durable: false, name: 'test' });
}
