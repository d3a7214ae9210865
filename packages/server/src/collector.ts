import { createServer } from 'node:net';
import { ProvenantError } from '@provenant/core';
import { listenerHosts, parseAllowedHost, parseAllowedOrigin } from '@provenant/core/vocabulary';
import type { HostRule } from '@provenant/core/vocabulary';
import { join } from 'node:path';
import { Log, loadOrCreateSignerKey } from '@provenant/ledger';
import { PostgresStorage } from '@provenant/ledger/postgres';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import type { LogStorage } from '@provenant/ledger';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import { postgresLeases } from './cluster/lease.js';
import { ClusterNode } from './cluster/node.js';
import type { ClusterOptions } from './cluster/node.js';
import { DEFAULT_LIMITS } from './context.js';
import type { AnonymousIngest, CollectorLimits } from './context.js';
import type { Role } from './access/roles.js';
import {
  ADMIN_TOKEN_FILE,
  AUDIT_HMAC_KEY_FILE,
  COSIGNED_CHECKPOINT_FILE,
  ISSUER_KEYS_FILE,
  LEDGER_FILE,
  SIGNIN_KEY_FILE,
} from './data-folder.js';
import { AuthorizationService } from './signin/authorization.js';
import { ClientMetadataResolver } from './signin/client-metadata.js';
import { loadOrCreateSignInKey } from './signin/login-state.js';
import type { SignInOptions, SignInService } from './signin/service.js';
import { loadOrCreateAdminToken } from './identity/admin.js';
import { AlertLimiter } from './identity/attributor.js';
import { SqliteRegistryStore } from './identity/registry-sqlite.js';
import { IdentityService, defaultIdentityConfig } from './identity/service.js';
import type { IdentityConfig } from './identity/service.js';
import { CedarEngine, DEFAULT_AUDIT_RULES } from '@provenant/policy';
import type { AuditRules, PolicyEngine } from '@provenant/policy';
import { SqlitePolicyStore } from './policy/store-sqlite.js';
import { PostgresPolicyStore } from './policy/store-postgres.js';
import { PostgresRegistryStore } from './identity/registry-postgres.js';
import { InvestigationWorker } from './investigate/worker-client.js';
import { fillCoverageFacts } from './investigate/coverage.js';
import { DEFAULT_DETECTION_CONFIG, Detector } from './investigate/detections.js';
import { PolicyService, loadOrCreateHmacKey } from './policy/service.js';
import { CosignClient } from './witness/cosign-client.js';
import { PublishedHistory } from './witness/history.js';
import type { WitnessEndpoint } from './witness/cosign-client.js';

