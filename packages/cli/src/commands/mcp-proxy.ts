import { isProvenantError } from '@provenant/core';
import { loadConfig, runStdioProxy, startHttpProxy } from '@provenant/mcp';
import type { ProxyConfig } from '@provenant/mcp';
import { parseFlags, serverUrl } from '../lib/args.js';
import { CliError, EXIT, usageError } from '../lib/errors.js';
import type { CommandContext } from '../main.js';

export const mcpProxyHelp = `provenant mcp-proxy --identity FILE --collector URL [options] -- COMMAND [ARGS...]
provenant mcp-proxy --listen HOST:PORT --upstream URL --identity FILE --collector URL [options]

Puts Provenant in front of an MCP server, with no change to the client or the server: every
tools/call, resources/read and prompts/get is attributed (initiator, this proxy's agent
identity, chain), decided by the collector's policy decision point, then forwarded or refused
with a JSON-RPC error naming the decision id; intent, decision and outcome are recorded in one
trace. Everything else passes through unchanged.

stdio mode: the MCP client launches this command as if it were the server; the proxy launches
COMMAND (the real server) and relays. stdout carries only the protocol; logs go to stderr.

Streamable HTTP mode (--listen): the proxy serves MCP at http://HOST:PORT/mcp in front of the
--upstream Streamable HTTP server. Each request's Authorization: Bearer credential (a Provenant
credential) names its initiator; without a valid one the answer is 401 with WWW-Authenticate
resource_metadata, and the metadata is served at /.well-known/oauth-protected-resource.

  --identity FILE         this proxy's agent instance identity file ({ principal, jwk })
  --collector URL         the collector (default: $PROVENANT_URL, else http://127.0.0.1:7410)
  --initiator-token T     stdio: the credential of whom the calls are for
                          (default: $PROVENANT_INITIATOR_TOKEN)
  --listen HOST:PORT      HTTP: where to serve MCP (port 0: any free port)
  --upstream URL          HTTP: the upstream server's Streamable HTTP endpoint
  --config FILE           JSON mapping tool names to action, resource, class and risk
  --filter-tools          answer tools/list with only the tools policy allows
  --spool DIR             durable spool for collector outages (default: memory only)`;

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
    spool: { type: 'string' },
    listen: { type: 'string' },
    upstream: { type: 'string' },
  });
  if (positionals.length > 0) {
    throw usageError(`unexpected argument "${positionals[0]}"; put the server command after --.`);
  }
  if (!values.identity) throw usageError('--identity FILE is required.');
  const collectorUrl = serverUrl(values.collector, ctx.env);
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
    ...(values.spool !== undefined ? { spoolDir: values.spool } : {}),
    log: (line: string) => ctx.err(`provenant ${line}\n`),
  };
  if (values.listen !== undefined || values.upstream !== undefined) {
    if (server.length > 0) throw usageError('HTTP mode takes --upstream, not a command.');
    return http(values.listen, values.upstream, common, ctx);
  }
  const [command, ...commandArgs] = server;
  if (command === undefined) throw usageError('give the MCP server command after --.');
  const token = values['initiator-token'] ?? ctx.env['PROVENANT_INITIATOR_TOKEN'];
  if (!token) {
    throw usageError('--initiator-token (or PROVENANT_INITIATOR_TOKEN) is required.');
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
  });
  ctx.out(`provenant mcp-proxy: listening on ${running.url} (upstream ${upstream})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return EXIT.ok;
}
