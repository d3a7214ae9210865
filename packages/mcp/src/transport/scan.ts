/**
 * An incremental scanner for one JSON-RPC line, fed the line's bytes as they arrive. It checks
 * the JSON syntax (what `JSON.parse` accepts), and on the way reads the envelope of a response
 * (`jsonrpc`, `id`, `method`, a small `error`), hashes the bytes of its `result` value (SHA-256,
 * exactly as the server sent them) and reads `result.isError` — without building a string or an
 * object of the message. Lines that are not plain responses are parsed as before.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';

/**
 * What a response's `result` was: its SHA-256 (hex) and length, as sent, `isError`, and for a
 * 2026-07-28 round trip its `resultType` and `requestState` (when they are short strings).
 */
export interface ResultSummary {
  readonly sha256: string;
  readonly bytes: number;
  readonly isError: boolean;
  readonly resultType?: string;
  readonly requestState?: string;
}

/**
 * A server's response, kept as the bytes it sent (the line without its line break), with what
 * the proxy needs from it already read: written to a stream client unchanged, never re-encoded.
 */
export class RawResponse {
  constructor(
    readonly id: RequestId,
    /** The line's bytes, in order (a whole copy of the message: the only one the proxy holds). */
    readonly chunks: readonly Buffer[],
    readonly bytes: number,
    /** A JSON-RPC error response's error. */
    readonly error: { readonly code: number; readonly message: string } | undefined,
    /** A result response's result. */
    readonly result: ResultSummary | undefined,
    /** Where the `{` of `result` and of `result._meta` (when an object) are, in the bytes. */
    readonly at: { readonly result?: number; readonly meta?: number } = {},
  ) {}

  /**
   * The same response with one more `result._meta` member (`key`: `value`), spliced into the
   * bytes without copying them: the server's bytes are kept, one small piece is added. The
   * summary (and so the recorded digest) stays that of the result the server sent.
   */
  withMeta(key: string, value: unknown): RawResponse {
    const member = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    const into = this.at.meta ?? this.at.result;
    if (into === undefined || this.result === undefined) return this;
    const text = this.at.meta !== undefined ? member : `"_meta":{${member}}`;
    const empty = this.nextByte(into + 1) === RBRACE;
    const piece = Buffer.from(empty ? text : `${text},`);
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const c of this.chunks) {
      const cut = into + 1 - offset;
      if (cut > 0 && cut <= c.length) {
        chunks.push(c.subarray(0, cut), piece);
        if (cut < c.length) chunks.push(c.subarray(cut));
      } else chunks.push(c);
      offset += c.length;
    }
    return new RawResponse(this.id, chunks, this.bytes + piece.length, this.error, this.result, {});
  }

  /** The first byte at or after `from` that is not JSON whitespace. */
  private nextByte(from: number): number | undefined {
    let offset = 0;
    for (const c of this.chunks) {
      for (let i = Math.max(0, from - offset); i < c.length; i++) {
        const b = c[i]!;
        if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
      }
      offset += c.length;
    }
    return undefined;
  }

  /** The message as an object, for transports that take objects (builds a second copy). */
  message(): JSONRPCMessage {
    return JSON.parse(Buffer.concat(this.chunks as Buffer[]).toString('utf8')) as JSONRPCMessage;
  }
}

const enum S {
  Root,
  Value,
  ArrStart,
  ObjStart,
  Key,
  Colon,
  After,
  Str,
  Esc,
  Hex,
  Num,
  Lit,
  Done,
  Err,
}

// Number states: where a number may end is marked by NUM_END.
const N_SIGN = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_E = 5;
const N_ESIGN = 6;
const N_EXP = 7;
const NUM_END = new Set([N_ZERO, N_INT, N_FRAC, N_EXP]);

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
const EMPTY = Buffer.alloc(0);

const isWs = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

const KEY_LIMIT = 64;
/** The largest `error` member read from a streamed line (a larger one is parsed as before). */
const ERROR_LIMIT = 64 * 1024;

type Target = 'id' | 'jsonrpc' | 'error' | ResultTarget;
/** The members of `result` read (the rest is only hashed). */
type ResultTarget = 'isError' | 'resultType' | 'requestState';
const RESULT_TARGETS: ReadonlySet<string> = new Set(['isError', 'resultType', 'requestState']);
const isResultTarget = (t: Target | undefined): t is ResultTarget =>
  t !== undefined && RESULT_TARGETS.has(t);
const stringOf = (raw: string | null | undefined): string | undefined => {
  if (typeof raw !== 'string') return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
};

export interface Scanned {
  /** Only whitespace. */
  readonly empty: boolean;
  /** Why the line is not JSON, if it is not. */
  readonly invalid: string | undefined;
  /** A response's `id`, if it was read before the line ended or turned out malformed. */
  readonly id: RequestId | undefined;
  /** The response the line is, when it is a plain, well-formed JSON-RPC response. */
  response(chunks: readonly Buffer[], bytes: number): RawResponse | undefined;
}

