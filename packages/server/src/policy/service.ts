import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readSecretFile, writeSecretFile } from '@provenant/ledger';
import { POLICY_CHANGED_RECORD_TYPE, uuidv7 } from '@provenant/core';
import type { EventRecord, Posture, Principal } from '@provenant/core';
import type { PrincipalDirectory, VerifiedCredential } from '@provenant/identity';
import {
  DecisionPoint,
  DEFAULT_AUDIT_RULES,
  decidedAction,
  EMPTY_POLICY_SET_DIGEST,
  describeDrift,
  readPolicyFolder,
  watchPolicyFolder,
} from '@provenant/policy';
import type {
  ActionInput,
  AuditRules,
  DecisionAuthority,
  Decision,
  EngineDecision,
  FailPolicy,
  LoadedPolicySet,
  PolicyEngine,
  PolicySetSource,
} from '@provenant/policy';
import type { DecisionUse, PolicyStore } from './store.js';
import { CachedPolicyStore } from './store-cache.js';

/** The decision point's own principal: the witness that writes `policy.decision` records. */
export const PDP_PRINCIPAL = 'service:provenant-pdp';

export interface PolicyConfig {
  /** A folder of `*.cedar` files (+ `schema.cedarschema`), loaded at start and on change. */
  readonly policiesDir?: string;
  readonly auditRules: AuditRules;
  /** Deployment key for HMAC redaction of audited arguments. */
  readonly hmacKey: Uint8Array;
  readonly failPolicy?: FailPolicy;
  /** How long a decision backs records citing it, ms (default 5 minutes). */
  readonly decisionValidityMs?: number;
}

export interface Explanation {
  readonly recorded: Decision;
  /** The recorded request against the recorded policy set: must give the recorded answer. */
  readonly replayed: EngineDecision;
  /** The same request against the current set, and what changed. */
  readonly current: {
    readonly policySet: string;
    readonly decision: EngineDecision;
    readonly drift: string | null;
  } | null;
}

/**
 * The policy side of the collector: the decision point (recording its own decisions), the
 * content-addressed history of policy sets, and the audit rules applied at ingest.
 */
export class PolicyService {
  readonly point: DecisionPoint;
  readonly config: PolicyConfig;
  private readonly store: CachedPolicyStore;
  private readonly engine: PolicyEngine;
  private readonly clock: () => number;
  private stopWatching: (() => void) | null = null;
  /** The last load failure (validator messages), for health and logs. */
  lastLoadError: string[] | null = null;
  /**
   * Called with the `policy.changed` record when a loaded set replaces another (not the first
   * set after start); `load` resolves once it settles. The app writes it to the ledger.
   */
  onPolicyChanged: ((record: EventRecord) => Promise<void>) | null = null;

  private constructor(
    engine: PolicyEngine,
    store: CachedPolicyStore,
    config: PolicyConfig,
    clock: () => number,
  ) {
    this.engine = engine;
    this.store = store;
    this.config = config;
    this.clock = clock;
    this.point = new DecisionPoint({
      engine,
      clock,
      ...(config.failPolicy ? { failPolicy: config.failPolicy } : {}),
      ...(config.decisionValidityMs === undefined ? {} : { validityMs: config.decisionValidityMs }),
    });
  }

  /** Opens the policy side over `store` (any backend), behind the policy history cache. */
  static async open(
    engine: PolicyEngine,
    store: PolicyStore,
    config: PolicyConfig,
    clock: () => number = Date.now,
  ): Promise<PolicyService> {
    const cached = new CachedPolicyStore(store);
    // Decisions made before any set was loaded name the empty set: keep it replayable too.
    await cached.savePolicySet(EMPTY_POLICY_SET_DIGEST, { files: [] }, clock());
    const service = new PolicyService(engine, cached, config, clock);
    // An external PDP decides by its own policies: the local set is the empty one.
    if (engine.remote === true) await service.load({ files: [] });
    return service;
  }

