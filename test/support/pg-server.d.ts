export const ENV_URL: string;
export function findPostgresBin(): string | null;
export function withDatabase(url: string, name: string): string;
export function adminQuery(
  url: string,
  sql: string,
  params?: readonly unknown[],
): Promise<Record<string, unknown>[]>;

export interface PostgresServer {
  /** URL of the maintenance database (`postgres`). */
  readonly url: string;
  /** The cluster folder, null on an external server. */
  readonly dir: string | null;
  readonly external: boolean;
  /** False on an external server (`PROVENANT_TEST_PG_URL`): outage tests cannot run there. */
  readonly canPause: boolean;
  /** The postmaster's pid, null on an external server. */
  pid(): number | null;
  /** Creates an empty database and returns its URL. */
  newDatabase(): Promise<string>;
  /** Stops the server (for outage tests); `start()` brings it back on the same socket. */
  pause(): void;
  start(): void;
  /** Stops the server (immediate) and deletes the cluster folder, or drops the databases made. */
  stop(): Promise<void>;
}

export function startPostgres(options?: {
  durable?: boolean;
  name?: string;
}): Promise<PostgresServer>;