export interface CollectorConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** Checkpoint origin for a new log; an existing log keeps its own. */
  readonly origin?: string;
  readonly limits?: Partial<CollectorLimits>;
  readonly logger?: FastifyServerOptions['logger'];
  /** `iss` of issued credentials; default http://<host>:<port>. */
  readonly issuerUrl?: string;
  /** Overrides of the identity settings (lifetimes, chain depth, dev sign-in, trusted issuers). */
  readonly identity?: Partial<Omit<IdentityConfig, 'issuer' | 'keysFile'>>;
  /**
   * Records sent without a credential: `off` refuses them (401), `asserted` keeps them attributed
   * at most `asserted`. Default `off`.
   */
  readonly anonymousIngest?: AnonymousIngest;
  /** The console's development sign-in and the roles it may hand out; none by default. */
  readonly devSignIn?: { readonly roles: readonly Role[] };
  /** Admin token for the principals routes; default: `<data>/admin.token`, created on first start. */
  readonly adminToken?: string;
  /** A policy folder for the decision point, reloaded on change. */
  readonly policiesDir?: string;
  /** The decision point's engine; default Cedar. Any `PolicyEngine` (an external PDP) fits. */
  readonly policyEngine?: PolicyEngine;
  /** Audit rules (JSON); default: privileged, irreversible, external actions keep an args digest only. */
  readonly auditRules?: AuditRules;
  /** Let low-risk actions through when the decision point fails (never privileged ones). */
  readonly failOpenLowRisk?: boolean;
  /** How long a decision backs records citing it, ms; default 5 minutes. */
  readonly decisionValidityMs?: number;
  /** Witnesses (C2SP tlog-witness) to cosign checkpoints; none by default. */
  readonly witnesses?: readonly WitnessEndpoint[];
  /** How many of `witnesses` must cosign a published checkpoint (k of n); default all. */
  readonly witnessPolicy?: number;
  /** How often new checkpoints are sent to the witnesses, ms; default 1000. */
  readonly witnessIntervalMs?: number;
  /**
   * A PostgreSQL URL: the ledger, the identity registry and the policy history live there
   * instead of `<data>/ledger.db` (keys and the admin token stay in `dataDir`).
   */
  readonly postgres?: string;
  /**
   * Several collectors on `postgres`: this one enqueues what it receives (acknowledging with
   * signed promises of inclusion) and contends for the sequencer lease (docs/OPERATIONS.md).
   */
  readonly cluster?: boolean | ClusterTuning;
  /**
   * Human sign-in (console and CLI) through an OpenID provider. Its ID tokens are also trusted
   * as token-exchange subject tokens (audience: the client id) unless `identity` already
   * trusts that issuer (`--oidc-jwks`).
   */
  readonly signIn?: Omit<SignInOptions, 'key' | 'baseUrl'>;
  /**
   * Client ID Metadata Documents: `allowPrivateAddresses` lets the collector fetch them from
   * loopback and private addresses (tests, a lab; never where strangers choose the URL).
   */
  readonly clientMetadata?: { readonly allowPrivateAddresses?: boolean };
  /**
   * Host names answered besides the listener's own (the loopback names, the bound address and
   * the issuer URL's host, on their port): `name` (any port) or `name:port`.
   */
  readonly allowedHosts?: readonly string[];
  /** Origins (`https://console.example`) that may call besides the collector's own. */
  readonly allowedOrigins?: readonly string[];
  /** Serve HTTPS (with HSTS): the PEM certificate chain and private key, as contents. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

/** Timings of a cluster node (defaults in ClusterNode). */
export type ClusterTuning = Pick<
  ClusterOptions,
  'leaseRetryMs' | 'sequenceIdleMs' | 'refreshMs'
> & {
  /** How often the lease holder checks its PostgreSQL session is alive, ms; default 500. */
  readonly leaseCheckMs?: number;
};

export interface RunningCollector {
  readonly app: FastifyInstance;
  readonly log: Log;
  readonly storage: LogStorage;
  readonly identity: IdentityService;
  readonly policy: PolicyService;
  /** The witness client, when witnesses are configured. */
  readonly cosigner?: CosignClient;
  /** The cluster node, with `cluster`: its role (sequencer or follower). */
  readonly cluster?: ClusterNode;
  /** Human sign-in, when an OpenID provider is configured. */
  readonly signIn?: SignInService;
  /** The address it listens on, e.g. http://127.0.0.1:7410. */
  readonly url: string;
  close(): Promise<void>;
}

