import { existsSync } from 'node:fs';
import type { JWTVerifyGetKey } from 'jose';
import { StorageError, readSecretFile, writeSecretFile } from '@provenant/ledger';
import {
  ROLES,
  SCOPE_CEILING_RECORD_TYPE,
  recordedKind,
  uuidv7,
  type ROLE_RECORD_TYPES,
  type Role,
} from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import {
  CredentialError,
  CredentialVerifier,
  Issuer,
  IssuerKeyRing,
  DEFAULT_EXCHANGE_POLICY,
  DEFAULT_MINIMUM_LEVELS,
  defaultRoles,
  grantedRoles,
  keyRingIssuer,
  SpiffeDirectory,
  SvidVerifier,
  TxnTokenVerifier,
} from '@provenant/identity';
import type {
  ExchangePolicy,
  JwtGrantWitness,
  MinimumLevelPolicy,
  Principal,
  PrincipalDirectory,
  ReplayCache,
  RevocationStore,
  SpiffeTrustDomain,
  TrustedIssuer,
  TrustedTxnTokenService,
  WitnessEvent,
} from '@provenant/identity';
import type { RegistryStore } from './registry.js';
import { CachedRegistryStore } from './registry-cache.js';
import type { RegistryChanges } from './registry-cache.js';

/** The issuer's own principal: the witness that writes credential records. */
export const ISSUER_PRINCIPAL = 'service:provenant-issuer';
/** The collector's own principal: writes registry changes and security alerts. */
export const COLLECTOR_PRINCIPAL = 'service:provenant-collector';

export interface IdentityConfig {
  /** `iss` of the credentials this collector issues, e.g. http://127.0.0.1:7410. */
  readonly issuer: string;
  /** `aud` every Provenant credential must carry. */
  readonly audience: string;
  /**
   * RFC 8707 resource indicators (an MCP proxy's `…/mcp` URL) the issuer binds credentials to
   * on request (`serve --resource`): such a credential's `aud` is the resource, so the
   * collector's API refuses it; only its token exchange (the proxy's) and revocation take it.
   */
  readonly resources?: readonly string[];
  readonly policy: ExchangePolicy;
  readonly skewSec: number;
  /** Enables the development sign-in (`provenant dev-login`); never in production. */
  readonly devLogin: boolean;
  readonly trustedIdTokenIssuers: readonly TrustedIssuer[];
  /**
   * Enterprise IdPs whose ID-JAGs sign a human in through the JWT bearer grant
   * (`--id-jag-issuer ISS=FILE|URL`).
   */
  readonly idJagIssuers?: readonly TrustedIssuer[];
  /**
   * Trust domains whose JWT authorization grants this collector accepts, as domain B of identity
   * chaining (`--chain-trust ISS=FILE|URL`).
   */
  readonly chainTrust?: readonly TrustedIssuer[];
  /**
   * The authorization servers of other trust domains this collector issues JWT authorization
   * grants for, as domain A (`--chain-audience URL`).
   */
  readonly chainAudiences?: readonly string[];
  readonly minimumLevels: MinimumLevelPolicy;
  /** Where the issuer's signing keys persist (0600); none keeps them in memory only. */
  readonly keysFile?: string;
  /**
   * The scope ceiling of a principal registered without one, or not registered (an ID-token
   * sign-in of an `iss#sub`). Undefined: no ceiling, a root credential gets what it asks for.
   * Default: no ceiling under `devLogin` (development), none granted (`[]`) otherwise.
   */
  readonly defaultScopeCeiling?: readonly string[];
  /**
   * SPIFFE trust domains whose JWT-SVIDs authenticate workloads at the token endpoint (as
   * client assertions and actor tokens): `serve --spiffe-bundle TD=FILE|URL`, `--spiffe-path`.
   */
  readonly spiffe?: readonly SpiffeTrustDomain[];
  /**
   * Transaction Tokens (draft-ietf-oauth-transaction-tokens-10) of `trustDomain`
   * (`serve --txn-trust-domain`): the issuer is its Txn-Token Service (tokens living at most
   * `lifetimeSec`, default 300), and ingest and decisions accept the
   * `Txn-Token` header signed by it or by one of `services` (`--txn-token-service ISS=FILE|URL`).
   */
  readonly txnTokens?: {
    readonly trustDomain: string;
    readonly lifetimeSec?: number;
    readonly services?: readonly TrustedTxnTokenService[];
  };
}

