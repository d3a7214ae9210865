/**
 * `provenant verify --data | --postgres | --server`: a whole log, read through the storage driver
 * or the tlog-tiles routes. Loaded only for these (not for --bundle): it imports the drivers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBase64 } from '@provenant/core';
import {
  LogVerificationError,
  VERIFIER_KEY_FILE,
  WitnessError,
  parseCosignerVerifierKey,
  parseVerifierKey,
  verifyCosignedCheckpoint,
  storedLogInput,
  tilePath,
  entriesPath,
  verifyLog,
} from '@provenant/ledger';
import { PostgresStorage } from '@provenant/ledger/postgres';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import type {
  Cosignature,
  CosignerVerifierKey,
  KnownCheckpoint,
  LeafSource,
  NoteVerifierKey,
  VerifyLogInput,
} from '@provenant/ledger';
import { COSIGNED_CHECKPOINT_FILE, LEDGER_FILE } from '@provenant/server/offline';
import { intFlag, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import { readTextFile } from '../lib/files.js';
import { HttpError, httpGet } from '../lib/http.js';
import { readCredential } from '../lib/credential.js';
import { knownDir, readKnown, writeKnown } from '../lib/known.js';
import { progressBar } from '../lib/progress.js';
import type { CommandContext } from '../main.js';

const TILE = 256;

/** The flags of `provenant verify` that apply to a log (all but --bundle). */
export interface VerifyLogFlags {
  readonly data?: string | undefined;
  readonly postgres?: string | undefined;
  readonly server?: string | undefined;
  /** The bearer credential for --server (entry bundles need analyst); see lib/credential.ts. */
  readonly token?: string | undefined;
  readonly key?: string | undefined;
  readonly 'key-file'?: string | undefined;
  readonly 'known-dir'?: string | undefined;
  readonly json?: boolean | undefined;
  readonly quiet?: boolean | undefined;
  readonly witness?: string[] | undefined;
  readonly 'witness-policy'?: string | undefined;
}

