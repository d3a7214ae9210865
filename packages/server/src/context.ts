import type { Log, LogStorage } from '@provenant/ledger';
import type { AlertLimiter } from './identity/attributor.js';
import type { IdentityService } from './identity/service.js';
import type { PolicyService } from './policy/service.js';
import type { Detector } from './investigate/detections.js';
import type { SignInService } from './signin/service.js';

export interface CollectorLimits {
  /** Largest request body, bytes. */
  readonly bodyLimit: number;
  readonly maxRecordsPerRequest: number;
  /** Entries waiting for commit above which ingest answers 503 with Retry-After. */
  readonly maxQueuedEntries: number;
}

export const DEFAULT_LIMITS: CollectorLimits = {
  bodyLimit: 8 * 1024 * 1024,
  maxRecordsPerRequest: 5_000,
  maxQueuedEntries: 200_000,
};

/**
 * What the collector does with a record sent without a credential: `off` refuses the request
 * (401 `credential_required`), `asserted` keeps it as sent, attributed at most `asserted`.
 */
export type AnonymousIngest = 'off' | 'asserted';

export interface CollectorContext {
  readonly log: Log;
  readonly storage: LogStorage;
  readonly limits: CollectorLimits;
  /** Credentials, issuer and principals; without it the collector only records asserted identity. */
  readonly identity?: IdentityService;
  readonly alerts?: AlertLimiter;
  /** Detections over records as they arrive; alerts are written as `security.alert` records. */
  readonly detector?: Detector;
  /** The decision point and audit rules; without it records are kept as sent. */
  readonly policy?: PolicyService;
  /** Anonymous `POST /v1/events` and `/v1/traces`; default `asserted` (as before this option). */
  readonly anonymousIngest?: AnonymousIngest;
  /** Bearer token for the admin routes (principals); none disables them. */
  readonly adminToken?: string;
  /**
   * The deployment key (`<data>/audit-hmac.key`): keys the digests of content a rule redacts or
   * digests, the ids of reclaimed records and the digest naming an anonymous client.
   */
  readonly deploymentKey?: Uint8Array;
  readonly clock?: () => number;
  /** The checkpoint note for GET /v1/log/checkpoint, with witness cosignatures (witness/). */
  readonly cosignedCheckpoint?: () => string;
  /** Several collectors: this node's role and the ingest queue's depth, for health. */
  readonly cluster?: { status(): Promise<object> };
  /**
   * What makes the log unhealthy beyond its storage (health answers 503 `unhealthy` while any
   * is listed): a published checkpoint ahead of the tree, entries missing from it.
   */
  readonly logProblems?: () => readonly LogProblem[];
  /** Human sign-in through an OpenID provider (routes/signin.ts); none answers 404 there. */
  readonly signIn?: SignInService;
}

/** Something wrong with the stored log itself, as `GET /healthz` reports it. */
export interface LogProblem {
  /** `log_behind_witness` (appends refused) or `log_entries_missing` (a leaf's row is gone). */
  readonly code: 'log_behind_witness' | 'log_entries_missing';
  readonly message: string;
  readonly [detail: string]: unknown;
}
