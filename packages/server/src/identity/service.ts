import { existsSync } from 'node:fs';
import { StorageError, readSecretFile, writeSecretFile } from '@provenant/ledger';
import { recordedKind, uuidv7 } from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import {
  CredentialVerifier,
  Issuer,
  IssuerKeyRing,
  DEFAULT_EXCHANGE_POLICY,
  DEFAULT_MINIMUM_LEVELS,
  keyRingIssuer,
} from '@provenant/identity';
import type {
  ExchangePolicy,
  MinimumLevelPolicy,
  Principal,
  PrincipalDirectory,
  ReplayCache,
  RevocationStore,
  TrustedIssuer,
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
  readonly policy: ExchangePolicy;
  readonly skewSec: number;
  /** Enables the development sign-in (`provenant dev-login`); never in production. */
  readonly devLogin: boolean;
  readonly trustedIdTokenIssuers: readonly TrustedIssuer[];
  readonly minimumLevels: MinimumLevelPolicy;
  /** Where the issuer's signing keys persist (0600); none keeps them in memory only. */
  readonly keysFile?: string;
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
  readonly issuer: Issuer;
  readonly keys: IssuerKeyRing;
  readonly config: IdentityConfig;
  private readonly store: CachedRegistryStore;

  private constructor(
    store: CachedRegistryStore,
    config: IdentityConfig,
    keys: IssuerKeyRing,
    clock: () => number,
  ) {
    this.store = store;
    this.directory = store.directory;
    this.config = config;
    this.keys = keys;
    const revocations: RevocationStore = {
      isRevoked: (jti) => store.isRevoked(jti),
      revoke: (jti, at) => store.saveRevocation(jti, at),
    };
    const replay: ReplayCache = {
      useOnce: (jti, exp) => store.useAssertionJti(jti, exp, Math.floor(clock() / 1000)),
    };
    this.verifier = new CredentialVerifier({
      issuers: [keyRingIssuer(config.issuer, keys, config.policy.maxLifetimeSec, clock)],
      directory: this.directory,
      audience: config.audience,
      clock,
      skewSec: config.skewSec,
      maxChainDepth: config.policy.maxChainDepth,
      revocations,
    });
    this.issuer = new Issuer({
      issuer: config.issuer,
      audience: config.audience,
      keys,
      directory: this.directory,
      verifier: this.verifier,
      replay,
      revocations,
      policy: config.policy,
      clock,
      tokenEndpoint: `${config.issuer}/v1/token`,
      trustedIdTokenIssuers: [...config.trustedIdTokenIssuers],
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
  refreshRegistry(): Promise<RegistryChanges> {
    return this.store.refresh();
  }

  /** Registers or replaces a principal, once stored; returns the ledger record of the change. */
  async registerPrincipal(principal: Principal, now: number): Promise<EventRecord> {
    await this.store.savePrincipal(principal);
    return registryRecord('principal.registered', principal, now);
  }

  async disablePrincipal(id: string, now: number): Promise<EventRecord | null> {
    const p = this.directory.get(id);
    if (!p) return null;
    const disabled: Principal = { ...p, disabled: true };
    await this.store.savePrincipal(disabled);
    return registryRecord('principal.disabled', disabled, now);
  }

  /**
   * Starts signing with a new key. The old public key stays in the JWKS (and trusted) until
   * every credential it signed has expired. Returns the ledger record of the rotation.
   */
  rotateKey(now: number): { kid: string; record: EventRecord } {
    const previous = this.keys.current().kid;
    const before = IssuerKeyRing.fromJSON(this.keys.toJSON());
    const key = this.keys.rotate(now);
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
        args: { previous_kid: previous },
      },
    };
    return { kid: key.kid, record };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function writeKeyRing(file: string, ring: IssuerKeyRing): void {
  writeSecretFile(file, `${JSON.stringify(ring.toJSON())}\n`);
}

function registryRecord(type: string, p: Principal, now: number): EventRecord {
  const args: Record<string, string | boolean | string[]> = {
    kind: p.kind,
    shared: p.shared,
    disabled: p.disabled,
  };
  if (p.agent !== undefined) args['agent'] = p.agent;
  if (p.publicJwks) args['key_ids'] = p.publicJwks.map((k) => String(k.kid ?? ''));
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(now),
    time: new Date(now).toISOString(),
    type,
    initiator: { id: COLLECTOR_PRINCIPAL, kind: 'service' },
    actor: { id: COLLECTOR_PRINCIPAL, kind: 'service' },
    action: {
      name: type === 'principal.registered' ? 'principals.register' : 'principals.disable',
      resource: p.id,
      args,
    },
  };
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
      ancestors: [...w.ancestors],
      grant: w.grant,
      ...(w.parentJti === undefined ? {} : { parent_jti: w.parentJti }),
    },
  };
  if (w.from !== undefined && w.to !== undefined) {
    record.delegation = [{ from: w.from, to: w.to, jti: w.jti, scope: [...w.scope] }];
  }
  if (w.type === 'credential.revoked') record.cause = { kind: 'agent_decision' };
  return record;
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
