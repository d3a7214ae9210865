import {
  checkSignInConfig,
  DEFAULT_LIMITS,
  oidcIssuer,
  ROLES,
  parseRoleMappings,
  startCollector,
} from '@provenant/server';
import type { CollectorConfig, CollectorLimits, Role, UserClaim } from '@provenant/server';
import type { TrustedAlg, TrustedIssuer } from '@provenant/identity';
import { parseCosignerVerifierKey } from '@provenant/ledger';
import { intFlag, parseFlags } from '../lib/args.js';
import { usageError } from '../lib/errors.js';
import { readFileSync } from 'node:fs';
import { isRole, parseAllowedHost, parseAllowedOrigin } from '@provenant/core/vocabulary';
import { AuthzenEngine, parseAuditRules } from '@provenant/policy';
import {
  checkPathPattern,
  jwksSource,
  type SpiffeTrustDomain,
  type TrustedTxnTokenService,
} from '@provenant/identity';
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

/** Parses `--witness URL=KEY` (the first "=" separates them; URLs here carry no query). */
function parseWitnessFlag(spec: string): { url: string; verifierKey: string } {
  const eq = spec.indexOf('=');
  const url = eq < 0 ? '' : spec.slice(0, eq);
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw usageError(`--witness must be URL=KEY with an http(s) URL; got "${spec}".`);
  }
  try {
    parseCosignerVerifierKey(spec.slice(eq + 1).trim());
  } catch (e) {
    throw usageError(`--witness ${url}: ${(e as Error).message}`);
  }
  return { url, verifierKey: spec.slice(eq + 1).trim() };
}

/**
 * A trusted key set flag, `NAME=FILE|URL` (`--spiffe-bundle TD=…`, `--txn-token-service ISS=…`,
 * `--id-jag-issuer ISS=…`, `--chain-trust ISS=…`): the first "=" separates the name (a trust
 * domain or an issuer) from where its JWK Set is read (`jwksSource`: a file or an http(s) URL).
 */
export function parseKeySetFlag(spec: string, flag: string): { name: string; location: string } {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? '' : spec.slice(0, eq).trim();
  const location = eq < 0 ? '' : spec.slice(eq + 1).trim();
  if (name === '' || location === '') {
    throw usageError(`--${flag} must be NAME=FILE|URL; got ${JSON.stringify(spec)}.`);
  }
  return { name, location };
}

/**
 * `--spiffe-bundle TD=FILE|URL` (the JWT-SVID keys of a trust domain's SPIFFE bundle, JWKS form)
 * and `--spiffe-path TD=PATTERN` (SVIDs of TD whose path matches are accepted unregistered).
 */
export function spiffeFlags(
  bundles: readonly string[],
  paths: readonly string[],
): SpiffeTrustDomain[] {
  const patterns = new Map<string, string[]>();
  for (const spec of paths) {
    const { name, location: pattern } = parseKeySetFlag(spec, 'spiffe-path');
    try {
      checkPathPattern(pattern);
    } catch (e) {
      throw usageError(`--spiffe-path: ${(e as Error).message}`);
    }
    patterns.set(name, [...(patterns.get(name) ?? []), pattern]);
  }
  const domains: SpiffeTrustDomain[] = [];
  for (const spec of bundles) {
    const { name, location } = parseKeySetFlag(spec, 'spiffe-bundle');
    if (!/^[a-z0-9._-]+$/.test(name)) {
      throw usageError(`--spiffe-bundle: ${JSON.stringify(name)} is not a trust domain name.`);
    }
    if (domains.some((d) => d.trustDomain === name)) {
      throw usageError(`--spiffe-bundle: the trust domain ${name} is given twice.`);
    }
    let bundle;
    try {
      bundle = jwksSource(location, { use: 'jwt-svid' });
    } catch (e) {
      throw usageError(`--spiffe-bundle ${name}: ${(e as Error).message}`);
    }
    domains.push({ trustDomain: name, bundle, pathPatterns: patterns.get(name) ?? [] });
    patterns.delete(name);
  }
  const orphan = [...patterns.keys()][0];
  if (orphan !== undefined) {
    throw usageError(`--spiffe-path ${orphan}=…: no --spiffe-bundle for that trust domain.`);
  }
  return domains;
}

