/**
 * The durable spool: an append-only NDJSON file of records waiting for the collector, and a
 * cursor file saying how far it has been delivered. Credential lines (`{"t": token}`) precede
 * the records sent with that credential, so a replay after a restart still sends each record
 * with the credential it was made under (the collector checks them against each other).
 *
 * Layout in `dir`: `spool.ndjson`, `spool.cursor` (`{"offset", "token"}`), `rejected.ndjson`
 * (records the collector refused, kept for inspection). One recorder per folder.
 *
 * What survives a crash: every line written before the last fsync (see `FsyncPolicy`). A torn
 * last line is cut off when the spool is opened. Records after the cursor are re-sent; ids make
 * that idempotent.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';

export type FsyncPolicy = 'always' | 'batch' | 'never';

export interface SpoolBatch {
  /** Runs of consecutive records sent with the same credential, in spool order. */
  readonly runs: { token: string; records: string[] }[];
  readonly count: number;
  /** The cursor after this batch. */
  readonly end: number;
  /** The credential in force at `end`. */
  readonly token: string | null;
}

const READ_CHUNK = 1 << 20;

export class Spool {
  private readonly file: string;
  private readonly cursorFile: string;
  private readonly rejectedFile: string;
  private fd: number;
  private size: number;
  private cursor: number;
  private cursorToken: string | null;
  private lastWrittenToken: string | null = null;
  private lastSync = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    readonly fsync: FsyncPolicy,
    private readonly syncIntervalMs: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'spool.ndjson');
    this.cursorFile = join(dir, 'spool.cursor');
    this.rejectedFile = join(dir, 'rejected.ndjson');
    this.fd = openSync(this.file, 'a+', 0o600);
    this.size = fstatSync(this.fd).size;
    this.cutTornTail();
    const c = this.readCursor();
    this.cursor = Math.min(c.offset, this.size);
    this.cursorToken = c.token;
    // Appends after a restart must say their credential again: the last line's may differ.
    this.lastWrittenToken = null;
  }

  /** Bytes in the spool file (delivered ones included, until the spool is drained and reset). */
  get bytes(): number {
    return this.size;
  }

  /** Where the next replay starts (bytes into the spool file). */
  get offset(): number {
    return this.cursor;
  }

  /** True when some records have not been delivered yet. */
  get pending(): boolean {
    return this.cursor < this.size;
  }

  /**
   * Appends records (JSON text) made under `token`, in order. Returns false, writing nothing,
   * when they would take the spool over `maxBytes`; throws on an I/O error.
   */
  append(entries: readonly { token: string; json: string }[], durable: boolean): boolean {
    let text = '';
    let token = this.lastWrittenToken;
    for (const e of entries) {
      if (e.token !== token) {
        text += `{"t":${JSON.stringify(e.token)}}\n`;
        token = e.token;
      }
      text += e.json + '\n';
    }
    const buf = Buffer.from(text, 'utf8');
    if (this.size + buf.length > this.maxBytes) return false;
    let written = 0;
    try {
      while (written < buf.length) written += writeSync(this.fd, buf, written);
    } catch (e) {
      // Leave no partial line behind: the next append would glue onto it.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        /* the file is unusable; the error below says so */
      }
      throw e;
    }
    this.size += buf.length;
    this.lastWrittenToken = token;
    const now = Date.now();
    if (
      durable ||
      this.fsync === 'always' ||
      (this.fsync === 'batch' && now - this.lastSync >= this.syncIntervalMs)
    ) {
      fsyncSync(this.fd);
      this.lastSync = now;
    }
    return true;
  }

  /** Reads up to `max` undelivered records from the cursor, grouped by credential. */
  read(max: number): SpoolBatch {
    const runs: { token: string; records: string[] }[] = [];
    let token = this.cursorToken;
    let pos = this.cursor;
    let count = 0;
    while (count < max && pos < this.size) {
      const len = Math.min(READ_CHUNK, this.size - pos);
      const buf = Buffer.allocUnsafe(len);
      const n = readSync(this.fd, buf, 0, len, pos);
      let start = 0;
      let nl: number;
      while (count < max && (nl = buf.indexOf(0x0a, start)) !== -1 && nl < n) {
        const line = buf.toString('utf8', start, nl);
        start = nl + 1;
        if (line.startsWith('{"t":')) {
          token = (JSON.parse(line) as { t: string }).t;
          continue;
        }
        if (line.length === 0 || token === null) continue; // no credential known: cannot send
        let run = runs.at(-1);
        if (!run || run.token !== token) {
          run = { token, records: [] };
          runs.push(run);
        }
        run.records.push(line);
        count++;
      }
      // Records are at most 64 KiB and credentials 8 KiB, so a chunk always holds a line.
      if (start === 0) break;
      pos += start;
    }
    return { runs, count, end: pos, token };
  }

  /** Marks everything before `end` as delivered. */
  commit(end: number, token: string | null): void {
    this.cursor = end;
    this.cursorToken = token;
    if (this.cursor >= this.size) {
      this.reset();
      return;
    }
    const tmp = `${this.cursorFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ offset: end, token }), { mode: 0o600 });
    if (this.fsync !== 'never') {
      const fd = openSync(tmp, 'r');
      fsyncSync(fd);
      closeSync(fd);
    }
    renameSync(tmp, this.cursorFile);
  }

  /** Keeps a record the collector refused, with why, for someone to look at. */
  reject(json: string, code: string, message: string): void {
    try {
      appendFileSync(
        this.rejectedFile,
        `${JSON.stringify({ code, message, record: JSON.parse(json) as unknown })}\n`,
        { mode: 0o600 },
      );
    } catch {
      /* counted by the caller; nowhere else to put it */
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Everything delivered: empty the file and the cursor. */
  private reset(): void {
    ftruncateSync(this.fd, 0);
    if (this.fsync !== 'never') fsyncSync(this.fd);
    this.size = 0;
    this.cursor = 0;
    this.cursorToken = null;
    this.lastWrittenToken = null;
    writeFileSync(this.cursorFile, JSON.stringify({ offset: 0, token: null }), { mode: 0o600 });
  }

  private readCursor(): { offset: number; token: string | null } {
    try {
      const c = JSON.parse(readFileSync(this.cursorFile, 'utf8')) as {
        offset?: unknown;
        token?: unknown;
      };
      return {
        offset: typeof c.offset === 'number' && c.offset >= 0 ? c.offset : 0,
        token: typeof c.token === 'string' ? c.token : null,
      };
    } catch {
      return { offset: 0, token: null };
    }
  }

  private cutTornTail(): void {
    if (this.size === 0) return;
    const tail = Math.min(this.size, 1 << 16);
    const buf = Buffer.alloc(tail);
    readSync(this.fd, buf, 0, tail, this.size - tail);
    if (buf[tail - 1] === 0x0a) return;
    const nl = buf.lastIndexOf(0x0a);
    const keep =
      nl === -1 ? (tail === this.size ? 0 : this.size - tail) : this.size - tail + nl + 1;
    ftruncateSync(this.fd, keep);
    this.size = keep;
  }
}