  /** Loads a policy set; a set that fails validation is refused and the previous one stays. */
  async load(source: PolicySetSource): Promise<LoadedPolicySet> {
    const previous = this.point.current()?.digest;
    let set: LoadedPolicySet;
    try {
      set = await this.point.load(source);
      await this.store.savePolicySet(set.digest, set.source, this.clock());
      this.lastLoadError = null;
    } catch (e) {
      const messages = (e as { details?: { messages?: string[] } }).details?.messages;
      this.lastLoadError = messages ?? [(e as Error).message];
      throw e;
    }
    if (previous !== undefined && previous !== set.digest && this.onPolicyChanged) {
      await this.onPolicyChanged(policyChangedRecord(previous, set.digest, this.clock()));
    }
    return set;
  }

  /** Loads the configured folder and reloads it whenever it changes. */
  async startFolder(
    onReload?: (result: { ok: boolean; digest?: string; errors?: string[] }) => void,
  ): Promise<void> {
    const dir = this.config.policiesDir;
    if (!dir) return;
    await this.load(readPolicyFolder(dir));
    this.stopWatching = watchPolicyFolder(dir, async () => {
      try {
        const set = await this.load(readPolicyFolder(dir));
        onReload?.({ ok: true, digest: set.digest });
      } catch {
        onReload?.({ ok: false, errors: this.lastLoadError ?? [] });
      }
    });
  }

  /** Decides, and resolves once the decision is stored. */
  async decide(
    credential: DecisionAuthority,
    action: ActionInput,
    directory: PrincipalDirectory,
  ): Promise<Decision> {
    const { decision, saved } = await this.decideUnsaved(credential, action, directory);
    await saved;
    return decision;
  }

  /**
   * Decides, and starts storing the decision: `saved` resolves once it is stored (the SQLite
   * store commits the decisions of one event-loop turn together), so a route runs its record's
   * commit beside it. The caller must await `saved` before it answers: no decision is answered
   * before it is stored.
   */
  async decideUnsaved(
    credential: DecisionAuthority,
    action: ActionInput,
    directory: PrincipalDirectory,
  ): Promise<{ decision: Decision; saved: Promise<void> }> {
    const decision = await this.point.decide(credential, action, directory);
    const saved = this.store.saveDecision(decision);
    // Awaited by the caller; never an unhandled rejection if it stops before that.
    saved.catch(() => {});
    return { decision, saved };
  }

  /** A decision this collector made or `prefetchDecisions` fetched (no I/O, for ingest). */
  getDecision(id: string): Decision | null {
    return this.store.cachedDecision(id);
  }

  /** The decision point's clock (Unix ms): when a record citing a decision arrived. */
  now(): number {
    return this.clock();
  }

  /** Claims a single-use decision for one record (see `PolicyStore.claimDecisionUse`). */
  claimDecisionUse(use: DecisionUse): Promise<boolean> {
    return this.store.claimDecisionUse(use);
  }

  /** Before correlating records: fetch the decisions they name that the cache lacks. */
  async prefetchDecisions(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.store.prefetch(ids);
  }

  /** Re-evaluates a recorded decision against its recorded policy set and the current one. */
  async explain(id: string): Promise<Explanation | null> {
    const [recorded] = await this.store.getDecisions([id]);
    if (!recorded) return null;
    const source = await this.store.getPolicySet(recorded.policy_set);
    if (!source) return null;
    const replayed = await this.point.replay(recorded, await this.engine.load(source));
    const current = this.point.current();
    if (!current) return { recorded, replayed, current: null };
    const decision = await this.point.replay(recorded, current);
    return {
      recorded,
      replayed,
      current: { policySet: current.digest, decision, drift: describeDrift(recorded, decision) },
    };
  }

  close(): Promise<void> {
    this.stopWatching?.();
    return this.store.close();
  }
}

