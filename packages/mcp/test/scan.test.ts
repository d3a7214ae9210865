import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SseEvents } from '../src/transport/http-upstream.js';
import { LineScanner, RawResponse } from '../src/transport/scan.js';
import { StreamTransport, UpstreamMalformedError, WIRE_ERROR, createRelay } from '../src/index.js';
import { wireError } from '../src/wire.js';
import type { Interceptor } from '../src/index.js';
import { jsonText } from '../src/digest.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

// A small deterministic generator: the same values on every run.
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const STRINGS = [
  '',
  'a',
  'héllo',
  'q"uote',
  'back\\slash',
  'nl\nx',
  '\u0001',
  '😀',
  '\u2028',
  'isError',
];
function value(depth: number): unknown {
  const r = rand();
  if (depth > 3 || r < 0.4) {
    return pick<unknown>([0, -1, 1.5, 1e21, -0.25e-7, true, false, null, ...STRINGS]);
  }
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 4); i > 0; i--) o[pick(STRINGS)] = value(depth + 1);
  return o;
}

/** Feeds a line to a scanner in random pieces. */
function scan(line: string): { s: LineScanner; chunks: Buffer[] } {
  const bytes = Buffer.from(line);
  const s = new LineScanner();
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(rand() * 7);
    const piece = bytes.subarray(at, at + n);
    s.feed(piece);
    chunks.push(piece);
    at += n;
  }
  s.finish();
  return { s, chunks };
}

function valid(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

describe('LineScanner', () => {
  it('accepts exactly what JSON.parse accepts, on random values and mutations', () => {
    const noise = [
      '',
      ' ',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '0',
      '-',
      '.',
      'e',
      't',
      'x',
      '\t',
    ];
    let checked = 0;
    for (let n = 0; n < 3000; n++) {
      let line = JSON.stringify(value(0));
      if (n % 2 === 1) {
        const at = Math.floor(rand() * (line.length + 1));
        const cut = Math.floor(rand() * 3);
        line = line.slice(0, at) + pick(noise) + line.slice(at + cut);
      }
      if (line.includes('\n') || line.trim() === '') continue;
      const { s } = scan(line);
      expect({ line, invalid: s.invalid !== undefined }).toEqual({ line, invalid: !valid(line) });
      checked++;
    }
    expect(checked).toBeGreaterThan(2500);
    for (const bad of [
      '{"a":01}',
      '{"a":1.}',
      '{"a":-}',
      '{"a":tru}',
      '{"a":"\\x"}',
      '[1,]',
      '{"a"}',
      '{}{}',
      '"\\u12g4"',
    ]) {
      expect(scan(bad).s.invalid, bad).toBeDefined();
    }
  });

  it('reads a response: the result bytes hashed as sent, isError, id, and errors', () => {
    for (let n = 0; n < 500; n++) {
      const result = {
        content: [{ type: 'text', text: pick(STRINGS) }],
        x: value(1),
        isError: n % 3 === 0,
      };
      const id = n % 2 ? n : `r-${n}`;
      // The official SDK writes the result first and the id last; others the other way round.
      const line =
        n % 4 < 2
          ? JSON.stringify({ result, jsonrpc: '2.0', id })
          : `{ "jsonrpc" : "2.0", "id" : ${JSON.stringify(id)}, "result" :${JSON.stringify(result, null, n % 3)} }`;
      const { s, chunks } = scan(line);
      const r = s.response(chunks, Buffer.byteLength(line));
      const text = n % 4 < 2 ? JSON.stringify(result) : JSON.stringify(result, null, n % 3);
      expect(r).toBeInstanceOf(RawResponse);
      expect(r!.id).toBe(id);
      expect(r!.result).toEqual({
        sha256: sha(text),
        bytes: Buffer.byteLength(text),
        isError: n % 3 === 0,
      });
      expect(r!.message()).toEqual(JSON.parse(line));
    }
    const err = scan('{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no such method"}}');
    expect(err.s.response(err.chunks, 1)?.error).toEqual({
      code: -32601,
      message: 'no such method',
    });
    // An escaped member name is read as JSON.parse reads it.
    const esc = scan('{"jsonrpc":"2.0","id":1,"result":{"is\\u0045rror":true}}');
    expect(esc.s.response(esc.chunks, 1)?.result?.isError).toBe(true);
    const nested = scan('{"jsonrpc":"2.0","id":1,"result":{"content":[{"isError":true}]}}');
    expect(nested.s.response(nested.chunks, 1)?.result?.isError).toBe(false);
  });

  it('leaves to JSON.parse whatever is not a plain response', () => {
    for (const line of [
      '{"jsonrpc":"2.0","id":1,"method":"x","result":{}}',
      '{"jsonrpc":"2.0","method":"notifications/x"}',
      '{"jsonrpc":"2.0","id":1,"result":{},"result":{}}',
      '{"jsonrpc":"2.0","id":1,"result":[]}',
      '{"jsonrpc":"2.0","id":1.5,"result":{}}',
      '{"jsonrpc":"1.0","id":1,"result":{}}',
      '{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":"1","message":"m"}}',
      '[{"jsonrpc":"2.0","id":1,"result":{}}]',
    ]) {
      const { s, chunks } = scan(line);
      expect(s.invalid, line).toBeUndefined();
      expect(s.response(chunks, line.length), line).toBeUndefined();
    }
    // A truncated answer still names its id when the id came first.
    const cut = scan('{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"abc');
    expect(cut.s.invalid).toMatch(/truncated/);
    expect(cut.s.id).toBe(9);
  });
});

describe('jsonText', () => {
  it('hashes what JSON.stringify writes, without writing it', () => {
    for (let n = 0; n < 500; n++) {
      const v = { r: value(0), u: undefined, a: [undefined, () => 1], d: new Date(0) };
      const text = JSON.stringify(v);
      expect(jsonText(v)).toEqual({ sha256: sha(text), bytes: Buffer.byteLength(text) });
    }
    // Long strings go in slices, never splitting a surrogate pair.
    const long = `${'x'.repeat((1 << 20) - 1)}😀"${'é'.repeat(1 << 20)}\u0000`;
    expect(jsonText({ long }).sha256).toBe(sha(JSON.stringify({ long })));
  });
});

describe('StreamTransport raw responses', () => {
  it('hands a taken response over as the bytes read and writes them out unchanged', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const t = new StreamTransport(input, output);
    const got: unknown[] = [];
    const raw: RawResponse[] = [];
    const bad: [string, string, unknown][] = [];
    t.onmessage = (m) => got.push(m);
    t.onmalformed = (line, e, id) => bad.push([line, e.message, id]);
    t.onrawresponse = (r) => (r.id === 1 ? raw.push(r) > 0 : false);
    await t.start();
    const one = '{"result":{"content":[],"note":"\\u00e9 é"},"jsonrpc":"2.0","id":1}';
    input.write(`${one.slice(0, 20)}`);
    input.write(`${one.slice(20)}\r\n{"jsonrpc":"2.0","id":2,"result":{}}\n`);
    input.write('{"jsonrpc":"2.0","id":3,"result":{"x":"unterminated}\n');
    await new Promise((ok) => setImmediate(ok));
    expect(raw).toHaveLength(1);
    expect(Buffer.concat(raw[0]!.chunks as Buffer[]).toString()).toBe(one);
    expect(got).toEqual([{ jsonrpc: '2.0', id: 2, result: {} }]);
    expect(bad).toHaveLength(1);
    expect(bad[0]![2]).toBe(3);
    await t.sendRaw(raw[0]!);
    expect(output.read()?.toString()).toBe(`${one}\n`);
    await t.close();
  });
});

