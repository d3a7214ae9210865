import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../src/index.js';

async function serve(flags: string[]): Promise<{ status: number; err: string }> {
  let err = '';
  const status = await main(['serve', ...flags], {
    env: {},
    out: () => {},
    err: (t) => (err += t),
  });
  return { status, err };
}

describe('serve --authzen-pdp flags', () => {
  it('refuses incoherent or unsafe PDP flags before starting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provenant-authzen-flags-'));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const cases: [string[], RegExp][] = [
      [['--authzen-pdp-token-file', empty], /--authzen-pdp-token-file needs --authzen-pdp/],
      [['--authzen-pdp', 'http://pdp.example.com'], /must be https/],
      [['--authzen-pdp', 'not a url'], /is not a URL/],
      [['--authzen-pdp', 'https://pdp.example.com/?t=1'], /no query/],
      [['--authzen-pdp', 'https://pdp.example.com', '--authzen-pdp-token-file', empty], /is empty/],
      [
        ['--authzen-pdp', 'https://pdp.example.com', '--authzen-pdp-token-file', join(dir, 'none')],
        /cannot read/,
      ],
      [['--authzen-pdp', 'https://pdp.example.com', '--policies', dir], /exclude each other/],
    ];
    for (const [flags, message] of cases) {
      const r = await serve(['--data', join(dir, 'data'), ...flags]);
      expect(r.status, flags.join(' ')).toBe(EXIT.usage);
      expect(r.err, flags.join(' ')).toMatch(message);
    }
  });
});

describe('mcp-proxy --authzen-pdp', () => {
  it('refuses an unsafe PDP URL, and HTTP mode, before starting anything', async () => {
    const run = async (flags: string[]) => {
      let err = '';
      const status = await main(['mcp-proxy', '--identity', 'x.json', ...flags], {
        env: { PROVENANT_INITIATOR_TOKEN: 't' },
        out: () => {},
        err: (t) => (err += t),
      });
      return { status, err };
    };
    const cases: [string[], RegExp][] = [
      [['--authzen-pdp', 'http://pdp.example.com', '--', 'node', 'server.js'], /https URL/],
      [['--authzen-pdp', 'nope', '--', 'node', 'server.js'], /https URL/],
      [
        [
          '--authzen-pdp',
          'https://pdp.example.com',
          '--listen',
          '8931',
          '--upstream',
          'http://127.0.0.1:1/mcp',
        ],
        /stdio mode only/,
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await run(flags);
      expect(r.status, flags.join(' ')).toBe(EXIT.usage);
      expect(r.err, flags.join(' ')).toMatch(message);
    }
  });
});