/**
 * `--txn-trust-domain TD` (this collector is TD's Txn-Token Service and accepts TD's Txn-Tokens)
 * and `--txn-token-service ISS=FILE|URL` (another TTS of TD whose Txn-Tokens it accepts).
 */
export function txnTokenFlags(
  trustDomain: string | undefined,
  services: readonly string[],
): { trustDomain: string; services: TrustedTxnTokenService[] } | undefined {
  if (trustDomain === undefined) {
    if (services.length > 0) {
      throw usageError('--txn-token-service needs --txn-trust-domain (the audience to check).');
    }
    return undefined;
  }
  if (trustDomain.trim() === '' || trustDomain.length > 255) {
    throw usageError('--txn-trust-domain must name the trust domain (1-255 characters).');
  }
  return {
    trustDomain,
    services: services.map((spec) => {
      const { name, location } = parseKeySetFlag(spec, 'txn-token-service');
      try {
        const source = jwksSource(location);
        return { iss: name, keys: source.getKey, has: source.has };
      } catch (e) {
        throw usageError(`--txn-token-service ${name}: ${(e as Error).message}`);
      }
    }),
  };
}

/** The start banner's name for the collector's own issuer. */
const collectorIssuerName = (issuerUrl: string | undefined) => issuerUrl ?? 'this collector';

/** `--limit NAME=N`: NAME is a collector limit in kebab case (`max-bodies-in-flight`). */
const LIMIT_NAMES = new Map(
  (Object.keys(DEFAULT_LIMITS) as (keyof CollectorLimits)[]).map((k) => [
    k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
    k,
  ]),
);

export function parseLimitFlags(specs: readonly string[]): Partial<CollectorLimits> {
  const limits: Partial<Record<keyof CollectorLimits, number>> = {};
  for (const spec of specs) {
    const [name, value] = spec.split('=', 2);
    const key = LIMIT_NAMES.get(name ?? '');
    if (key === undefined) {
      throw usageError(
        `--limit: unknown limit "${name}"; one of ${[...LIMIT_NAMES.keys()].join(', ')}.`,
      );
    }
    // 0 is allowed only where it means "no cap".
    limits[key] = intFlag(
      value ?? '',
      `limit ${name}`,
      key === 'maxBodiesPerClient' ? 0 : 1,
      2 ** 40,
    )!;
  }
  return limits;
}

/** A list flag: repeated, comma-separated, or both. */
const listFlag = (values: readonly string[] | undefined): string[] =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

/** The entries as given, once each parses (a usage error naming the flag otherwise). */
function checked(entries: string[], parse: (entry: string) => unknown, flag: string): string[] {
  for (const entry of entries) {
    try {
      parse(entry);
    } catch (e) {
      throw usageError(`--${flag}: ${(e as Error).message}`);
    }
  }
  return entries;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw usageError(`--${flag}: cannot read ${file}.`);
  }
}

/**
 * A `--resource`: an RFC 8707 resource indicator, an absolute http(s) URL without a fragment,
 * kept exactly as written (clients send the protected-resource metadata's `resource` verbatim).
 */
export function parseResourceFlag(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(`--resource: ${JSON.stringify(value)} is not a URL.`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || value.includes('#')) {
    throw usageError(`--resource: ${value} must be an http(s) URL without a fragment (RFC 8707).`);
  }
  return value;
}

/**
 * An issuer identifier (RFC 8414 §2): an http(s) URL with no query or fragment, kept exactly as
 * written (it is compared with `iss` and `aud` as a string).
 */