describe('relay between stream transports', () => {
  /** client ⇄ relay ⇄ "server", each side a pair of pipes written and read as raw lines. */
  async function pipes(interceptor?: Interceptor) {
    const [cIn, cOut, sIn, sOut] = [0, 1, 2, 3].map(() => new PassThrough());
    const relay = createRelay({
      client: new StreamTransport(cIn!, cOut!),
      server: new StreamTransport(sIn!, sOut!),
      ...(interceptor ? { interceptor } : {}),
    });
    await relay.start();
    const reader = (s: PassThrough) => {
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      return async (n: number) => {
        for (let i = 0; i < 100 && text.split('\n').length <= n; i++) {
          await new Promise((ok) => setTimeout(ok, 5));
        }
        return text.split('\n').slice(0, n);
      };
    };
    return {
      relay,
      toRelay: cIn!,
      fromRelay: reader(cOut!),
      server: sIn!,
      atServer: reader(sOut!),
    };
  }
  const forward: Interceptor = {
    methods: new Set(['tools/call']),
    async handle(request, upstream) {
      try {
        const a = await upstream.forward(request);
        return a.kind === 'raw' ? a.response : a.kind === 'response' ? a.message : null;
      } catch (e) {
        if (!(e instanceof UpstreamMalformedError)) throw e;
        return wireError(request.id, 'upstream_malformed', e.message);
      }
    },
  };

  it('relays an intercepted answer as the exact bytes the server wrote', async () => {
    const p = await pipes(forward);
    p.toRelay.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}\n');
    await p.atServer(1);
    // Not what JSON.stringify would write: spacing, escapes, key order all kept.
    const answer =
      '{ "result" : {"content":[{"type":"text","text":"\\u00e9\\/"}] }, "id":1, "jsonrpc":"2.0" }';
    p.server.write(`${answer}\r\n`);
    expect(await p.fromRelay(1)).toEqual([answer]);
    await p.relay.close();
  });

  it('answers the client when the answer to its request is malformed, intercepted or not', async () => {
    const p = await pipes(forward);
    p.toRelay.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}\n');
    p.toRelay.write('{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n');
    await p.atServer(2);
    p.server.write('{"jsonrpc":"2.0","id":1,"result":{"content":[oops]}}\n');
    p.server.write('{"jsonrpc":"2.0","id":2,"result":5}\n');
    const got = (await p.fromRelay(2)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(got).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: 1,
          error: expect.objectContaining({ code: WIRE_ERROR.upstream_malformed }),
        }),
        expect.objectContaining({
          id: 2,
          error: expect.objectContaining({ code: WIRE_ERROR.upstream_malformed }),
        }),
      ]),
    );
    await p.relay.close();
  });
});

