// A throwaway PostgreSQL for the benchmarks: the logic of test/support/postgres.ts in plain JS.
// With PROVENANT_TEST_PG_URL set, databases are made (and dropped afterwards) on that server.
// Otherwise a private cluster is made with initdb in a temp folder and started with pg_ctl on a
// Unix socket in that folder only (no TCP port); as root it runs as the `postgres` user (or
// `nobody`) via runuser. Unlike the tests, fsync stays on: the collectors' acknowledgements are
// meant to be durable, as they are on SQLite (synchronous = FULL).
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const ENV_URL = 'PROVENANT_TEST_PG_URL';

/** The folder of initdb/pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function findPostgresBin() {
  const fromEnv = process.env.PG_BIN;
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

export async function query(url, sql, params = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Starts a PostgreSQL (or attaches to PROVENANT_TEST_PG_URL). Resolves with
 * `{ url, external, version, pid, newDatabase(), stop() }`; `pid` is the postmaster's (null on
 * an external server).
 */
export async function startPostgres() {
  const external = process.env[ENV_URL];
  let counter = 0;
  if (external) {
    const created = [];
    return {
      url: external,
      external: true,
      version: (await query(external, 'SHOW server_version'))[0].server_version,
      pid: null,
      async newDatabase() {
        const name = `provenant_bench_${process.pid}_${counter++}`;
        await query(external, `CREATE DATABASE ${name}`);
        created.push(name);
        return withDatabase(external, name);
      },
      async stop() {
        for (const name of created.splice(0)) {
          await query(external, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
        }
      },
    };
  }
  const bin = findPostgresBin();
  if (!bin) throw new Error(`No PostgreSQL server binaries found (set PG_BIN or ${ENV_URL}).`);
  const dir = mkdtempSync(join(tmpdir(), 'provenant-bench-pg-'));
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
    '-c shared_buffers=128MB',
  ].join(' ');
  let running = false;
  const stopServer = () => {
    if (!running) return;
    running = false;
    run('pg_ctl', ['-D', data, '-w', '-s', '-m', 'immediate', 'stop']);
  };
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
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-instructions',
    ]);
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-s', '-o', options, 'start']);
    running = true;
  } catch (e) {
    onExit();
    throw e;
  }
  // If the benchmark ends without stop(), do not leave a server behind.
  process.once('exit', onExit);
  const url = `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}`;
  const pidText = readFileSync(join(data, 'postmaster.pid'), 'utf8');
  return {
    url,
    external: false,
    dir,
    version: (await query(url, 'SHOW server_version'))[0].server_version,
    pid: Number(pidText.split('\n')[0]),
    async newDatabase() {
      const name = `bench_${counter++}`;
      await query(url, `CREATE DATABASE ${name}`);
      return withDatabase(url, name);
    },
    async stop() {
      process.removeListener('exit', onExit);
      onExit();
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