export function defaultIdentityConfig(issuer: string): IdentityConfig {
  return {
    issuer,
    audience: 'provenant',
    policy: DEFAULT_EXCHANGE_POLICY,
    skewSec: 30,
    devLogin: false,
    trustedIdTokenIssuers: [],
    minimumLevels: DEFAULT_MINIMUM_LEVELS,
  };
}

/**
 * The collector's identity side: principals registry (cached in memory over the registry
 * store), revocations, client-assertion replay protection, issuer keys, the issuer, and the
 * verifier used at ingest.
 */
export class IdentityService {
  /** The registered principals, read from the cache (no I/O). */
  readonly directory: PrincipalDirectory;
  readonly verifier: CredentialVerifier;
  /**
   * Verifies what the token exchange and revocation take: this collector's credentials, also
   * those bound to one of `config.resources` (never accepted by the API's own routes).
   */
  readonly subjectVerifier: CredentialVerifier;
  readonly issuer: Issuer;
  readonly keys: IssuerKeyRing;
  readonly config: IdentityConfig;
  private readonly store: CachedRegistryStore;

  /** The JWT-SVID verifier, when SPIFFE trust domains are configured. */
  readonly svids: SvidVerifier | undefined;
  /** The `Txn-Token` header's verifier, when a trust domain for Txn-Tokens is configured. */
  readonly txnTokens: TxnTokenVerifier | undefined;

  private constructor(
    store: CachedRegistryStore,
    config: IdentityConfig,
    keys: IssuerKeyRing,
    clock: () => number,
  ) {
    this.store = store;
    this.config = config;
    this.keys = keys;
    const revocations: RevocationStore = {
      isRevoked: (jti) => store.isRevoked(jti),
      revoke: (jti, at) => store.saveRevocation(jti, at),
    };
    const replay: ReplayCache = {
      useOnce: (jti, exp) => store.useAssertionJti(jti, exp, Math.floor(clock() / 1000)),
    };
    this.svids =
      config.spiffe === undefined || config.spiffe.length === 0
        ? undefined
        : new SvidVerifier({ trustDomains: config.spiffe, replay, clock, skewSec: config.skewSec });
    // SVIDs a path pattern admits are principals wherever the registry is consulted.
    this.directory =
      this.svids === undefined ? store.directory : new SpiffeDirectory(store.directory, this.svids);
    const idTokenReplay: ReplayCache = {
      useOnce: (key, exp) => store.useIdToken(key, exp, Math.floor(clock() / 1000)),
    };
    const grantReplay: ReplayCache = {
      useOnce: (key, exp) => store.useGrantJti(key, exp, Math.floor(clock() / 1000)),
    };
    const ceiling = scopeCeilingOf(config);
    const own = keyRingIssuer(config.issuer, keys, config.policy.maxLifetimeSec, clock);
    // A key retired at once on any member (a registry entry) is refused here too, even if this
    // member's ring still holds it.
    const ownKeys: JWTVerifyGetKey = (header, token) => {
      if (typeof header.kid === 'string' && store.isRevoked(retiredKeyEntry(header.kid))) {
        throw new CredentialError('unknown_kid', 'The token names an issuer key retired at once.', {
          claim: 'kid',
        });
      }
      return own.jwks(header, token);
    };
    const verifierOptions = {
      issuers: [{ ...own, jwks: ownKeys }],
      directory: this.directory,
      clock,
      skewSec: config.skewSec,
      maxChainDepth: config.policy.maxChainDepth,
      revocations,
    };
    this.verifier = new CredentialVerifier({ ...verifierOptions, audience: config.audience });
    const txn = config.txnTokens;
    this.txnTokens =
      txn === undefined
        ? undefined
        : new TxnTokenVerifier({
            trustDomain: txn.trustDomain,
            // Its own Txn-Tokens, and those of the configured services.
            services: [{ iss: config.issuer, keys: ownKeys }, ...(txn.services ?? [])],
            clock,
            skewSec: config.skewSec,
          });
    this.subjectVerifier = new CredentialVerifier({
      ...verifierOptions,
      audience: [config.audience, ...(config.resources ?? [])],
    });
    this.issuer = new Issuer({
      issuer: config.issuer,
      audience: config.audience,
      keys,
      directory: this.directory,
      verifier: this.subjectVerifier,
      ...(config.resources === undefined ? {} : { resources: config.resources }),
      replay,
      ...(this.svids === undefined ? {} : { svids: this.svids }),
      ...(txn === undefined
        ? {}
        : {
            txnTokens: {
              trustDomain: txn.trustDomain,
              ...(txn.lifetimeSec === undefined ? {} : { lifetimeSec: txn.lifetimeSec }),
            },
          }),
      idTokenReplay,
      keyRetiredElsewhere: (kid) => store.isRevoked(retiredKeyEntry(kid)),
      ...(ceiling === undefined ? {} : { defaultScopeCeiling: ceiling }),
      revocations,
      policy: config.policy,
      clock,
      tokenEndpoint: `${config.issuer}/v1/token`,
      trustedIdTokenIssuers: [...config.trustedIdTokenIssuers],
      idJagIssuers: [...(config.idJagIssuers ?? [])],
      chainIssuers: [...(config.chainTrust ?? [])],
      chainAudiences: [...(config.chainAudiences ?? [])],
      grantReplay,
      devLogin: config.devLogin,
    });
  }

