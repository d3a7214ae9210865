// The collector side of C2SP tlog-witness: after commits (polled, not on the ingest path), send
// the log's latest checkpoint to each configured witness with a consistency proof from the size
// that witness last cosigned, collect the cosignatures, and serve the newest checkpoint that
// meets the policy (k of n) with its cosignature lines appended.
//
// The client does not persist what each witness cosigned: it starts from `old 0`, and a witness
// that already knows the log answers 409 with its size, from which the client retries once with
// a proof. A witness that is ahead of the log (the database was rolled back) or that refuses the
// proof (the database was replaced: a fork) never cosigns; the client reports it to the
// `PublishedHistory` (./history.ts), which refuses appends (`log_behind_witness`), and keeps
// serving the last checkpoint that met the policy, if any.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  formatAddCheckpoint,
  openNote,
  parseCheckpoint,
  parseCosignerVerifierKey,
  verifyCosignatureLine,
} from '@provenant/ledger';
import type { CosignerVerifierKey, Log } from '@provenant/ledger';
import { relationToLog } from './history.js';
import type { PublishedHistory } from './history.js';

export interface WitnessEndpoint {
  /** The witness URL; requests go to `<url>/add-checkpoint`. */
  readonly url: string;
  /** The witness's cosignature/v1 verifier key `<name>+<id>+<base64(0x04 || key)>`. */
  readonly verifierKey: string;
}

export interface WitnessStatus {
  readonly url: string;
  readonly name: string;
  /** The size the witness last cosigned (as far as this client knows). */
  readonly size: number | null;
  /** The last refusal or transport failure, or null after a success. */
  readonly lastError: string | null;
}

export interface CosignClientOptions {
  readonly log: Log;
  readonly witnesses: readonly WitnessEndpoint[];
  /** How many witnesses must cosign (k of n); default all of them. */
  readonly policy?: number;
  /** How often to look for a new checkpoint, ms (debounce); default 1000. */
  readonly intervalMs?: number;
  /** Retry delay for a witness that refused the current checkpoint, ms; default 30000. */
  readonly retryMs?: number;
  /** Per-request timeout, ms; default 10000. */
  readonly timeoutMs?: number;
  /**
   * A file to keep the published (cosigned) checkpoint in, so it is served again after a restart
   * and `provenant verify --data DIR --witness KEY` can check it offline.
   */
  readonly file?: string;
  /** Told what each witness says about the log's history (ahead, forked, or cosigned). */
  readonly history?: PublishedHistory;
  readonly onEvent?: (level: 'info' | 'warn' | 'error', message: string, fields: object) => void;
}

interface Peer {
  readonly url: string;
  readonly key: CosignerVerifierKey;
  size: number | null;
  lastError: string | null;
  /** The checkpoint note this peer cosigned or refused last, and when (monotonic ms). */
  lastNote: string | null;
  lastTry: number;
}

export class CosignClient {
  readonly policy: number;
  private readonly options: CosignClientOptions;
  private readonly peers: Peer[];
  private readonly cosigs = new Map<string, Map<string, string>>(); // note -> witness -> line
  private served: string | null = null;
  private servedNote: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(options: CosignClientOptions) {
    this.options = options;
    if (options.witnesses.length === 0) throw new Error('A cosign client needs witnesses.');
    this.peers = options.witnesses.map((w) => ({
      url: w.url.replace(/\/+$/, ''),
      key: parseCosignerVerifierKey(w.verifierKey.trim()),
      size: null,
      lastError: null,
      lastNote: null,
      lastTry: 0,
    }));
    const names = new Set(this.peers.map((p) => `${p.key.name}+${p.key.keyId}`));
    if (names.size !== this.peers.length) throw new Error('Two witnesses have the same key.');
    this.policy = options.policy ?? this.peers.length;
    if (!Number.isSafeInteger(this.policy) || this.policy < 1 || this.policy > this.peers.length) {
      throw new Error(`The witness policy must be from 1 to ${this.peers.length}.`);
    }
  }

  /**
   * Loads the checkpoint published before a restart, if it is still a checkpoint of this tree
   * (signed by the log key, at most the log's size, with the root the log has at that size).
   */
  async load(): Promise<void> {
    if (this.options.file === undefined) return;
    let note: string;
    try {
      note = readFileSync(this.options.file, 'utf8');
    } catch {
      return;
    }
    const relation = await relationToLog(this.options.log, note);
    if (relation.kind === 'contained' && relation.size > 0) {
      this.served = note;
      return;
    }
    // One ahead of or beside the tree is evidence (PublishedHistory), never served over it.
    this.options.onEvent?.(
      'error',
      'The cosigned checkpoint kept in the data folder is not a checkpoint of this ledger; not served.',
      { file: this.options.file, relation: relation.kind },
    );
  }

  /** Starts the background loop (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      if (!this.running) void this.cosignNow();
    }, this.options.intervalMs ?? 1000);
    this.timer.unref();
    void this.cosignNow();
  }

  /**
   * Sends the latest checkpoint to every witness that has not cosigned it; resolves when done.
   * Calls are serialized: one that arrives during a round runs after it.
   */
  cosignNow(): Promise<void> {
    return this.serialized(() => this.round(false));
  }

