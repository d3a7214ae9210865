// A throwaway PostgreSQL, shared by the tests (test/support/postgres.ts) and the benchmarks
// (bench/lib/postgres.js); plain JS so that `node bench/…` can load it without a build.
//
// With PROVENANT_TEST_PG_URL set, databases are made (and dropped by stop()) on that server.
// Otherwise a private cluster is made with initdb in a temp folder and started with pg_ctl on a
// Unix socket in that folder only (no TCP port, nothing to collide with). initdb refuses to run
// as root, so as root the cluster runs as the `postgres` user (or `nobody`) via runuser, in a
// folder chowned to it.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const ENV_URL = 'PROVENANT_TEST_PG_URL';

/** The folder of initdb/pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function findPostgresBin() {
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

/** The URL with another database name (works for socket URLs with an empty host too). */
export function withDatabase(url, name) {
  const q = url.indexOf('?');
  const [base, query] = q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
  const hostStart = base.indexOf('//') + 2;
  const slash = base.indexOf('/', hostStart);
  return `${slash < 0 ? base : base.slice(0, slash)}/${name}${query}`;
}

/** One statement on its own connection; resolves with its rows. */
export async function adminQuery(url, sql, params = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

let counter = 0;

/**
 * Starts a server, or attaches to PROVENANT_TEST_PG_URL. `durable: false` (tests) turns fsync
 * off: no crash safety of PostgreSQL itself is under test. `durable: true` (benchmarks) keeps
 * it on, so acknowledgements cost what they cost in production. `name` prefixes the databases.
 */
export async function startPostgres({ durable = false, name = 'test' } = {}) {
  const external = process.env[ENV_URL];
  if (external) return externalServer(external, name);
  const bin = findPostgresBin();
  if (!bin) throw new Error(`No PostgreSQL server binaries found (set PG_BIN or ${ENV_URL}).`);
  const dir = mkdtempSync(join(tmpdir(), `provenant-${name}-pg-`));
  const data = join(dir, 'data');
  const user = process.getuid?.() === 0 ? serverUser() : null;
  const run = (cmd, args) => {
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
    '-c max_connections=100',
    ...(durable ? [] : ['-c fsync=off', '-c full_page_writes=off']),
  ].join(' ');
  const startServer = () =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-s', '-o', options, 'start']);
  let running = false;
  const stopServer = () => {
    if (!running) return;
    running = false;
    run('pg_ctl', ['-D', data, '-w', '-s', '-m', 'immediate', 'stop']);
  };
  // If the process ends without stop(), do not leave a server behind.
  const onExit = () => {
    try {
      stopServer();
    } catch {
      // best effort
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', [
      ...['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'],
      ...(durable ? [] : ['--no-sync']),
      '--no-instructions',
    ]);
    startServer();
    running = true;
  } catch (e) {
    onExit();
    throw e;
  }
  process.once('exit', onExit);
  const url = `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}`;
  return {
    url,
    dir,
    external: false,
    canPause: true,
    /** The postmaster's pid (it changes when start() follows pause()). */
    pid: () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    async newDatabase() {
      const db = `${name}_${process.pid}_${counter++}`;
      await adminQuery(url, `CREATE DATABASE ${db}`);
      return withDatabase(url, db);
    },
    pause: stopServer,
    start() {
      if (running) return;
      startServer();
      running = true;
    },
    async stop() {
      process.removeListener('exit', onExit);
      onExit();
    },
  };
}

function externalServer(url, name) {
  const created = [];
  return {
    url,
    dir: null,
    external: true,
    canPause: false,
    pid: () => null,
    async newDatabase() {
      const db = `provenant_${name}_${process.pid}_${counter++}`;
      await adminQuery(url, `CREATE DATABASE ${db}`);
      created.push(db);
      return withDatabase(url, db);
    },
    pause() {
      throw new Error(`Cannot stop an external server (${ENV_URL}).`);
    },
    start() {},
    async stop() {
      for (const db of created.splice(0)) {
        await adminQuery(url, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
      }
    },
  };
}

/** As root: the `postgres` user if there is one (Debian's packages make it), else `nobody`. */
function serverUser() {
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag) =>
        Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return { name, uid: id('-u'), gid: id('-g') };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('Running as root with neither a postgres nor a nobody user for initdb.');
}