  /** Opens the identity side over `store` (any backend), behind the registry cache. */
  static async create(
    store: RegistryStore,
    config: IdentityConfig,
    clock: () => number = Date.now,
  ): Promise<IdentityService> {
    const keys = await loadOrCreateKeyRing(config.keysFile, clock);
    return new IdentityService(await CachedRegistryStore.open(store), config, keys, clock);
  }

  principals(): Promise<Principal[]> {
    return this.store.listPrincipals();
  }

  /** Takes in the principals and revocations another collector of a cluster stored. */
  async refreshRegistry(): Promise<RegistryChanges> {
    const changes = await this.store.refresh();
    // Another member retired a key at once: no cached verification may outlive it.
    if (changes.revocations.some((r) => r.jti.startsWith(RETIRED_KEY_PREFIX))) {
      this.verifier.clearCache();
      this.subjectVerifier.clearCache();
      this.txnTokens?.clearCache();
    }
    return changes;
  }

  /**
   * Registers or replaces a principal, once stored; returns it as stored and the ledger records
   * of the change. A new principal is granted the default roles of its kind (`producer` for a
   * workload, none for a human), each a `role.granted` record; a replaced one keeps its roles,
   * and its scope ceiling unless `principal.scopes` sets a new one (a `scope.ceiling_set`).
   */
  async registerPrincipal(
    principal: Principal,
    now: number,
  ): Promise<{ principal: Principal; records: EventRecord[] }> {
    // The registry alone: an SVID a path pattern admits is not registered yet.
    const known = this.store.directory.get(principal.id);
    const stored: Principal = { ...principal };
    delete stored.roles;
    const scopes = principal.scopes ?? known?.scopes;
    if (scopes === undefined) delete stored.scopes;
    else stored.scopes = [...scopes];
    if (known === undefined) stored.roles = defaultRoles(principal.kind);
    else if (known.roles !== undefined) stored.roles = [...known.roles];
    await this.store.savePrincipal(stored);
    const records = [registryRecord('principal.registered', stored, now)];
    if (known === undefined) {
      for (const role of stored.roles ?? []) {
        records.push(roleRecord('role.granted', stored, role, 'registration_default', now));
      }
    }
    if (
      principal.scopes !== undefined &&
      JSON.stringify(principal.scopes) !== JSON.stringify(known?.scopes)
    ) {
      records.push(ceilingRecord(stored, now));
    }
    return { principal: stored, records };
  }

