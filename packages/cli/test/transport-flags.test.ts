import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { parseLimitFlags } from '../src/commands/serve.js';

async function serve(flags: string[]): Promise<{ status: number; err: string }> {
  let err = '';
  const status = await main(['serve', '--data', '/nonexistent/never-opened', ...flags], {
    env: {},
    out: () => {},
    err: (t) => (err += t),
  });
  return { status, err };
}

describe('serve --limit, --tls-*, --allowed-hosts', () => {
  it('maps kebab-case limit names onto the collector limits', () => {
    expect(
      parseLimitFlags([
        'max-bodies-in-flight=4',
        'max-body-bytes-in-flight=1048576',
        'headers-timeout-ms=2000',
        'max-bodies-per-client=0',
      ]),
    ).toEqual({
      maxBodiesInFlight: 4,
      maxBodyBytesInFlight: 1048576,
      headersTimeoutMs: 2000,
      maxBodiesPerClient: 0,
    });
  });

  it('refuses an unknown limit, a bad value and a lone TLS flag before starting anything', async () => {
    const cases: [string[], RegExp][] = [
      [['--limit', 'max-everything=1'], /unknown limit "max-everything"/],
      [['--limit', 'max-bodies-in-flight=0'], /must be an integer from 1/],
      [['--limit', 'max-bodies-in-flight'], /must be an integer/],
      [['--tls-cert', 'cert.pem'], /--tls-cert and --tls-key go together/],
      [['--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.key'], /cannot read/],
      [['--allowed-hosts', 'http://x/'], /--allowed-hosts: Not a host name/],
      [['--allowed-origins', 'console.example'], /--allowed-origins: Not an origin/],
      [['--anonymous-ingest', 'on'], /--anonymous-ingest must be off or asserted/],
      [['--dev-login-roles', 'analyst'], /--dev-login-roles needs --dev-login/],
      [['--dev-login', '--dev-login-roles', 'analyst,root'], /"root" is not one of/],
      [['--decision-validity', '0'], /decision-validity/],
      [['--decision-validity', 'soon'], /decision-validity/],
    ];
    for (const [flags, message] of cases) {
      const { status, err } = await serve(flags);
      expect(status, flags.join(' ')).toBe(2);
      expect(err).toMatch(message);
    }
  });
});