  /**
   * A round that also asks about the empty tree (a log at size 0 is not otherwise sent): what
   * the collector awaits before it accepts records, so a witness that already cosigned a larger
   * size stops appends before the first one.
   */
  askWitnesses(): Promise<void> {
    return this.serialized(() => this.round(true));
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const next: Promise<void> = (this.running ?? Promise.resolve())
      .then(fn)
      .catch((e: unknown) =>
        this.options.onEvent?.('error', 'witness round failed', { err: (e as Error).message }),
      )
      .finally(() => {
        if (this.running === next) this.running = null;
      });
    this.running = next;
    return next;
  }

  /**
   * The checkpoint to publish: the newest one with at least `policy` cosignatures, lines
   * appended; the latest uncosigned checkpoint until one meets the policy.
   */
  checkpointNote(): string {
    return this.served ?? this.options.log.latestCheckpoint().note;
  }

  status(): WitnessStatus[] {
    return this.peers.map((p) => ({
      url: p.url,
      name: p.key.name,
      size: p.size,
      lastError: p.lastError,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running;
  }

  private async round(includeEmpty: boolean): Promise<void> {
    if (this.closed) return;
    const { note, size } = this.options.log.latestCheckpoint();
    if (size === 0 && !includeEmpty) return; // nothing worth witnessing yet
    const now = performance.now(); // monotonic: a clock stepping back must not stop retries
    const retryMs = this.options.retryMs ?? 30_000;
    const due = this.peers.filter(
      (p) => p.lastNote !== note || (p.lastError !== null && now - p.lastTry >= retryMs),
    );
    if (due.length === 0) return;
    await Promise.all(due.map((p) => this.submit(p, note, size)));
    await this.options.history?.recheck();
    const lines = this.cosigs.get(note);
    if (size > 0 && lines && lines.size >= this.policy) {
      const served = note + [...lines.values()].join('');
      if (served !== this.served) {
        this.served = served;
        this.persist(served);
      }
      this.servedNote = note;
    }
    // Only the published checkpoint and the latest are worth keeping.
    for (const key of [...this.cosigs.keys()]) {
      if (key !== note && key !== this.servedNote) this.cosigs.delete(key);
    }
  }

  private async submit(peer: Peer, note: string, size: number): Promise<void> {
    peer.lastNote = note;
    peer.lastTry = performance.now();
    const text = openNote(note, [this.options.log.noteVerifier()]).text;
    let old = peer.size ?? 0;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (old > size) {
        return this.refused(
          peer,
          'witness_ahead',
          `The witness cosigned size ${old}, beyond this log's ${size}: the ledger was rolled back or replaced.`,
          { kind: 'behind', size: old },
        );
      }
      let response: Response;
      try {
        const proof =
          old > 0 && old < size ? await this.options.log.consistencyProof(old, size) : [];
        response = await fetch(`${peer.url}/add-checkpoint`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: formatAddCheckpoint({ oldSize: old, proof, checkpoint: note }),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
      } catch (e) {
        return this.refused(
          peer,
          'unreachable',
          `The witness cannot be reached: ${(e as Error).message}`,
        );
      }
      const body = await response.text().catch(() => '');
      if (response.status === 200) {
        const line = body
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => `${l}\n`)
          .find((l) => {
            try {
              verifyCosignatureLine(text, l, peer.key);
              return true;
            } catch {
              return false;
            }
          });
        if (!line) {
          return this.refused(
            peer,
            'bad_cosignature',
            'The witness answered no valid cosignature by its key.',
          );
        }
        peer.size = parseCheckpoint(text).size;
        peer.lastError = null;
        this.options.history?.witnessSaid(peer.key.name, null);
        let lines = this.cosigs.get(note);
        if (!lines) this.cosigs.set(note, (lines = new Map()));
        lines.set(peer.url, line);
        this.options.onEvent?.('info', 'checkpoint cosigned', { witness: peer.key.name, size });
        return;
      }
      if (response.status === 409 && /^(0|[1-9][0-9]*)\n?$/.test(body)) {
        const theirs = Number(body.trim());
        peer.size = theirs;
        if (theirs === old) {
          return this.refused(
            peer,
            'fork',
            `The witness holds another checkpoint of size ${old}: the log forked.`,
            { kind: 'fork', size: old },
          );
        }
        old = theirs;
        continue;
      }
      return this.refused(
        peer,
        `http_${response.status}`,
        `The witness refused the checkpoint (${response.status}): ${body.slice(0, 300)}`,
        // 422: the proof from the size it cosigned fails, so this tree has another root there.
        response.status === 422 && old > 0 ? { kind: 'fork', size: old } : undefined,
      );
    }
    return this.refused(peer, 'conflict', 'The witness kept answering 409.');
  }

  private persist(note: string): void {
    const file = this.options.file;
    if (file === undefined) return;
    try {
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, note);
      renameSync(tmp, file);
    } catch (e) {
      this.options.onEvent?.('warn', 'Cannot keep the cosigned checkpoint.', {
        err: (e as Error).message,
      });
    }
  }

  private refused(
    peer: Peer,
    code: string,
    message: string,
    evidence?: { kind: 'behind' | 'fork'; size: number },
  ): void {
    const changed = peer.lastError !== message;
    peer.lastError = message;
    if (evidence) this.options.history?.witnessSaid(peer.key.name, { ...evidence, message });
    // Refusals by a witness are what witnessing is for: say so loudly, once per change.
    if (changed) {
      this.options.onEvent?.(code === 'unreachable' ? 'warn' : 'error', message, {
        witness: peer.key.name,
        url: peer.url,
        code,
      });
    }
  }
}
