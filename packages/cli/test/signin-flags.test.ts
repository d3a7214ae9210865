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

describe('serve --oidc-* flags', () => {
  it('refuses incoherent sign-in flags before starting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provenant-oidc-flags-'));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const base = ['--oidc-issuer', 'https://idp.example', '--oidc-client-id', 'c'];
    const mapped = [...base, '--oidc-role', 'x=analyst'];
    const cases: [string[], RegExp][] = [
      [['--oidc-client-id', 'c'], /--oidc-client-id needs --oidc-issuer/],
      [['--oidc-issuer', 'https://idp.example'], /needs --oidc-jwks .* or --oidc-client-id/],
      [['--oidc-jwks', 'keys.json'], /--oidc-jwks needs --oidc-issuer/],
      [['--oidc-role', 'analysts=analyst'], /--oidc-role needs --oidc-client-id/],
      [base, /at least one role mapping/],
      [[...base, '--oidc-role', 'x=root'], /VALUE=ROLE/],
      [[...mapped.slice(2), '--oidc-issuer', 'http://idp.example'], /https/],
      [[...mapped, '--oidc-client-secret-file', empty], /is empty/],
      [[...mapped, '--oidc-user-claim', 'nickname'], /user claim/],
    ];
    for (const [flags, message] of cases) {
      const r = await serve(['--data', join(dir, 'data'), ...flags]);
      expect(r.status, flags.join(' ')).toBe(EXIT.usage);
      expect(r.err, flags.join(' ')).toMatch(message);
    }
  });
});
