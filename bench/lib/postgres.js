// A throwaway PostgreSQL for the benchmarks: the tests' server (test/support/pg-server.js) with
// fsync kept on, so the collectors' acknowledgements are as durable as on SQLite
// (synchronous = FULL). With PROVENANT_TEST_PG_URL set, databases are made on that server.
import { adminQuery, startPostgres as startServer } from '../../test/support/pg-server.js';

export { adminQuery as query };

/**
 * Starts a PostgreSQL (or attaches to PROVENANT_TEST_PG_URL). Resolves with
 * `{ url, dir, external, version, pid, newDatabase(), stop() }`; `pid` is the postmaster's
 * (null on an external server).
 */
export async function startPostgres() {
  const server = await startServer({ durable: true, name: 'bench' });
  const [row] = await adminQuery(server.url, 'SHOW server_version');
  return { ...server, version: row.server_version, pid: server.pid() };
}
