/**
 * A policy folder on disk: its `*.cedar` files and, when present, `schema.cedarschema` and the
 * action catalog `actions.json`. The folder is read whole each time, so what loads is always one
 * consistent version of it.
 */
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { ACTION_CATALOG_FILE } from './catalog.js';
import { compareNames, type PolicyFile, type PolicySetSource } from './engine.js';
import { PolicyError } from './errors.js';

/** The schema's file name in a policy folder. */
export const SCHEMA_FILE_NAME = 'schema.cedarschema';
/** The largest policy, schema or catalog file read (1 MiB): a policy folder is text a person wrote. */
export const MAX_POLICY_FILE_BYTES = 1 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the folder's `*.cedar` files (sorted by name; sub-folders are not read), its
 * `schema.cedarschema` and its `actions.json` if it has them. A folder or file that cannot be read, a file that is not
 * UTF-8 or is larger than 1 MiB, and any other `*.cedarschema` file (which would otherwise be
 * silently ignored) throw a `PolicyError` `policy_folder_unreadable`.
 */
export function readPolicyFolder(dir: string): PolicySetSource {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw unreadable(`The policy folder ${dir} cannot be read: ${reason(e)}.`, dir, e);
  }
  names.sort(compareNames);

  const files: PolicyFile[] = [];
  let schema: string | undefined;
  let catalog: string | undefined;
  for (const name of names) {
    const isPolicy = name.endsWith('.cedar');
    const isSchema = name === SCHEMA_FILE_NAME;
    const isCatalog = name === ACTION_CATALOG_FILE;
    if (!isPolicy && !isSchema && !isCatalog) {
      if (name.endsWith('.cedarschema')) {
        throw unreadable(
          `The policy folder ${dir} has ${name}; the schema must be named ${SCHEMA_FILE_NAME}.`,
          dir,
        );
      }
      continue;
    }
    const path = join(dir, name);
    let text: string;
    try {
      const stat = statSync(path);
      if (!stat.isFile()) continue;
      if (stat.size > MAX_POLICY_FILE_BYTES) {
        throw unreadable(`${path} is larger than ${MAX_POLICY_FILE_BYTES} bytes.`, dir);
      }
      text = utf8.decode(readFileSync(path));
    } catch (e) {
      if (e instanceof PolicyError) throw e;
      const why = e instanceof TypeError ? 'it is not valid UTF-8' : reason(e);
      throw unreadable(`${path} cannot be read: ${why}.`, dir, e);
    }
    if (isSchema) schema = text;
    else if (isCatalog) catalog = text;
    else files.push({ name, text });
  }
  return {
    files,
    ...(schema === undefined ? {} : { schema }),
    ...(catalog === undefined ? {} : { catalog }),
  };
}

export interface WatchOptions {
  /** Quiet time after the last change before `onChange` runs (default 100 ms). */
  debounceMs?: number;
  /**
   * Called with what `onChange` throws or rejects with (watching goes on), and when watching
   * itself fails (the folder was removed, …; watching has stopped then). Without it, both become
   * process warnings.
   */
  onError?: (error: Error) => void;
}

/**
 * Calls `onChange` once the folder has been quiet for `debounceMs` after any change in it
 * (editors and deploy tools write several files, temporary names and renames for one save).
 * Every change counts, whatever the file's name: a Kubernetes ConfigMap, for one, swaps a
 * symlinked directory. An asynchronous `onChange` (an engine's load) is awaited, and calls never
 * overlap: a change during one runs it again once it settles, so the newest folder loads last.
 * What `onChange` throws or rejects with goes to `onError`. Returns a function that stops
 * watching.
 */
export function watchPolicyFolder(
  dir: string,
  onChange: () => unknown,
  options: WatchOptions = {},
): () => void {
  const debounceMs = options.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running = false;
  let again = false;
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { persistent: true });
  } catch (e) {
    throw unreadable(`The policy folder ${dir} cannot be watched: ${reason(e)}.`, dir, e);
  }
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    watcher.close();
  };
  watcher.on('change', () => {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void run();
    }, debounceMs);
  });
  const run = async (): Promise<void> => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await onChange();
    } catch (e) {
      // A reload that fails (a refused policy set) must not take the process down.
      const error = e instanceof Error ? e : new Error(String(e));
      if (options.onError !== undefined) options.onError(error);
      else process.emitWarning(error);
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      await run();
    }
  };
  watcher.on('error', (e: Error) => {
    stop();
    if (options.onError !== undefined) options.onError(e);
    else process.emitWarning(e);
  });
  return stop;
}

function unreadable(message: string, dir: string, cause?: unknown): PolicyError {
  return new PolicyError(
    'policy_folder_unreadable',
    message,
    { dir },
    cause === undefined ? undefined : { cause },
  );
}

function reason(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') {
    return e.code === 'ENOENT'
      ? 'it does not exist'
      : e.code === 'ENOTDIR'
        ? 'it is not a folder'
        : e.code === 'EACCES'
          ? 'permission denied'
          : e.code;
  }
  return e instanceof Error ? e.message : String(e);
}