  /**
   * Grants (`granted` true) or revokes a role, once stored; returns the principal as stored and
   * the `role.granted` / `role.revoked` record, or no record when it already held (or lacked) the
   * role. Undefined when there is no such principal. The credentials issued from then on carry
   * the new roles; those already issued keep theirs until they expire (revoke them to cut now).
   */
  async setRole(
    id: string,
    role: Role,
    granted: boolean,
    now: number,
  ): Promise<{ principal: Principal; record: EventRecord | null } | undefined> {
    const known = this.directory.get(id);
    if (known === undefined) return undefined;
    const held = grantedRoles(known);
    if (held.includes(role) === granted && known.roles !== undefined) {
      return { principal: known, record: null };
    }
    const roles = granted
      ? ROLES.filter((r) => held.includes(r) || r === role)
      : held.filter((r) => r !== role);
    const stored: Principal = { ...known, roles };
    await this.store.savePrincipal(stored);
    const changed = held.includes(role) !== granted;
    return {
      principal: stored,
      record: changed
        ? roleRecord(granted ? 'role.granted' : 'role.revoked', stored, role, 'admin', now)
        : null,
    };
  }

  /**
   * Sets a principal's scope ceiling: the most a credential rooted at it may carry. Returns the
   * principal as stored and its `scope.ceiling_set` record; undefined when there is none.
   */
  async setScopeCeiling(
    id: string,
    scopes: readonly string[],
    now: number,
  ): Promise<{ principal: Principal; record: EventRecord } | undefined> {
    const known = this.directory.get(id);
    if (known === undefined) return undefined;
    const stored: Principal = { ...known, scopes: [...scopes] };
    await this.store.savePrincipal(stored);
    return { principal: stored, record: ceilingRecord(stored, now) };
  }

  async disablePrincipal(id: string, now: number): Promise<EventRecord | null> {
    const p = this.directory.get(id);
    if (!p) return null;
    const disabled: Principal = { ...p, disabled: true };
    await this.store.savePrincipal(disabled);
    // A remediation (AIMS): every credential of this principal, and every chain through it, is
    // refused from now on.
    return {
      ...registryRecord('principal.disabled', disabled, now),
      remediation: { cause: 'principal_disabled', remediates: [{ kind: 'principal', id }] },
    };
  }

