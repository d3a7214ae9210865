import { oidcIssuer, startCollector } from '@provenant/server';
import { intFlag, parseFlags } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import { readFileSync } from 'node:fs';
import { parseAuditRules } from '@provenant/policy';
import type { AuditRules } from '@provenant/policy';

function readAuditRules(file: string): AuditRules {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw usageError(`Cannot read the audit rules ${file} as JSON.`);
  }
  try {
    return parseAuditRules(json);
  } catch (e) {
    throw usageError(`Audit rules ${file}: ${(e as Error).message}`);
  }
}
import type { CommandContext } from '../main.js';

export const serveHelp = `provenant serve [--data DIR] [--port N] [--host HOST] [--origin NAME] [--log-level LEVEL]

Starts the collector on the embedded SQLite ledger.
  --data DIR        ledger folder (env PROVENANT_DATA; default ./provenant-data)
  --port N          TCP port (env PROVENANT_PORT; default 7410; 0 picks a free one)
  --host HOST       address to bind (env PROVENANT_HOST; default 127.0.0.1)
  --origin NAME     checkpoint origin for a new log (default provenant.local/<random>)
  --log-level LEVEL fatal|error|warn|info|debug (default info)
  --issuer-url URL  iss of issued credentials (default http://HOST:PORT)
  --dev-login       enable the DEVELOPMENT sign-in (provenant dev-login USER); never in production
  --oidc-issuer ISS --oidc-jwks FILE|URL [--oidc-audience AUD]
                    trust ID tokens of this OIDC provider for human sign-in (token exchange)
  --policies DIR    Cedar policy folder (*.cedar + schema.cedarschema) for the decision point;
                    validated at start, reloaded on change (an invalid change keeps the old set)
  --audit-rules FILE  audit rules (JSON): which arguments are kept, redacted or digested
  --fail-open-low-risk  allow low-risk actions when the decision point fails (default: deny)`;

export async function serve(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    data: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    origin: { type: 'string' },
    'log-level': { type: 'string' },
    'issuer-url': { type: 'string' },
    'dev-login': { type: 'boolean' },
    'oidc-issuer': { type: 'string' },
    'oidc-jwks': { type: 'string' },
    'oidc-audience': { type: 'string' },
    policies: { type: 'string' },
    'audit-rules': { type: 'string' },
    'fail-open-low-risk': { type: 'boolean' },
  });
  if ((values['oidc-issuer'] === undefined) !== (values['oidc-jwks'] === undefined)) {
    throw usageError('--oidc-issuer and --oidc-jwks go together.');
  }
  const trusted = values['oidc-issuer']
    ? [oidcIssuer(values['oidc-issuer'], values['oidc-jwks']!, values['oidc-audience'])]
    : [];
  const dataDir = values.data ?? ctx.env['PROVENANT_DATA'] ?? 'provenant-data';
  const port = intFlag(values.port ?? ctx.env['PROVENANT_PORT'], 'port', 0, 65535) ?? 7410;
  const host = values.host ?? ctx.env['PROVENANT_HOST'] ?? '127.0.0.1';
  const level = values['log-level'] ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug'].includes(level)) {
    throw usageError('--log-level must be fatal, error, warn, info or debug.');
  }
  const collector = await startCollector({
    dataDir,
    host,
    port,
    ...(values.origin === undefined ? {} : { origin: values.origin }),
    logger: { level },
    ...(values['issuer-url'] === undefined ? {} : { issuerUrl: values['issuer-url'] }),
    identity: { devLogin: values['dev-login'] ?? false, trustedIdTokenIssuers: trusted },
    ...(values.policies === undefined ? {} : { policiesDir: values.policies }),
    ...(values['audit-rules'] === undefined
      ? {}
      : { auditRules: readAuditRules(values['audit-rules']) }),
    failOpenLowRisk: values['fail-open-low-risk'] ?? false,
  });
  ctx.out(
    `Provenant collector listening on ${collector.url}\n` +
      `  ledger: ${dataDir} (SQLite), ${collector.log.size} entries\n` +
      `  log origin: ${collector.log.origin}\n` +
      `  verifier key: ${collector.log.verifierKey}\n` +
      `  issuer: ${collector.identity.config.issuer} (admin token in ${dataDir}/admin.token)\n` +
      (values['dev-login']
        ? '  WARNING: development sign-in is enabled (provenant dev-login USER); never in production\n'
        : ''),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void collector.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