describe('SseEvents (Streamable HTTP answers)', () => {
  it('passes events on byte for byte and hands over each response with its data as sent', () => {
    const response = '{"result":{"content":[],"isError":true},\n"jsonrpc":"2.0","id":7}';
    const progress = '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}';
    const passed = [
      `retry: 500\r\nid: e1\r\nevent: message\r\ndata: ${progress}\r\n\r\n`,
      ': keepalive\n\n',
      'event: other\ndata: {"jsonrpc":"2.0","id":7,"result":{}}\n\n',
      'data: not json\n\n',
      'data:{"jsonrpc":"2.0","id":9,"result":[]}\r\r',
    ];
    // The response: its data in two lines (joined by a line feed), its id and retry kept.
    const taken = `id: e2\nretry:100\ndata: ${response.split('\n')[0]}\r\ndata:${response.split('\n')[1]}\n\n`;
    const stream = Buffer.from(passed[0]! + passed[1]! + taken + passed.slice(2).join(''));
    for (let round = 0; round < 50; round++) {
      const out: Buffer[] = [];
      const got: { id: string | undefined; retry: string | undefined; data: string; r: unknown }[] =
        [];
      const events = new SseEvents({
        pass: (pieces) => void out.push(...pieces),
        event: (e) => {
          const r = e.scanner!.response(e.data, e.dataBytes);
          if (!r || (e.type !== undefined && e.type !== 'message')) return false;
          got.push({
            id: e.id,
            retry: e.retry,
            data: Buffer.concat(e.data as Buffer[]).toString(),
            r: { id: r.id, isError: r.result?.isError, sha256: r.result?.sha256 },
          });
          return true;
        },
      });
      // Random pieces, down to single bytes (a CRLF split between two of them included).
      for (let at = 0; at < stream.length;) {
        const n = 1 + Math.floor(rand() * (round < 25 ? 3 : 40));
        events.feed(stream.subarray(at, at + n));
        at += n;
      }
      events.end();
      expect(Buffer.concat(out).toString()).toBe(passed.join(''));
      expect(got).toEqual([
        {
          id: 'e2',
          retry: '100',
          data: response,
          r: { id: 7, isError: true, sha256: sha('{"content":[],"isError":true}') },
        },
      ]);
    }
  });

  it('reports a large event that is not JSON instead of passing it on', () => {
    const big = `data: {"jsonrpc":"2.0","id":3,"result":{"text":"${'x'.repeat(2 << 20)}\n\n`;
    const out: Buffer[] = [];
    const seen: (string | undefined)[] = [];
    const events = new SseEvents({
      pass: (pieces) => void out.push(...pieces),
      event: (e) => {
        if (e.scanner!.invalid !== undefined && e.dataBytes > 1 << 20) {
          seen.push(`${String(e.scanner!.id)}: ${e.scanner!.invalid}`);
          return true;
        }
        return false;
      },
    });
    events.feed(Buffer.from(big));
    events.feed(Buffer.from('data: {"jsonrpc":"2.0","id":4,"result":{"text":"cut'));
    events.end();
    expect(seen).toEqual([
      expect.stringMatching(/^3: the message ends early \(truncated\)/),
      // The body ended inside an event: a small one passes on (the SDK drops it).
    ]);
    expect(Buffer.concat(out).toString()).toBe(
      'data: {"jsonrpc":"2.0","id":4,"result":{"text":"cut',
    );
  });
});
