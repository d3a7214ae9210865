import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL for tests.
 *
 * With `PROVENANT_TEST_PG_URL` set, tests use that server (the role needs CREATEDB). Otherwise a
 * private cluster is made with `initdb` in a temp folder and started with `pg_ctl` on a Unix
 * socket in that folder only (no TCP port, so nothing to collide with), then stopped and deleted
 * by `stop()`. initdb refuses to run as root, so as root the cluster runs as the `postgres`
 * user (or `nobody` where there is none), via `runuser`, in a folder chowned to it. Every `newDatabase()` is a fresh empty
 * database. In CI (`CI=true`) a missing PostgreSQL is an error, never a skip.
 */
export interface TestPostgres {
  /** URL of the maintenance database (`postgres`). */
  readonly url: string;
  /** Creates an empty database and returns its URL. */
  newDatabase(): Promise<string>;
  /** Stops the server (immediate) and deletes the cluster folder. */
  stop(): Promise<void>;
  /** False on an external server (`PROVENANT_TEST_PG_URL`): outage tests cannot run there. */
  readonly canPause: boolean;
  /** Stops the server (for outage tests); `start()` brings it back on the same socket. */
  pause(): void;
  start(): void;
}

const ENV_URL = 'PROVENANT_TEST_PG_URL';

/** Tests run against an external server (no outage tests there). */
export const externalPostgres = Boolean(process.env[ENV_URL]);

/** The folder of initdb/pg_ctl: `PG_BIN`, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function findPostgresBin(): string | null {
  const fromEnv = process.env['PG_BIN'];
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(base, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const path = which.status === 0 ? which.stdout.trim() : '';
  return path ? path.slice(0, path.lastIndexOf('/')) : null;
}

/** Whether PostgreSQL tests can run here (a URL or local binaries). */
export function postgresAvailable(): boolean {
  return Boolean(process.env[ENV_URL]) || findPostgresBin() !== null;
}

/** True when PostgreSQL tests should be skipped: never in CI, only where no server is found. */
export function skipPostgres(): boolean {
  if (postgresAvailable()) return false;
  if (process.env['CI']) {
    throw new Error(
      `CI=true but no PostgreSQL: install the server binaries (initdb, pg_ctl) or set ${ENV_URL}.`,
    );
  }
  return true;
}

let counter = 0;

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env[ENV_URL];
  if (external) return externalServer(external);
  const bin = findPostgresBin();
  if (!bin) throw new Error(`No PostgreSQL server binaries found (set PG_BIN or ${ENV_URL}).`);
  const dir = mkdtempSync(join(tmpdir(), 'provenant-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? serverUser() : null;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = user
      ? ['runuser', ['-u', user.name, '--', join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) {
      const log = existsSync(join(dir, 'server.log'))
        ? readFileSync(join(dir, 'server.log'), 'utf8')
        : '';
      throw new Error(
        `${cmd} failed (${r.status ?? r.signal ?? r.error?.message}): ${r.stderr}${r.stdout}${log}`,
      );
    }
  };
  if (user) chownSync(dir, user.uid, user.gid);
  const options = [
    `-k ${dir}`,
    '-p 5432',
    "-c listen_addresses=''",
    // A throwaway cluster: no crash safety of PostgreSQL itself is under test, so skip fsync.
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=100',
  ].join(' ');
  const startServer = () =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-s', '-o', options, 'start']);
  let running = false;
  try {
    run('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    startServer();
    running = true;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const url = `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}`;
  const stopServer = () => {
    if (!running) return;
    running = false;
    run('pg_ctl', ['-D', data, '-w', '-s', '-m', 'immediate', 'stop']);
  };
  // If the test process ends without stop(), do not leave a server behind.
  const onExit = () => {
    try {
      stopServer();
    } catch {
      // best effort
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url,
    newDatabase: async () => {
      const name = `t${process.pid}_${counter++}`;
      await adminQuery(url, `CREATE DATABASE ${name}`);
      return withDatabase(url, name);
    },
    canPause: true,
    pause: stopServer,
    start: () => {
      if (running) return;
      startServer();
      running = true;
    },
    stop: async () => {
      process.removeListener('exit', onExit);
      onExit();
    },
  };
}

/** As root: the `postgres` user if there is one (Debian's packages make it), else `nobody`. */
function serverUser(): { name: string; uid: number; gid: number } {
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) =>
        Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return { name, uid: id('-u'), gid: id('-g') };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('Running as root with neither a postgres nor a nobody user for initdb.');
}

function externalServer(url: string): TestPostgres {
  const created: string[] = [];
  return {
    url,
    newDatabase: async () => {
      const name = `provenant_test_${process.pid}_${counter++}`;
      await adminQuery(url, `CREATE DATABASE ${name}`);
      created.push(name);
      return withDatabase(url, name);
    },
    canPause: false,
    pause: () => {
      throw new Error(`Cannot stop an external server (${ENV_URL}).`);
    },
    start: () => {},
    stop: async () => {
      for (const name of created) {
        await adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      }
    },
  };
}

/** The URL with another database name (works for socket URLs with an empty host too). */
export function withDatabase(url: string, name: string): string {
  const q = url.indexOf('?');
  const [base, query] = q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
  const hostStart = base.indexOf('//') + 2;
  const slash = base.indexOf('/', hostStart);
  return `${slash < 0 ? base : base.slice(0, slash)}/${name}${query}`;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