function issuerUrlFlag(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(`--${flag}: ${JSON.stringify(value)} is not a URL.`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || /[?#]/.test(value)) {
    throw usageError(`--${flag}: ${value} must be an http(s) URL with no query or fragment.`);
  }
  return value;
}

/** What an ID-JAG issuer or a trusted domain may sign its grants with. */
const GRANT_ALGS: TrustedAlg[] = ['EdDSA', 'ES256', 'RS256'];

/**
 * `--id-jag-issuer ISS=FILE|URL`, `--chain-trust ISS=FILE|URL`: a trusted issuer (an issuer
 * identifier) and the key set its grants verify with, under the one JWKS source rule.
 */
export function trustedKeysFlag(spec: string, flag: string): TrustedIssuer {
  const { name, location } = parseKeySetFlag(spec, flag);
  const iss = issuerUrlFlag(name, flag);
  try {
    return { iss, jwks: jwksSource(location).getKey, algorithms: GRANT_ALGS };
  } catch (e) {
    throw usageError(`--${flag} ${iss}: ${(e as Error).message}`);
  }
}

export async function serve(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(args, {
    data: { type: 'string' },
    postgres: { type: 'string' },
    pg: { type: 'string' },
    cluster: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    origin: { type: 'string' },
    'log-level': { type: 'string' },
    'issuer-url': { type: 'string' },
    'dev-login': { type: 'boolean' },
    'anonymous-ingest': { type: 'string' },
    'dev-login-roles': { type: 'string' },
    'oidc-issuer': { type: 'string' },
    'oidc-jwks': { type: 'string' },
    'oidc-audience': { type: 'string' },
    'oidc-client-id': { type: 'string' },
    'oidc-client-secret-file': { type: 'string' },
    'oidc-roles-claim': { type: 'string' },
    'oidc-role': { type: 'string', multiple: true },
    'oidc-user-claim': { type: 'string' },
    'oidc-scope': { type: 'string' },
    resource: { type: 'string', multiple: true },
    'id-jag-issuer': { type: 'string', multiple: true },
    'chain-trust': { type: 'string', multiple: true },
    'chain-audience': { type: 'string', multiple: true },
    'client-metadata-allow-private': { type: 'boolean' },
    policies: { type: 'string' },
    'audit-rules': { type: 'string' },
    'fail-open-low-risk': { type: 'boolean' },
    'authzen-pdp': { type: 'string' },
    'authzen-pdp-token-file': { type: 'string' },
    'decision-validity': { type: 'string' },
    witness: { type: 'string', multiple: true },
    'witness-policy': { type: 'string' },
    'allowed-hosts': { type: 'string', multiple: true },
    'allowed-origins': { type: 'string', multiple: true },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    limit: { type: 'string', multiple: true },
    'spiffe-bundle': { type: 'string', multiple: true },
    'spiffe-path': { type: 'string', multiple: true },
    'txn-trust-domain': { type: 'string' },
    'txn-token-service': { type: 'string', multiple: true },
  });
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw usageError('--tls-cert and --tls-key go together.');
  }
  const tls = values['tls-cert']
    ? { cert: readPem(values['tls-cert'], 'tls-cert'), key: readPem(values['tls-key']!, 'tls-key') }
    : undefined;
  const limits = parseLimitFlags(values.limit ?? []);
  const witnesses = (values.witness ?? []).map(parseWitnessFlag);
  const witnessPolicy = intFlag(
    values['witness-policy'],
    'witness-policy',
    1,
    Math.max(1, witnesses.length),
  );
  if (witnessPolicy !== undefined && witnesses.length === 0) {
    throw usageError('--witness-policy needs --witness.');
  }
  const signIn = signInFlags(values);
  if (values['oidc-issuer'] !== undefined && values['oidc-jwks'] === undefined && !signIn) {
    throw usageError(
      '--oidc-issuer needs --oidc-jwks (token exchange) or --oidc-client-id (sign-in).',
    );
  }
  if (values['oidc-jwks'] !== undefined && values['oidc-issuer'] === undefined) {
    throw usageError('--oidc-jwks needs --oidc-issuer.');
  }
  // With sign-in and no --oidc-jwks, the provider's discovered JWKS checks exchanged ID tokens.
  const trusted =
    values['oidc-issuer'] && values['oidc-jwks']
      ? [
          oidcIssuer(
            values['oidc-issuer'],
            values['oidc-jwks'],
            values['oidc-audience'] ?? values['oidc-client-id'],
          ),
        ]
      : [];
  const dataDir = values.data ?? ctx.env['PROVENANT_DATA'] ?? 'provenant-data';
  const postgres = values.postgres ?? values.pg ?? (ctx.env['PROVENANT_PG_URL'] || undefined);
  const cluster = values.cluster ?? ['1', 'true'].includes(ctx.env['PROVENANT_CLUSTER'] ?? '');
  if (cluster && postgres === undefined) {
    throw usageError('--cluster needs --postgres: several collectors share one PostgreSQL ledger.');
  }
  const decisionValiditySec = intFlag(values['decision-validity'], 'decision-validity', 1, 86_400);
  const port = intFlag(values.port ?? ctx.env['PROVENANT_PORT'], 'port', 0, 65535) ?? 7410;
  const host = values.host ?? ctx.env['PROVENANT_HOST'] ?? '127.0.0.1';
  const level = values['log-level'] ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug'].includes(level)) {
    throw usageError('--log-level must be fatal, error, warn, info or debug.');
  }
  const devLogin = values['dev-login'] ?? false;
  // Off outside development: a record without a credential is refused unless asked for.
  const anonymousIngest = values['anonymous-ingest'] ?? (devLogin ? 'asserted' : 'off');
  if (anonymousIngest !== 'off' && anonymousIngest !== 'asserted') {
    throw usageError('--anonymous-ingest must be off or asserted.');
  }
  if (values['dev-login-roles'] !== undefined && !devLogin) {
    throw usageError('--dev-login-roles needs --dev-login.');
  }
  const devLoginRoles = (values['dev-login-roles'] ?? 'analyst,auditor')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  const unknownRole = devLoginRoles.find((r) => !isRole(r));
  if (unknownRole !== undefined) {
    throw usageError(`--dev-login-roles: "${unknownRole}" is not one of ${ROLES.join(', ')}.`);
  }
  const resources = (values.resource ?? []).map(parseResourceFlag);
  const spiffe = spiffeFlags(values['spiffe-bundle'] ?? [], values['spiffe-path'] ?? []);
  const policyEngine = authzenEngineFlags(values);
  if (policyEngine && values.policies !== undefined) {
    throw usageError(
      '--authzen-pdp and --policies exclude each other: the PDP decides by its own policies.',
    );
  }
  const idJagIssuers = (values['id-jag-issuer'] ?? []).map((v) =>
    trustedKeysFlag(v, 'id-jag-issuer'),
  );
  const chainTrust = (values['chain-trust'] ?? []).map((v) => trustedKeysFlag(v, 'chain-trust'));
  const chainAudiences = (values['chain-audience'] ?? []).map((v) =>
    issuerUrlFlag(v, 'chain-audience'),
  );
  const trustedTwice = [...idJagIssuers, ...chainTrust]
    .map((t) => t.iss)
    .find((iss, i, all) => all.indexOf(iss) !== i);
  if (trustedTwice !== undefined) {
    throw usageError(
      `${trustedTwice} is given twice (--id-jag-issuer and --chain-trust): an issuer is trusted for one kind of grant.`,
    );
  }
  const txnTokens = txnTokenFlags(values['txn-trust-domain'], values['txn-token-service'] ?? []);
  const collector = await startCollector({
    dataDir,
    host,
    port,
    ...(values.origin === undefined ? {} : { origin: values.origin }),
    logger: { level },
    ...(values['issuer-url'] === undefined ? {} : { issuerUrl: values['issuer-url'] }),
    identity: {
      devLogin,
      trustedIdTokenIssuers: trusted,
      ...(resources.length === 0 ? {} : { resources }),
      ...(spiffe.length === 0 ? {} : { spiffe }),
      ...(idJagIssuers.length === 0 ? {} : { idJagIssuers }),
      ...(chainTrust.length === 0 ? {} : { chainTrust }),
      ...(chainAudiences.length === 0 ? {} : { chainAudiences }),
      ...(txnTokens === undefined ? {} : { txnTokens }),
    },
    ...(devLogin ? { devSignIn: { roles: devLoginRoles as Role[] } } : {}),
    ...(values.policies === undefined ? {} : { policiesDir: values.policies }),
    ...(policyEngine ? { policyEngine } : {}),
    ...(values['audit-rules'] === undefined
      ? {}
      : { auditRules: readAuditRules(values['audit-rules']) }),
    failOpenLowRisk: values['fail-open-low-risk'] ?? false,
    anonymousIngest,
    ...(decisionValiditySec === undefined
      ? {}
      : { decisionValidityMs: decisionValiditySec * 1000 }),
    ...(postgres === undefined ? {} : { postgres }),
    ...(cluster ? { cluster: true } : {}),
    ...(witnesses.length === 0 ? {} : { witnesses }),
    ...(witnessPolicy === undefined ? {} : { witnessPolicy }),
    ...(signIn ? { signIn: { config: signIn } } : {}),
    ...(values['client-metadata-allow-private']
      ? { clientMetadata: { allowPrivateAddresses: true } }
      : {}),
    allowedHosts: checked(listFlag(values['allowed-hosts']), parseAllowedHost, 'allowed-hosts'),
    allowedOrigins: checked(
      listFlag(values['allowed-origins']),
      parseAllowedOrigin,
      'allowed-origins',
    ),
    ...(tls ? { tls } : {}),
    limits,
  });
  ctx.out(
    `Provenant collector listening on ${collector.url}\n` +
      `  ledger: ${postgres === undefined ? `${dataDir} (SQLite)` : `${redactUrl(postgres)} (PostgreSQL)`}, ${collector.log.size} entries${cluster ? ', cluster member' : ''}\n` +
      `  log origin: ${collector.log.origin}\n` +
      `  verifier key: ${collector.log.verifierKey}\n` +
      `  issuer: ${collector.identity.config.issuer} (admin token in ${dataDir}/admin.token)\n` +
      (policyEngine
        ? `  policies: decided by the AuthZEN PDP ${policyEngine.pdp}\n`
        : policiesLine(values.policies, collector.policy.point.current())) +
      (witnesses.length === 0
        ? ''
        : `  witnesses: ${witnesses.length}, policy ${witnessPolicy ?? witnesses.length} of ${witnesses.length}\n`) +
      (spiffe.length === 0
        ? ''
        : `  SPIFFE trust domains: ${spiffe.map((d) => `${d.trustDomain} (${d.bundle.location}${d.pathPatterns?.length ? `, paths ${d.pathPatterns.join(' ')}` : ', registered ids only'})`).join('; ')}\n`) +
      (txnTokens === undefined
        ? ''
        : `  Txn-Tokens: trust domain ${txnTokens.trustDomain}, issued here and accepted from ${[collectorIssuerName(values['issuer-url']), ...txnTokens.services.map((s) => s.iss)].join(', ')}\n`) +
      (signIn
        ? `  sign-in: ${signIn.issuer} (client ${signIn.clientId}); callback ${collector.signIn?.callbackUrl ?? ''}\n`
        : '') +
      (idJagIssuers.length === 0
        ? ''
        : `  ID-JAG issuers: ${idJagIssuers.map((t) => t.iss).join(', ')}\n`) +
      (chainTrust.length === 0
        ? ''
        : `  chain trust (domain B for): ${chainTrust.map((t) => t.iss).join(', ')}\n`) +
      (chainAudiences.length === 0
        ? ''
        : `  chain grants (domain A) for: ${chainAudiences.join(', ')}\n`) +
      (collector.log.extensionRefused === null
        ? ''
        : `  WARNING: log_behind_witness, appends refused: ${collector.log.extensionRefused}\n`) +
      (devLogin
        ? `  WARNING: development sign-in is enabled (provenant dev-login USER; the console hands out ${devLoginRoles.join(', ') || 'no role'}); never in production\n`
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

/**
 * The sign-in configuration from the `--oidc-*` flags, or undefined without `--oidc-client-id`.
 * The secret is read from a file, never from the command line (where `ps` would show it).
 */
function signInFlags(values: {
  'oidc-issuer'?: string | undefined;
  'oidc-client-id'?: string | undefined;
  'oidc-client-secret-file'?: string | undefined;
  'oidc-roles-claim'?: string | undefined;
  'oidc-role'?: string[] | undefined;
  'oidc-user-claim'?: string | undefined;
  'oidc-scope'?: string | undefined;
}): NonNullable<CollectorConfig['signIn']>['config'] | undefined {
  const clientId = values['oidc-client-id'];
  if (clientId === undefined) {
    for (const flag of [
      'oidc-client-secret-file',
      'oidc-roles-claim',
      'oidc-role',
      'oidc-user-claim',
      'oidc-scope',
    ] as const) {
      if (values[flag] !== undefined) throw usageError(`--${flag} needs --oidc-client-id.`);
    }
    return undefined;
  }
  const issuer = values['oidc-issuer'];
  if (issuer === undefined) throw usageError('--oidc-client-id needs --oidc-issuer.');
  let clientSecret: string | undefined;
  const secretFile = values['oidc-client-secret-file'];
  if (secretFile !== undefined) {
    try {
      clientSecret = readFileSync(secretFile, 'utf8').trim();
    } catch {
      throw usageError(`Cannot read the OIDC client secret file ${secretFile}.`);
    }
    if (clientSecret === '')
      throw usageError(`The OIDC client secret file ${secretFile} is empty.`);
  }
  try {
    return checkSignInConfig({
      issuer,
      clientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      rolesClaim: values['oidc-roles-claim'] ?? 'groups',
      roleMap: parseRoleMappings(values['oidc-role'] ?? []),
      userClaim: (values['oidc-user-claim'] ?? 'sub') as UserClaim,
      scopes: (values['oidc-scope'] ?? 'openid email profile').split(/\s+/).filter(Boolean),
    });
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

/**
 * `--authzen-pdp URL [--authzen-pdp-token-file FILE]`: an external AuthZEN PDP decides instead
 * of the local Cedar engine; the token (read from a file, never the command line, where `ps`
 * would show it) is the bearer presented to it.
 */
function authzenEngineFlags(values: {
  'authzen-pdp'?: string | undefined;
  'authzen-pdp-token-file'?: string | undefined;
}): AuthzenEngine | undefined {
  const pdp = values['authzen-pdp'];
  const tokenFile = values['authzen-pdp-token-file'];
  if (pdp === undefined) {
    if (tokenFile !== undefined) throw usageError('--authzen-pdp-token-file needs --authzen-pdp.');
    return undefined;
  }
  let token: string | undefined;
  if (tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch {
      throw usageError(`--authzen-pdp-token-file: cannot read ${tokenFile}.`);
    }
    if (token === '') throw usageError(`--authzen-pdp-token-file: ${tokenFile} is empty.`);
  }
  try {
    return new AuthzenEngine({ pdp, ...(token === undefined ? {} : { token }) });
  } catch (e) {
    throw usageError(`--authzen-pdp: ${(e as Error).message}`);
  }
}

/** The URL without its password, for the start banner. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}

/**
 * What the decision point will answer by: the folder and the set it loaded, or that nothing is
 * loaded and every decision is deny (`no_policy_set`).
 */
export function policiesLine(
  dir: string | undefined,
  set: { digest: string; policyIds: readonly string[] } | null,
): string {
  if (dir === undefined || set === null) {
    return '  policies: none loaded: every decision is deny (no_policy_set); --policies DIR loads a folder\n';
  }
  return `  policies: ${dir} (${set.policyIds.length} ${set.policyIds.length === 1 ? 'policy' : 'policies'}, policy set ${set.digest}), reloaded on change\n`;
}
