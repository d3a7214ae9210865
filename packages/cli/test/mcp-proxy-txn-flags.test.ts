import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../src/index.js';

async function mcpProxy(flags: string[]): Promise<{ status: number; err: string }> {
  let err = '';
  const status = await main(['mcp-proxy', ...flags], {
    env: {},
    out: () => {},
    err: (t) => (err += t),
  });
  return { status, err };
}

describe('mcp-proxy --txn-trust-domain flags', () => {
  it('refuses Txn-Token flags in stdio mode, a service without a trust domain, and an unreachable collector', async () => {
    const common = ['--identity', 'id.json', '--collector', 'http://127.0.0.1:9'];
    const stdio = await mcpProxy([...common, '--txn-trust-domain', 'acme.test', '--', 'true']);
    expect([stdio.status, stdio.err]).toEqual([EXIT.usage, expect.stringMatching(/HTTP mode/)]);
    const http = ['--listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9/mcp'];
    const orphan = await mcpProxy([
      ...common,
      ...http,
      '--txn-token-service',
      'https://t=keys.json',
    ]);
    expect([orphan.status, orphan.err]).toEqual([
      EXIT.usage,
      expect.stringMatching(/--txn-token-service needs --txn-trust-domain/),
    ]);
    // The collector's own keys are read from its metadata at start: none there, no start.
    const down = await mcpProxy([...common, ...http, '--txn-trust-domain', 'acme.test']);
    expect([down.status, down.err]).toEqual([
      EXIT.unavailable,
      expect.stringMatching(/metadata .* could not be read/),
    ]);
  });
});
