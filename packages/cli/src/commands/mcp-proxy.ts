import { isProvenantError } from '@provenant/core';
import { TxnTokenVerifier, jwksSource } from '@provenant/identity';
import type { TrustedTxnTokenService } from '@provenant/identity';
import { loadConfig, runStdioProxy, startHttpProxy } from '@provenant/mcp';
import type { ProxyConfig } from '@provenant/mcp';
import { parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import type { CommandContext } from '../main.js';
import { txnTokenFlags } from './serve.js';

export async function mcpProxy(args: readonly string[], ctx: CommandContext): Promise<number> {
  const dash = args.indexOf('--');
  const own = dash === -1 ? args : args.slice(0, dash);
  const server = dash === -1 ? [] : args.slice(dash + 1);
  const { values, positionals } = parseFlags(own, {
    identity: { type: 'string' },
    collector: { type: 'string' },
    'initiator-token': { type: 'string' },
    config: { type: 'string' },
    'filter-tools': { type: 'boolean' },
    receipts: { type: 'boolean' },
    spool: { type: 'string' },
    listen: { type: 'string' },
    upstream: { type: 'string' },
    'allowed-hosts': { type: 'string', multiple: true },
    'allowed-origins': { type: 'string', multiple: true },
    'authzen-pdp': { type: 'string' },
    'txn-trust-domain': { type: 'string' },
    'txn-token-service': { type: 'string', multiple: true },
  });
  if (positionals.length > 0) {
    throw usageError(`unexpected argument "${positionals[0]}"; put the server command after --.`);
  }
  if (!values.identity) throw usageError('--identity FILE is required.');
  const collectorUrl = serverUrl(values.collector, ctx.env, 'collector');
  let config: ProxyConfig | undefined;
  try {
    config = values.config !== undefined ? loadConfig(values.config) : undefined;
  } catch (e) {
    throw isProvenantError(e) ? new CliError(e.code, e.message, EXIT.usage) : e;
  }
  const common = {
    collectorUrl,
    identity: values.identity,
    ...(config ? { config } : {}),
    ...(values['filter-tools'] ? { filterTools: true } : {}),
    ...(values.receipts ? { receipts: true } : {}),
    ...(values.spool !== undefined ? { spoolDir: values.spool } : {}),
    log: (line: string) => ctx.err(`provenant ${line}\n`),
  };
  if (values.listen !== undefined || values.upstream !== undefined) {
    if (server.length > 0) throw usageError('HTTP mode takes --upstream, not a command.');
    if (values['authzen-pdp'] !== undefined) {
      throw usageError('--authzen-pdp is for stdio mode only (HTTP mode: not yet).');
    }
    const txn = txnTokenFlags(values['txn-trust-domain'], values['txn-token-service'] ?? []);
    const list = (v: readonly string[] | undefined) =>
      (v ?? [])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter(Boolean);
    return http(
      values.listen,
      values.upstream,
      {
        ...common,
        allowedHosts: list(values['allowed-hosts']),
        allowedOrigins: list(values['allowed-origins']),
        ...(txn === undefined
          ? {}
          : {
              txnTokens: new TxnTokenVerifier({
                trustDomain: txn.trustDomain,
                services: [await collectorTxnService(collectorUrl), ...txn.services],
              }),
            }),
      },
      ctx,
    );
  }
  if (values['txn-trust-domain'] !== undefined || values['txn-token-service'] !== undefined) {
    throw usageError('--txn-trust-domain is for HTTP mode (a stdio client sends no headers).');
  }
  const [command, ...commandArgs] = server;
  if (command === undefined) throw usageError('give the MCP server command after --.');
  const token = values['initiator-token'] ?? ctx.env['PROVENANT_INITIATOR_TOKEN'];
  if (!token) {
    throw usageError('--initiator-token (or PROVENANT_INITIATOR_TOKEN) is required.');
  }
  const authzenPdp = values['authzen-pdp'];
  if (authzenPdp !== undefined) {
    try {
      const u = new URL(authzenPdp);
      const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw new Error();
    } catch {
      throw usageError('--authzen-pdp must be an https URL (http only on a loopback address).');
    }
  }
  // A client stopping the proxy with a signal still gets the server stopped and records flushed.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await runStdioProxy({
    ...common,
    command,
    args: commandArgs,
    initiatorToken: token,
    ...(authzenPdp === undefined ? {} : { authzenPdp }),
    signal: stop.signal,
  }).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  if (!result.drained) {
    ctx.err('provenant mcp-proxy: some records did not reach the collector before exit.\n');
  }
  return EXIT.ok;
}

async function http(
  listen: string | undefined,
  upstream: string | undefined,
  common: Omit<Parameters<typeof startHttpProxy>[0], 'upstream'>,
  ctx: CommandContext,
): Promise<number> {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(listen ?? '');
  if (!m || Number(m[2]) > 65535) throw usageError('--listen must be HOST:PORT or PORT.');
  if (!upstream) throw usageError('--upstream URL is required with --listen.');
  try {
    const u = new URL(upstream);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw usageError(`--upstream must be an http(s) URL; got "${upstream}".`);
  }
  const running = await startHttpProxy({
    ...common,
    host: (m[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'),
    port: Number(m[2]),
    upstream,
  }).catch((e: unknown) => {
    throw isProvenantError(e) && e.code === 'invalid_config'
      ? new CliError(e.code, e.message, EXIT.usage)
      : e;
  });
  ctx.out(`provenant mcp-proxy: listening on ${running.url} (upstream ${upstream})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return EXIT.ok;
}

/**
 * The collector as a Txn-Token Service of the trust domain: its `issuer` and signing keys
 * (`jwks_uri`) from its RFC 8414 metadata, read at start.
 */
async function collectorTxnService(collectorUrl: string): Promise<TrustedTxnTokenService> {
  const where = `${collectorUrl.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`;
  let meta: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const res = await fetch(where);
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    meta = (await res.json()) as typeof meta;
  } catch (e) {
    throw new CliError(
      'server_error',
      `--txn-trust-domain: the collector's metadata (${where}) could not be read: ${(e as Error).message}`,
      EXIT.unavailable,
    );
  }
  if (typeof meta.issuer !== 'string' || typeof meta.jwks_uri !== 'string') {
    throw new CliError(
      'server_error',
      `--txn-trust-domain: the collector's metadata (${where}) names no issuer and jwks_uri.`,
      EXIT.unavailable,
    );
  }
  const source = jwksSource(meta.jwks_uri);
  return { iss: meta.issuer, keys: source.getKey, has: source.has };
}