  /**
   * Starts signing with a new key. Normally the old public key stays in the JWKS, trusted for
   * credentials issued before `now` only, until every credential it signed has expired. With
   * `retireNow` (a suspected leak) every older key goes at once: removed from the ring and from
   * the keys file (its private half deleted), so its credentials stop verifying now. Returns the
   * new kid, the kids removed, and the ledger record of the rotation.
   */
  async rotateKey(
    now: number,
    options: { retireNow?: boolean } = {},
  ): Promise<{ kid: string; retired: string[]; record: EventRecord }> {
    const previous = this.keys.current().kid;
    const before = IssuerKeyRing.fromJSON(this.keys.toJSON());
    const retireNow = options.retireNow === true;
    const { key, dropped } = this.keys.rotate(now, { retireNow });
    this.keys.prune(now, this.config.policy.maxLifetimeSec);
    if (this.config.keysFile) {
      try {
        writeKeyRing(this.config.keysFile, this.keys);
      } catch (e) {
        // Never sign with a key that a restart would not have: keep the old ring.
        this.keys.replaceKeys(before);
        const full = (e as { code?: string }).code === 'ENOSPC';
        throw new StorageError(
          full ? 'storage_full' : 'storage_unavailable',
          'The new issuer key could not be stored; the current key stays in use.',
          { cause: (e as Error).message },
        );
      }
    }
    const record: EventRecord = {
      schema: 'provenant.event/v1',
      id: uuidv7(now),
      time: new Date(now).toISOString(),
      type: 'issuer.key_rotated',
      initiator: { id: COLLECTOR_PRINCIPAL, kind: 'service' },
      actor: { id: ISSUER_PRINCIPAL, kind: 'service' },
      action: {
        name: 'issuer.rotate_key',
        resource: `kid:${key.kid}`,
        args: { previous_kid: previous, retire_now: retireNow, retired_kids: dropped },
      },
    };
    // Retired at once (a suspected leak): a remediation of every key dropped, so of every
    // credential issued before now.
    if (retireNow && dropped.length > 0) {
      record.remediation = {
        cause: 'key_retired',
        remediates: dropped.map((kid) => ({ kind: 'issuer_key' as const, id: kid })),
      };
    }
    // Every member sharing the registry refuses the dropped keys too (at its next refresh).
    for (const kid of dropped) await this.store.saveRevocation(retiredKeyEntry(kid), now);
    // A cached verification must not outlive the key it was made with.
    if (retireNow) {
      this.verifier.clearCache();
      this.subjectVerifier.clearCache();
      this.txnTokens?.clearCache();
    }
    return { kid: key.kid, retired: dropped, record };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * Keys retired at once are kept with the revoked credentials, as `issuer-key:<kid>` (never a
 * credential's jti, which is a UUID), so the registry's refresh carries them to every member.
 */
const RETIRED_KEY_PREFIX = 'issuer-key:';
const retiredKeyEntry = (kid: string) => `${RETIRED_KEY_PREFIX}${kid}`;

/** The configured default scope ceiling, or its default for the mode (see `IdentityConfig`). */
function scopeCeilingOf(config: IdentityConfig): readonly string[] | undefined {
  if ('defaultScopeCeiling' in config) return config.defaultScopeCeiling;
  return config.devLogin ? undefined : [];
}

function writeKeyRing(file: string, ring: IssuerKeyRing): void {
  writeSecretFile(file, `${JSON.stringify(ring.toJSON())}\n`);
}

/** The collector's own record of a registry change to `p`. */
function registryChange(
  type: string,
  actionName: string,
  p: Principal,
  args: Record<string, string | boolean | string[]>,
  now: number,
): EventRecord {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(now),
    time: new Date(now).toISOString(),
    type,
    initiator: { id: COLLECTOR_PRINCIPAL, kind: 'service' },
    actor: { id: COLLECTOR_PRINCIPAL, kind: 'service' },
    action: { name: actionName, resource: p.id, args },
  };
}

/** `role.granted` / `role.revoked`: args `role`, `roles` (all it holds now), `reason`. */
function roleRecord(
  type: (typeof ROLE_RECORD_TYPES)[number],
  p: Principal,
  role: Role,
  reason: 'admin' | 'registration_default',
  now: number,
): EventRecord {
  const name = type === 'role.granted' ? 'principals.grant_role' : 'principals.revoke_role';
  return registryChange(type, name, p, { role, roles: grantedRoles(p), reason }, now);
}

/** `scope.ceiling_set`: args `scopes`, the new ceiling. */
function ceilingRecord(p: Principal, now: number): EventRecord {
  return registryChange(
    SCOPE_CEILING_RECORD_TYPE,
    'principals.set_scope_ceiling',
    p,
    { scopes: [...(p.scopes ?? [])] },
    now,
  );
}

function registryRecord(type: string, p: Principal, now: number): EventRecord {
  const args: Record<string, string | boolean | string[]> = {
    kind: p.kind,
    shared: p.shared,
    disabled: p.disabled,
  };
  if (p.agent !== undefined) args['agent'] = p.agent;
  if (p.publicJwks) args['key_ids'] = p.publicJwks.map((k) => String(k.kid ?? ''));
  const name = type === 'principal.registered' ? 'principals.register' : 'principals.disable';
  return registryChange(type, name, p, args, now);
}

/** A witness record of the issuer: who holds which credential, on whose behalf, for when. */
export function witnessRecord(
  w: WitnessEvent,
  issuer: string,
  directory: PrincipalDirectory,
  now: number,
): EventRecord {
  const kindOf = (id: string) => recordedKind(id, directory.get(id)?.kind);
  const record: EventRecord = {
    schema: 'provenant.event/v1',
    id: uuidv7(now),
    time: new Date(now).toISOString(),
    type: w.type,
    initiator: { id: w.sub, kind: kindOf(w.sub) },
    cause: { kind: w.type === 'delegation.granted' ? 'delegation' : 'human_prompt' },
    actor: { id: ISSUER_PRINCIPAL, kind: 'service' },
    credential: {
      jti: w.jti,
      iss: issuer,
      iat: w.iat,
      exp: w.exp,
      sub: w.sub,
      scope: [...w.scope],
      roles: [...w.roles],
      ancestors: [...w.ancestors],
      ...(w.idToken === undefined ? {} : { id_token: { iss: w.idToken.iss, jti: w.idToken.jti } }),
      grant: w.grant,
      ...(w.parentJti === undefined ? {} : { parent_jti: w.parentJti }),
      ...(w.audience === undefined ? {} : { aud: [...w.audience] }),
      ...(w.authn === undefined
        ? {}
        : {
            authn: {
              method: w.authn.method,
              spiffe_id: w.authn.spiffeId,
              trust_domain: w.authn.trustDomain,
              kid: w.authn.kid,
            },
          }),
      ...(w.jwtGrant === undefined ? {} : { jwt_grant: jwtGrantRecord(w.jwtGrant) }),
    },
  };
  if (w.txnToken !== undefined) {
    record.correlation = {
      txn: w.txnToken.txn,
      txn_token: {
        digest: w.txnToken.tokenDigest,
        iss: issuer,
        sub: w.sub,
        req_wl: w.txnToken.reqWl,
        ...(w.txnToken.tctxDigest === undefined ? {} : { tctx_digest: w.txnToken.tctxDigest }),
      },
    };
  }
  if (w.from !== undefined && w.to !== undefined) {
    record.delegation = [{ from: w.from, to: w.to, jti: w.jti, scope: [...w.scope] }];
  }
  if (w.type === 'credential.revoked') {
    record.cause = { kind: 'agent_decision' };
    // A remediation: this credential and every one exchanged from it are refused from now on.
    record.remediation = {
      cause: 'credential_revoked',
      remediates: [{ kind: 'credential', id: w.jti }],
    };
  }
  return record;
}

/** The grant a credential was issued on, as the record keeps it (both hops, the original sub). */
function jwtGrantRecord(
  g: JwtGrantWitness,
): NonNullable<NonNullable<EventRecord['credential']>['jwt_grant']> {
  return {
    profile: g.profile,
    iss: g.iss,
    jti: g.jti,
    aud: g.aud,
    sub: g.sub,
    ...(g.clientId === undefined ? {} : { client_id: g.clientId }),
    ...(g.act === undefined ? {} : { act: [...g.act] }),
    ...(g.scope === undefined ? {} : { scope: [...g.scope] }),
    ...(g.resource === undefined ? {} : { resource: [...g.resource] }),
  };
}

async function loadOrCreateKeyRing(
  file: string | undefined,
  clock: () => number,
): Promise<IssuerKeyRing> {
  if (file && existsSync(file)) {
    return IssuerKeyRing.fromJSON(JSON.parse(readSecretFile(file)));
  }
  const ring = IssuerKeyRing.generate(clock());
  if (file) writeKeyRing(file, ring);
  return ring;
}