export async function verifyLogCommand(
  values: VerifyLogFlags,
  ctx: CommandContext,
): Promise<number> {
  const witnessKeys: CosignerVerifierKey[] = (values.witness ?? []).map((w) => {
    try {
      return parseCosignerVerifierKey(w.trim());
    } catch (e) {
      throw usageError(`--witness: ${(e as Error).message}`);
    }
  });
  const witnessPolicy =
    intFlag(values['witness-policy'], 'witness-policy', 1, Math.max(1, witnessKeys.length)) ??
    witnessKeys.length;
  if (values['witness-policy'] !== undefined && witnessKeys.length === 0) {
    throw usageError('--witness-policy needs --witness.');
  }
  const sources = [values.data, values.server, values.postgres].filter((v) => v !== undefined);
  if (sources.length !== 1) {
    throw usageError(
      'Give exactly one of --data DIR, --postgres URL, --server URL or --bundle FILE.',
    );
  }
  let keyText = values.key ?? (values['key-file'] ? readTextFile(values['key-file']) : undefined);
  if (keyText === undefined && values.data === undefined) {
    throw usageError(
      `--${values.server !== undefined ? 'server' : 'postgres'} needs --key (the verifier key you trust, from GET /v1/log/key).`,
    );
  }
  if (values.postgres !== undefined && witnessKeys.length > 0) {
    throw usageError(
      '--witness needs the cosigned checkpoint: use --server (or --data) for a witnessed log.',
    );
  }
  if (keyText === undefined) {
    const file = join(values.data!, VERIFIER_KEY_FILE);
    keyText = readTextFile(file);
    ctx.err(
      `note: using the verifier key stored in ${file}; pass --key to check against a key you trust.\n`,
    );
  }
  keyText = keyText.trim();
  let verifier: NoteVerifierKey;
  try {
    verifier = parseVerifierKey(keyText);
  } catch (e) {
    throw usageError(`The verifier key is not valid: ${(e as Error).message}`);
  }
  const dir = knownDir(ctx.env, values['known-dir']);
  const known = readKnown(dir, verifier.name);
  const progress = progressBar('verify', !values.quiet && !values.json);

  const source =
    values.data !== undefined
      ? await openDataSource(values.data, witnessKeys.length > 0)
      : values.postgres !== undefined
        ? await openPostgresSource(values.postgres)
        : await openServerSource(
            serverUrl(values.server, ctx.env),
            witnessKeys.length > 0,
            readCredential(serverUrl(values.server, ctx.env), values.token, undefined, ctx.env),
          );
  try {
    let cosignatures: readonly Cosignature[] | null = null;
    if (witnessKeys.length > 0) {
      try {
        cosignatures = verifyCosignedCheckpoint(
          source.checkpointNote,
          verifier,
          witnessKeys,
          witnessPolicy,
        ).cosignatures;
      } catch (e) {
        if (e instanceof WitnessError) throw e;
        // A checkpoint that does not open with the log key: verifyLog names the failure.
      }
    }
    const result = await verifyLog({
      checkpointNote: source.checkpointNote,
      verifier,
      verifierKeyString: keyText,
      chunks: source.chunks,
      ...(source.storedNodes ? { storedNodes: source.storedNodes } : {}),
      ...(source.storedTiles ? { storedTiles: source.storedTiles } : {}),
      known,
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.stop();
    const { size, rootHash, origin } = result.checkpoint;
    const next: KnownCheckpoint = { origin, verifierKey: keyText, size, rootHash };
    if (!known || size >= known.size) writeKnown(dir, next);
    if (values.json) {
      ctx.out(
        `${JSON.stringify({
          ok: true,
          origin,
          size,
          root: toBase64(rootHash),
          previously_seen: known?.size ?? null,
          ...(cosignatures ? { cosigned_by: cosignatures.map((c) => c.name) } : {}),
        })}\n`,
      );
    } else {
      ctx.out(
        `OK ${origin}: ${size} ${size === 1 ? 'entry' : 'entries'} verified, root ${toBase64(rootHash)}, checkpoint signed by ${verifier.name}+${verifier.keyId.toString(16).padStart(8, '0')}` +
          (known
            ? `; consistent with the checkpoint seen before (size ${known.size}).\n`
            : '; first time this log is seen here.\n') +
          (cosignatures
            ? `Cosigned by ${cosignatures.length} of ${witnessKeys.length} witnesses (policy ${witnessPolicy}): ${cosignatures.map((c) => c.name).join(', ')}.\n`
            : ''),
      );
    }
    return EXIT.ok;
  } catch (e) {
    progress.stop();
    if (e instanceof LogVerificationError || e instanceof WitnessError) {
      const leafIndex = e instanceof LogVerificationError ? e.leafIndex : undefined;
      if (values.json) {
        ctx.out(
          `${JSON.stringify({ ok: false, code: e.code, leaf_index: leafIndex ?? null, message: e.message })}\n`,
        );
      } else {
        const where = leafIndex === undefined ? '' : ` at leaf ${leafIndex}`;
        ctx.err(`FAIL${where}: ${e.code}: ${e.message}\n`);
      }
      return EXIT.verificationFailed;
    }
    throw e;
  } finally {
    source.close();
  }
}

type Source = Pick<VerifyLogInput, 'chunks' | 'storedNodes' | 'storedTiles'> & {
  checkpointNote: string;
  close(): void;
};

async function openDataSource(dataDir: string, cosigned: boolean): Promise<Source> {
  // With --witness: the checkpoint the collector published with its cosignatures, and the log
  // up to its size (later entries are not witnessed yet).
  let cosignedNote: string | undefined;
  if (cosigned) {
    try {
      cosignedNote = readFileSync(join(dataDir, COSIGNED_CHECKPOINT_FILE), 'utf8');
    } catch {
      cosignedNote = undefined; // the stored checkpoint, without cosignatures, then fails
    }
  }
  const file = join(dataDir, LEDGER_FILE);
  if (!existsSync(file))
    throw new CliError('unreadable', `No ledger at ${file}.`, EXIT.unavailable);
  let storage: SqliteStorage;
  try {
    // Leaves are read in the storage's read worker thread, one chunk ahead of the hashing on
    // this one (storedLogInput): on two cores reading and hashing overlap.
    storage = new SqliteStorage(file, { readonly: true, readWorker: true });
  } catch (e) {
    throw new CliError('unreadable', (e as Error).message, EXIT.unavailable);
  }
  // `size` is one past the highest stored leaf index, so gaps show up as missing entries.
  const state = await storage.readState();
  const { checkpoint } = state;
  const cosignedSize = Number(/^.*\n(\d+)\n/.exec(cosignedNote ?? '')?.[1] ?? Number.NaN);
  const size =
    cosignedNote !== undefined && Number.isSafeInteger(cosignedSize)
      ? Math.min(cosignedSize, state.size)
      : state.size;
  if (checkpoint === null) {
    await storage.close();
    throw new CliError(
      'unreadable',
      `${file} holds no signed checkpoint.`,
      EXIT.verificationFailed,
    );
  }
  return {
    checkpointNote: cosignedNote ?? checkpoint.note,
    ...storedLogInput(storage, size),
    close: () => void storage.close(),
  };
}

async function openPostgresSource(url: string): Promise<Source> {
  let storage: PostgresStorage;
  try {
    storage = await PostgresStorage.open(url, { readOnly: true, poolSize: 2 });
  } catch (e) {
    throw new CliError('unreadable', (e as Error).message, EXIT.unavailable);
  }
  const { checkpoint, size } = await storage.readState();
  if (checkpoint === null) {
    await storage.close();
    throw new CliError(
      'unreadable',
      'The PostgreSQL ledger holds no signed checkpoint.',
      EXIT.verificationFailed,
    );
  }
  return {
    checkpointNote: checkpoint.note,
    ...storedLogInput(storage, size),
    close: () => void storage.close(),
  };
}

async function openServerSource(
  base: string,
  cosigned: boolean,
  token: string | undefined,
): Promise<Source> {
  // /v1/log/checkpoint carries the witness cosignatures; /checkpoint is the latest as signed.
  const note = await (
    await httpGet(`${base}${cosigned ? '/v1/log/checkpoint' : '/checkpoint'}`, undefined, {
      fromInput: false,
    })
  ).text();
  const size = Number(/^.*\n(\d+)\n/.exec(note)?.[1] ?? Number.NaN);
  if (!Number.isSafeInteger(size)) {
    throw new CliError(
      'bad_checkpoint',
      'The server returned a malformed checkpoint.',
      EXIT.verificationFailed,
    );
  }
  async function* chunks(): AsyncIterable<LeafSource[]> {
    for (let tile = 0; tile * TILE < size; tile++) {
      const width = Math.min(TILE, size - tile * TILE);
      const partial = width < TILE ? width : undefined;
      // Both at once; the entries' failure first (it names the missing leaf).
      const [entries, leafHashes] = await Promise.allSettled([
        entryTile(base, tile, width, token),
        httpGet(`${base}/${tilePath(0, tile, partial)}`, undefined, { fromInput: false }).then(
          (r) => r.arrayBuffer(),
        ),
      ]);
      if (entries.status === 'rejected') throw entries.reason;
      if (leafHashes.status === 'rejected') throw leafHashes.reason;
      const [bundle, hashes] = [entries.value, leafHashes.value];
      yield decodeBundle(new Uint8Array(bundle), new Uint8Array(hashes), tile * TILE, width);
    }
  }
  return { checkpointNote: note, chunks: chunks(), close() {} };
}

/**
 * An entries tile the signed checkpoint covers. A server that cannot produce one
 * (`log_entries_missing`, or 404 inside its own signed size) fails verification, not the
 * connection: the first missing leaf is found with partial tiles (at most 8 more requests).
 */
async function entryTile(
  base: string,
  tile: number,
  width: number,
  token: string | undefined,
): Promise<ArrayBuffer> {
  const get = (w: number) =>
    httpGet(`${base}/${entriesPath(tile, w < TILE ? w : undefined)}`, token, {
      fromInput: false,
    }).then((r) => r.arrayBuffer());
  const missing = (e: unknown) =>
    e instanceof HttpError && (e.serverCode === 'log_entries_missing' || e.status === 404);
  try {
    return await get(width);
  } catch (e) {
    if (!missing(e)) throw e;
    let lo = 1;
    let hi = width; // the smallest failing width lies in [lo, hi]
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const ok = await get(mid).then(
        () => true,
        (f: unknown) => {
          if (missing(f)) return false;
          throw f;
        },
      );
      if (ok) lo = mid + 1;
      else hi = mid;
    }
    const leaf = tile * TILE + lo - 1;
    throw new LogVerificationError(
      'missing_entry',
      `Leaf ${leaf} is missing: the server's signed checkpoint covers it, but it cannot serve it (${(e as Error).message})`,
      leaf,
    );
  }
}

function decodeBundle(
  bundle: Uint8Array,
  hashes: Uint8Array,
  first: number,
  width: number,
): LeafSource[] {
  const out: LeafSource[] = [];
  let off = 0;
  while (off < bundle.length) {
    if (off + 2 > bundle.length) break;
    const len = (bundle[off]! << 8) | bundle[off + 1]!;
    off += 2;
    if (off + len > bundle.length) break;
    const i = out.length;
    const hash = hashes.subarray(i * 32, i * 32 + 32);
    out.push({
      leafIndex: first + i,
      data: bundle.subarray(off, off + len),
      ...(hash.length === 32 ? { storedLeafHash: hash } : {}),
    });
    off += len;
  }
  if (out.length !== width || off !== bundle.length) {
    throw new CliError(
      'bad_tile',
      `The server's entry tile at leaf ${first} is malformed.`,
      EXIT.verificationFailed,
    );
  }
  return out;
}
