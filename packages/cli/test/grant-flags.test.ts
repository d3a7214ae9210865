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

describe('serve --id-jag-issuer, --chain-trust, --chain-audience', () => {
  it('refuses a malformed trust flag before starting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provenant-grant-flags-'));
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [] }));
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, 'not json');
    const idp = 'https://idp.example';
    const cases: [string[], RegExp][] = [
      [['--id-jag-issuer', idp], /--id-jag-issuer must be NAME=FILE\|URL/],
      [['--id-jag-issuer', `=${jwks}`], /NAME=FILE\|URL/],
      [['--chain-trust', `not-a-url=${jwks}`], /--chain-trust: "not-a-url" is not a URL/],
      [['--chain-trust', `${idp}/?tenant=1=${jwks}`], /no query or fragment/],
      [
        ['--id-jag-issuer', `${idp}=${join(dir, 'missing.json')}`],
        /--id-jag-issuer https:\/\/idp\.example/,
      ],
      [['--id-jag-issuer', `${idp}=${notJson}`], /--id-jag-issuer https:\/\/idp\.example/],
      [['--chain-audience', 'ftp://b.example'], /--chain-audience: .* http\(s\) URL/],
      [['--chain-audience', 'https://b.example#x'], /no query or fragment/],
      [['--id-jag-issuer', `${idp}=${jwks}`, '--chain-trust', `${idp}=${jwks}`], /given twice/],
    ];
    for (const [flags, message] of cases) {
      const r = await serve(['--data', join(dir, 'data'), ...flags]);
      expect(r.status, flags.join(' ')).toBe(EXIT.usage);
      expect(r.err, flags.join(' ')).toMatch(message);
    }
  });
});