/** A record's `policy` field as the decision point recorded the decision. */
export function policyRefOf(d: Decision): NonNullable<EventRecord['policy']> {
  return {
    decision_id: d.decision_id,
    engine: d.engine,
    engine_version: d.engine_version,
    policy_set: d.policy_set,
    decision: d.decision,
    determining: [...d.determining],
    context_digest: d.context_digest,
    ...(d.errors.length > 0 ? { errors: [...d.errors] } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
    // Decisions stored before the catalog existed carry no standing.
    ...(d.catalog ? { catalog: d.catalog } : {}),
    ...(d.pdp === undefined
      ? {}
      : {
          authzen: {
            pdp: d.pdp.pdp,
            pdp_request_id: d.pdp.request_id,
            exchange_digest: d.pdp.exchange_digest,
          },
        }),
  };
}

/** What the AuthZEN facade adds to its decisions' records (`policy.authzen`). */
export interface FacadeNote {
  /** The PEP's `X-Request-ID`. */
  readonly requestId?: string;
  /** How the subject was established. */
  readonly subject: 'credential' | 'pep';
}

/**
 * The decision point's witness record of one decision (allow or deny), with the action's class
 * and risk as decided (the catalog's, raised by the caller's), not as the caller claimed them,
 * and the risk state (`posture`, ./posture.ts) of the chain's principals it was made under.
 */
export function decisionRecord(
  d: Decision,
  credential: VerifiedCredential | null,
  kindOf: (id: string) => Principal['kind'],
  facade?: FacadeNote,
  posture?: Posture,
): EventRecord {
  // The request's chain and initiator: the credential's, or what a trusted PEP asserted.
  const chain = credential?.chain ?? contextStrings(d.request.context['chain']);
  const initiator = credential?.subject ?? String(d.request.context['initiator']);
  const action = decidedAction(d);
  const policy = policyRefOf(d);
  if (facade !== undefined) {
    policy.authzen = {
      ...policy.authzen,
      ...(facade.requestId === undefined ? {} : { request_id: facade.requestId }),
      subject: facade.subject,
    };
  }
  const record: EventRecord = {
    schema: 'provenant.event/v1',
    id: uuidv7(d.time),
    time: new Date(d.time).toISOString(),
    type: 'policy.decision',
    initiator: { id: initiator, kind: kindOf(initiator) },
    cause: { kind: 'agent_decision' },
    actor: { id: PDP_PRINCIPAL, kind: 'service' },
    ...(credential === null
      ? {}
      : {
          credential: {
            jti: credential.claims.jti,
            iss: credential.claims.iss,
            iat: credential.claims.iat,
            exp: credential.claims.exp,
          },
        }),
    action: {
      name: action.name,
      resource: action.resource,
      class: action.class,
      ...(action.risk ? { risk: action.risk } : {}),
    },
    policy: posture ? { ...policy, posture } : policy,
  };
  if (chain.length > 1) {
    record.delegation = chain.slice(1).map((to, i) => ({ from: chain[i]!, to }));
  }
  // The task the decision was made for: the credential's task wins over the caller's.
  const taskId = d.request.context['task_id'];
  if (typeof taskId === 'string') record.task_id = taskId;
  return record;
}

function contextStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * The decision point's record of a policy set replacing the active one: a remediation (AIMS) of
 * the previous set, whose decisions no longer describe what the collector would answer
 * (`explain-decision` replays them against both).
 */
export function policyChangedRecord(previous: string, next: string, now: number): EventRecord {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(now),
    time: new Date(now).toISOString(),
    type: POLICY_CHANGED_RECORD_TYPE,
    initiator: { id: PDP_PRINCIPAL, kind: 'service' },
    actor: { id: PDP_PRINCIPAL, kind: 'service' },
    action: {
      name: 'policy.load',
      resource: `policy_set:${next}`,
      args: { previous_policy_set: previous, policy_set: next },
    },
    remediation: { cause: 'policy_changed', remediates: [{ kind: 'policy_set', id: previous }] },
  };
}

/** The deployment's HMAC key for redacted arguments, created (0600) on first start. */
export function loadOrCreateHmacKey(file: string): Uint8Array {
  if (existsSync(file)) return Buffer.from(readSecretFile(file).trim(), 'base64');
  const key = randomBytes(32);
  writeSecretFile(file, `${key.toString('base64')}\n`);
  return key;
}

export { DEFAULT_AUDIT_RULES };