/** Opens the ledger (embedded SQLite in `dataDir`, or `postgres`) and serves the collector API. */
export async function startCollector(config: CollectorConfig): Promise<RunningCollector> {
  if (config.cluster && config.postgres === undefined) {
    // Checked before anything is opened: a configuration mistake, not a storage failure.
    throw new ProvenantError(
      'config_invalid',
      'Several collectors share one PostgreSQL ledger: cluster needs postgres.',
    );
  }
  // Parsed before anything is opened: a name that is none is a configuration mistake.
  const extraHosts = (config.allowedHosts ?? []).map(parseAllowedHost);
  const extraOrigins = (config.allowedOrigins ?? []).map(parseAllowedOrigin);
  const signer = loadOrCreateSignerKey(config.dataDir, config.origin);
  // The issuer URL names the port, so a "pick any port" start reserves one first.
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const scheme = config.tls ? 'https' : 'http';
  const url = `${scheme}://${host}:${port}`;
  const hosts: HostRule = {
    hosts: [...listenerHosts(config.host, port, [config.issuerUrl ?? url]), ...extraHosts],
    origins: new Set(extraOrigins),
    scheme,
  };
  const ledgerFile = join(config.dataDir, LEDGER_FILE);
  // One deployment key (every member of a cluster holds the same file; see docs/OPERATIONS.md).
  const deploymentKey = loadOrCreateHmacKey(join(config.dataDir, AUDIT_HMAC_KEY_FILE));
  const pgStores = config.postgres === undefined ? null : await openPostgres(config.postgres);
  const storage = pgStores?.storage ?? new SqliteStorage(ledgerFile);
  let log: Log;
  let missingLeaf: number | null = null;
  let identity: IdentityService;
  let policy: PolicyService;
  const publicUrl = config.issuerUrl ?? url;
  // openid-client loads only for a collector that signs humans in.
  const signInKey = loadOrCreateSignInKey(join(config.dataDir, SIGNIN_KEY_FILE));
  const signIn =
    config.signIn === undefined
      ? undefined
      : new (await import('./signin/service.js')).SignInService({
          ...config.signIn,
          key: signInKey,
          baseUrl: publicUrl,
        });
  const authorization = new AuthorizationService({
    key: signInKey,
    issuer: publicUrl,
    resources: config.identity?.resources ?? [],
    clientMetadata: new ClientMetadataResolver(config.clientMetadata ?? {}),
    ...(config.signIn?.clock === undefined ? {} : { clock: config.signIn.clock }),
  });
  const trusted = [...(config.identity?.trustedIdTokenIssuers ?? [])];
  if (signIn && !trusted.some((t) => t.iss === signIn.config.issuer)) {
    trusted.push(signIn.trustedIssuer());
  }
  try {
    log = await Log.open({ storage, signer, ingest: config.cluster ? 'queue' : 'direct' });
    // Entries stored without coverage facts (a ledger migrated from schema 1, or the grants of
    // one from before only the issuer's own grants counted) get them once, here.
    await fillCoverageFacts(storage);
    // A row deleted from the middle leaves the tree and checkpoints intact (the open check
    // passes): one count over the entries finds it, so the collector does not start healthy.
    missingLeaf = await storage.firstMissingLeaf(log.size);
    identity = await IdentityService.create(
      pgStores?.registry ?? new SqliteRegistryStore(ledgerFile),
      {
        ...defaultIdentityConfig(publicUrl),
        ...config.identity,
        trustedIdTokenIssuers: trusted,
        keysFile: join(config.dataDir, ISSUER_KEYS_FILE),
      },
    );
    policy = await PolicyService.open(
      config.policyEngine ?? new CedarEngine(),
      pgStores?.policy ?? new SqlitePolicyStore(ledgerFile),
      {
        ...(config.policiesDir === undefined ? {} : { policiesDir: config.policiesDir }),
        auditRules: config.auditRules ?? DEFAULT_AUDIT_RULES,
        hmacKey: deploymentKey,
        failPolicy: { failOpenLowRisk: config.failOpenLowRisk ?? false },
        ...(config.decisionValidityMs === undefined
          ? {}
          : { decisionValidityMs: config.decisionValidityMs }),
      },
    );
  } catch (e) {
    await storage.close();
    await pgStores?.end();
    throw e;
  }
  const limits = { ...DEFAULT_LIMITS, ...config.limits };
  let cosigner: CosignClient | undefined;
  type WitnessEvent = [level: 'info' | 'warn' | 'error', message: string, fields: object];
  // Events before the app's logger exists are replayed once it does.
  const earlyWitnessEvents: WitnessEvent[] = [];
  let onWitnessEvent = (...event: WitnessEvent): void => void earlyWitnessEvents.push(event);
  // Never extend a history this log already published further: the cosigned checkpoint kept in
  // the data folder, and (below) what the witnesses cosigned, before anything is accepted.
  const history = new PublishedHistory(log);
  try {
    await history.loadCosignedFile(join(config.dataDir, COSIGNED_CHECKPOINT_FILE));
  } catch (e) {
    await storage.close();
    await identity.close();
    await policy.close();
    throw e;
  }
  if (config.witnesses && config.witnesses.length > 0) {
    try {
      cosigner = new CosignClient({
        log,
        history,
        witnesses: config.witnesses,
        ...(config.witnessPolicy === undefined ? {} : { policy: config.witnessPolicy }),
        ...(config.witnessIntervalMs === undefined ? {} : { intervalMs: config.witnessIntervalMs }),
        file: join(config.dataDir, COSIGNED_CHECKPOINT_FILE),
        onEvent: (level, message, fields) => onWitnessEvent(level, message, fields),
      });
      await cosigner.load();
      await cosigner.askWitnesses(); // each answers within the client's timeout (default 10 s)
    } catch (e) {
      await storage.close();
      await identity.close();
      await policy.close();
      throw e;
    }
  }
  let cluster: ClusterNode | undefined;
  let onClusterEvent: NonNullable<ClusterOptions['onEvent']> = () => {};
  if (config.cluster && pgStores) {
    const { leaseCheckMs, ...tuning } = typeof config.cluster === 'object' ? config.cluster : {};
    const stores = pgStores;
    cluster = new ClusterNode({
      ...tuning,
      leases: postgresLeases(
        config.postgres!,
        leaseCheckMs === undefined ? {} : { checkMs: leaseCheckMs },
      ),
      log,
      queue: stores.storage,
      // Decisions another collector made are fetched when a record names one (the policy
      // cache asks the database on a miss); the registry is re-read, changes only applied.
      sync: async () => {
        await identity.refreshRegistry();
        await history.recheck(); // an operator may have restored the missing entries
      },
      onEvent: (level, message, fields) => onClusterEvent(level, message, fields),
    });
  }
  const adminToken =
    config.adminToken ?? loadOrCreateAdminToken(join(config.dataDir, ADMIN_TOKEN_FILE));
  // Trace pages are built in a thread of their own on a SQLite ledger (started at the first).
  const investigator = pgStores ? undefined : new InvestigationWorker(ledgerFile);
  const app = buildApp(
    {
      log,
      storage,
      ...(investigator ? { investigator } : {}),
      limits,
      identity,
      policy,
      alerts: new AlertLimiter(),
      adminToken,
      anonymousIngest: config.anonymousIngest ?? 'off',
      deploymentKey,
      ...(config.devSignIn ? { devSignIn: config.devSignIn } : {}),
      ...(cosigner ? { cosignedCheckpoint: () => cosigner.checkpointNote() } : {}),
      ...(cluster ? { cluster } : {}),
      logProblems: () => [
        ...history.list().map(({ source, kind, size, message }) => ({
          code: 'log_behind_witness' as const,
          message,
          source,
          kind,
          size,
        })),
        ...(missingLeaf === null
          ? []
          : [
              {
                code: 'log_entries_missing' as const,
                message: `Leaf ${missingLeaf} is missing from the ledger (found at start), below the signed size ${log.size}: restore it from a backup, then run provenant verify.`,
                first_missing_leaf: missingLeaf,
              },
            ]),
      ],
      ...(signIn ? { signIn } : {}),
      authorization,
      detector: new Detector({
        ...DEFAULT_DETECTION_CONFIG,
        maxChainDepth: identity.config.policy.maxChainDepth,
        skewSec: identity.config.skewSec,
      }),
    },
    { logger: config.logger ?? false, hosts, ...(config.tls ? { tls: config.tls } : {}) },
  );
  try {
    // A policy folder that fails validation at start is refused: never serve without the rules
    // asked for. Later changes that fail keep the previous set active.
    await policy.startFolder((r) =>
      r.ok
        ? app.log.info({ policy_set: r.digest }, 'policy set reloaded')
        : app.log.error({ errors: r.errors }, 'policy set refused; the previous set stays active'),
    );
    await app.listen({ host: config.host, port });
    if (missingLeaf !== null) {
      app.log.error({ first_missing_leaf: missingLeaf }, 'ledger entries are missing');
    }
    onWitnessEvent = (level, message, fields) => app.log[level](fields, message);
    for (const e of earlyWitnessEvents.splice(0)) onWitnessEvent(...e);
    cosigner?.start();
    onClusterEvent = (level, message, fields) => app.log[level](fields, message);
    cluster?.start();
  } catch (e) {
    await app.close();
    await investigator?.close();
    await storage.close();
    await identity.close();
    await policy.close();
    throw e;
  }
  let closing: Promise<void> | null = null;
  return {
    app,
    log,
    storage,
    identity,
    policy,
    ...(cosigner ? { cosigner } : {}),
    ...(cluster ? { cluster } : {}),
    ...(signIn ? { signIn } : {}),
    url,
    close: () =>
      (closing ??= (async () => {
        await cosigner?.close();
        await app.close(); // stop accepting; in-flight requests finish first
        await investigator?.close();
        await cluster?.close(); // gives the lease up at once: another collector takes over
        await log.close();
        await storage.close();
        await identity.close();
        await policy.close();
      })()),
  };
}

async function openPostgres(url: string) {
  const storage = await PostgresStorage.open(url);
  let registry: PostgresRegistryStore | undefined;
  try {
    registry = await PostgresRegistryStore.open(url);
    const policy = await PostgresPolicyStore.open(url);
    return {
      storage,
      registry,
      policy,
      /** Closes the stores not yet handed to the identity and policy services. */
      end: async () => {
        await Promise.all([registry!.close(), policy.close()]);
      },
    };
  } catch (e) {
    await storage.close();
    await registry?.close();
    throw e;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