export class LineScanner implements Scanned {
  private state = S.Root;
  private readonly stack: number[] = [];
  private back = S.Value; // the state a string or literal returns to (After)
  private isKey = false;
  private hex = 0;
  private num = N_SIGN;
  private lit: Buffer = TRUE;
  private litAt = 0;
  private pos = 0;
  private fail: string | undefined;

  // What is being read.
  private topKey: string | undefined;
  private resKey: string | undefined;
  private keyBytes: number[] | undefined;
  private capTarget: Target | undefined;
  private capParts: Buffer[] = [];
  private capSize = 0;
  private capOver = false;
  private capFrom = -1;
  private hash: Hash | undefined;
  private hashFrom = -1;
  private hashBytes = 0;

  // What was read.
  private rootObject = false;
  private raw = new Map<Target, string | null>();
  private hasMethod = false;
  private results = 0;
  private errors = 0;
  private resultObject = false;
  private sha256: string | undefined;
  private resultBytes = 0;
  private resultAt = -1;
  private metaAt = -1;
  private metaCount = 0;

  get empty(): boolean {
    return this.state === S.Root && this.fail === undefined;
  }

  get invalid(): string | undefined {
    return this.fail;
  }

  get id(): RequestId | undefined {
    // A request or notification's id is no answer's.
    const raw = this.hasMethod ? undefined : this.raw.get('id');
    if (raw === undefined || raw === null) return undefined;
    try {
      const v = JSON.parse(raw) as unknown;
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))
        ? v
        : undefined;
    } catch {
      return undefined;
    }
  }

  response(chunks: readonly Buffer[], bytes: number): RawResponse | undefined {
    if (this.fail !== undefined || this.state !== S.Done || !this.rootObject) return undefined;
    if (this.hasMethod || this.raw.get('jsonrpc') !== '"2.0"') return undefined;
    const id = this.id;
    if (id === undefined) return undefined;
    if (this.results === 1 && this.errors === 0) {
      if (!this.resultObject || this.sha256 === undefined) return undefined;
      const isError = this.raw.get('isError') === 'true';
      const resultType = stringOf(this.raw.get('resultType'));
      const requestState = stringOf(this.raw.get('requestState'));
      return new RawResponse(
        id,
        chunks,
        bytes,
        undefined,
        {
          sha256: this.sha256,
          bytes: this.resultBytes,
          isError,
          ...(resultType !== undefined ? { resultType } : {}),
          ...(requestState !== undefined ? { requestState } : {}),
        },
        {
          // One `_meta` object to add to, or none (then one is added); anything else: neither.
          ...(this.resultAt >= 0 && this.metaCount === 0 ? { result: this.resultAt } : {}),
          ...(this.metaAt >= 0 && this.metaCount === 1 ? { meta: this.metaAt } : {}),
        },
      );
    }
    if (this.errors === 1 && this.results === 0) {
      const raw = this.raw.get('error');
      if (typeof raw !== 'string') return undefined;
      let e: { code?: unknown; message?: unknown };
      try {
        e = JSON.parse(raw) as typeof e;
      } catch {
        return undefined;
      }
      if (typeof e !== 'object' || e === null || Array.isArray(e)) return undefined;
      if (typeof e.code !== 'number' || typeof e.message !== 'string') return undefined;
      return new RawResponse(id, chunks, bytes, { code: e.code, message: e.message }, undefined);
    }
    return undefined;
  }

  /** Reads the next piece of the line (never its line break). */
  feed(buf: Buffer): void {
    if (this.state === S.Err) return;
    const n = buf.length;
    let i = 0;
    while (i < n) {
      const b = buf[i]!;
      switch (this.state) {
        case S.Str: {
          if (!this.isKey) {
            // The hot loop: the bulk of a large result is string content.
            while (i < n) {
              const c = buf[i]!;
              if (c === QUOTE || c === BACKSLASH || c < 0x20) break;
              i++;
            }
            if (i === n) continue;
          }
          const c = buf[i]!;
          if (c === QUOTE) {
            i++;
            if (this.isKey) this.endKey();
            else this.endValue(buf, i);
          } else if (c === BACKSLASH) {
            if (this.keyBytes && this.keyBytes.length < KEY_LIMIT) this.keyBytes.push(c);
            this.state = S.Esc;
            i++;
          } else if (c < 0x20) {
            this.error(i, 'a control character in a string');
          } else {
            // A name of KEY_LIMIT bytes or more is none the proxy reads.
            if (this.keyBytes && this.keyBytes.length < KEY_LIMIT) this.keyBytes.push(c);
            i++;
          }
          continue;
        }
        case S.Esc:
          if (this.keyBytes && this.keyBytes.length < KEY_LIMIT) this.keyBytes.push(b);
          if (b === 0x75) {
            this.state = S.Hex;
            this.hex = 0;
          } else if ('"\\/bfnrt'.includes(String.fromCharCode(b))) this.state = S.Str;
          else {
            this.error(i, 'a bad escape in a string');
            continue;
          }
          i++;
          continue;
        case S.Hex:
          if (!isHex(b)) {
            this.error(i, 'a bad \\u escape in a string');
            continue;
          }
          if (this.keyBytes && this.keyBytes.length < KEY_LIMIT) this.keyBytes.push(b);
          if (++this.hex === 4) this.state = S.Str;
          i++;
          continue;
        case S.Num: {
          const ok = this.numByte(b);
          if (ok) {
            i++;
            continue;
          }
          if (!NUM_END.has(this.num)) {
            this.error(i, 'a malformed number');
            continue;
          }
          this.endValue(buf, i); // the byte is not the number's: look at it again
          continue;
        }
        case S.Lit:
          if (b !== this.lit[this.litAt]) {
            this.error(i, 'an unexpected character');
            continue;
          }
          i++;
          if (++this.litAt === this.lit.length) this.endValue(buf, i);
          continue;
        default:
          break;
      }
      if (isWs(b)) {
        i++;
        continue;
      }
      switch (this.state) {
        case S.Root:
        case S.Value:
        case S.ArrStart:
          if (this.state === S.ArrStart && b === 0x5d) {
            this.close(buf, i, LBRACKET);
            i++;
            continue;
          }
          this.beginValue(buf, i, b);
          if ((this.state as S) !== S.Err) i++;
          continue;
        case S.ObjStart:
        case S.Key:
          if (b === QUOTE) {
            this.beginKey();
            i++;
          } else if (b === 0x7d && this.state === S.ObjStart) {
            this.close(buf, i, LBRACE);
            i++;
          } else this.error(i, 'expected a member name');
          continue;
        case S.Colon:
          if (b === 0x3a) {
            this.state = S.Value;
            i++;
          } else this.error(i, "expected ':'");
          continue;
        case S.After: {
          const top = this.stack[this.stack.length - 1];
          if (b === 0x2c) {
            this.state = top === LBRACE ? S.Key : S.Value;
            i++;
          } else if ((b === 0x7d && top === LBRACE) || (b === 0x5d && top === LBRACKET)) {
            this.close(buf, i, top);
            i++;
          } else this.error(i, "expected ',' or the end of the object or array");
          continue;
        }
        case S.Done:
          this.error(i, 'more after the message');
          continue;
        default:
          return;
      }
    }
    // Carry what is being captured or hashed over to the next piece.
    if (this.capFrom >= 0) {
      this.capture(buf.subarray(this.capFrom));
      this.capFrom = 0;
    }
    if (this.hash && this.hashFrom >= 0) {
      const piece = buf.subarray(this.hashFrom);
      this.hash.update(piece);
      this.hashBytes += piece.length;
      this.hashFrom = 0;
    }
    this.pos += n;
  }

  /** The line has ended. */
  finish(): void {
    if (this.state === S.Num && NUM_END.has(this.num)) this.endValue(EMPTY, 0);
    if (this.state !== S.Done && this.state !== S.Root && this.state !== S.Err) {
      this.fail = 'the message ends early (truncated)';
      this.state = S.Err;
    }
  }

  private error(i: number, what: string): void {
    this.fail = `${what} at byte ${this.pos + i}`;
    this.state = S.Err;
    this.capFrom = -1;
    this.hash = undefined;
  }

  private numByte(b: number): boolean {
    switch (this.num) {
      case N_SIGN:
        if (b === 0x30) this.num = N_ZERO;
        else if (isDigit(b)) this.num = N_INT;
        else return false;
        return true;
      case N_ZERO:
      case N_INT:
        if (this.num === N_INT && isDigit(b)) return true;
        if (b === 0x2e) this.num = N_DOT;
        else if (b === 0x65 || b === 0x45) this.num = N_E;
        else return false;
        return true;
      case N_DOT:
        if (!isDigit(b)) return false;
        this.num = N_FRAC;
        return true;
      case N_FRAC:
        if (isDigit(b)) return true;
        if (b !== 0x65 && b !== 0x45) return false;
        this.num = N_E;
        return true;
      case N_E:
        if (b === 0x2b || b === 0x2d) this.num = N_ESIGN;
        else if (isDigit(b)) this.num = N_EXP;
        else return false;
        return true;
      case N_ESIGN:
        if (!isDigit(b)) return false;
        this.num = N_EXP;
        return true;
      default:
        return isDigit(b);
    }
  }

  private beginValue(buf: Buffer, i: number, b: number): void {
    const depth = this.stack.length;
    if (depth === 0) this.rootObject = b === LBRACE;
    else if (depth === 1 && this.stack[0] === LBRACE) {
      switch (this.topKey) {
        case 'result':
          this.results++;
          this.resultObject = b === LBRACE;
          this.resultAt = this.pos + i;
          this.hash = createHash('sha256');
          this.hashFrom = i;
          this.hashBytes = 0;
          break;
        case 'error':
          this.errors++;
          this.startCapture('error', i);
          break;
        case 'id':
        case 'jsonrpc':
          this.startCapture(this.topKey, i);
          break;
        case 'method':
          this.hasMethod = true;
          break;
        default:
          break;
      }
    } else if (depth === 2 && this.inResult() && RESULT_TARGETS.has(this.resKey ?? '')) {
      this.startCapture(this.resKey as ResultTarget, i);
    } else if (depth === 2 && this.inResult() && this.resKey === '_meta') {
      this.metaCount++;
      this.metaAt = b === LBRACE ? this.pos + i : -1;
    }
    if (b === LBRACE || b === LBRACKET) {
      this.stack.push(b);
      this.state = b === LBRACE ? S.ObjStart : S.ArrStart;
    } else if (b === QUOTE) {
      this.isKey = false;
      this.keyBytes = undefined;
      this.state = S.Str;
    } else if (b === 0x2d || isDigit(b)) {
      this.num = N_SIGN;
      if (b !== 0x2d) this.numByte(b);
      this.state = S.Num;
    } else if (b === 0x74 || b === 0x66 || b === 0x6e) {
      this.lit = b === 0x74 ? TRUE : b === 0x66 ? FALSE : NULL;
      this.litAt = 1;
      this.state = S.Lit;
    } else this.error(i, 'expected a value');
  }

  private inResult(): boolean {
    return this.topKey === 'result' && this.stack[1] === LBRACE && this.stack[0] === LBRACE;
  }

  private beginKey(): void {
    this.isKey = true;
    const depth = this.stack.length;
    this.keyBytes = depth === 1 || (depth === 2 && this.inResult()) ? [] : undefined;
    this.state = S.Str;
  }

  private endKey(): void {
    const depth = this.stack.length;
    let key: string | undefined;
    const bytes = this.keyBytes;
    if (bytes && bytes.length < KEY_LIMIT) {
      const text = Buffer.from(bytes).toString('utf8');
      try {
        key = bytes.includes(BACKSLASH) ? (JSON.parse(`"${text}"`) as string) : text;
      } catch {
        key = undefined;
      }
    }
    if (depth === 1) this.topKey = key;
    else if (depth === 2 && bytes) this.resKey = key;
    this.keyBytes = undefined;
    this.isKey = false;
    this.state = S.Colon;
  }

  private close(buf: Buffer, i: number, open: number): void {
    if (this.stack.pop() !== open) {
      this.error(i, 'mismatched brackets');
      return;
    }
    this.endValue(buf, i + 1);
  }

  /** A value has ended just before `end` in `buf`. */
  private endValue(buf: Buffer, end: number): void {
    const depth = this.stack.length;
    if (depth === 1 && this.stack[0] === LBRACE) {
      if (this.hash && this.hashFrom >= 0) {
        const piece = buf.subarray(this.hashFrom, end);
        this.hash.update(piece);
        this.resultBytes = this.hashBytes + piece.length;
        this.sha256 = this.hash.digest('hex');
        this.hash = undefined;
        this.hashFrom = -1;
      }
      if (this.capTarget !== undefined && !isResultTarget(this.capTarget)) {
        this.endCapture(buf, end);
      }
    } else if (depth === 2 && isResultTarget(this.capTarget)) this.endCapture(buf, end);
    this.state = depth === 0 ? S.Done : S.After;
  }

  private startCapture(target: Target, i: number): void {
    this.capTarget = target;
    this.capParts = [];
    this.capSize = 0;
    this.capOver = false;
    this.capFrom = i;
  }

  private capture(piece: Buffer): void {
    if (this.capOver) return;
    const limit =
      this.capTarget === 'error' ? ERROR_LIMIT : this.capTarget === 'requestState' ? 8192 : 1024;
    this.capSize += piece.length;
    if (this.capSize > limit) {
      this.capOver = true;
      this.capParts = [];
      return;
    }
    // Copied: the capture is small, and must not pin the line's buffers.
    this.capParts.push(Buffer.from(piece));
  }

  private endCapture(buf: Buffer, end: number): void {
    if (this.capFrom >= 0) this.capture(buf.subarray(this.capFrom, end));
    this.raw.set(
      this.capTarget!,
      this.capOver ? null : Buffer.concat(this.capParts).toString('utf8'),
    );
    this.capTarget = undefined;
    this.capParts = [];
    this.capFrom = -1;
  }
}
