import type { Log, LogStorage } from '@provenant/ledger';
import type { AlertLimiter } from './identity/attributor.js';
import type { IdentityService } from './identity/service.js';
import type { AuthorizationService } from './signin/authorization.js';
import type { PolicyService } from './policy/service.js';
import type { Detector } from './investigate/detections.js';
import type { InvestigationWorker } from './investigate/worker-client.js';
import type { SignInService } from './signin/service.js';
import type { Role } from './access/roles.js';
import type { SessionStore } from './access/sessions.js';

export interface CollectorLimits {
  /** Largest request body, bytes. */
  readonly bodyLimit: number;
  readonly maxRecordsPerRequest: number;
  /** Entries waiting for commit above which ingest answers 503 with Retry-After. */
  readonly maxQueuedEntries: number;
  /**
   * Investigation reads (provenance, evidence, traces, coverage) run at once, and waiting beyond
   * them; past both, 503 `reads_busy` (investigate/gate.ts).
   */
  readonly maxActiveReads: number;
  readonly maxQueuedReads: number;
  /**
   * Requests with a body being read, parsed or ingested at once, and the bytes they declare
   * (a chunked body counts as `bodyLimit`); past either, 503 `overloaded` before the body is read.
   */
  readonly maxBodiesInFlight: number;
  readonly maxBodyBytesInFlight: number;
  /** Such requests on one connection (HTTP/1.1 pipelining); past it, 429 `rate_limited`. */
  readonly maxBodiesPerConnection: number;
  /** Such requests from one client address; past it, 429 `rate_limited`. 0: no cap. */
  readonly maxBodiesPerClient: number;
  /** Open connections; a connection past it is closed at once. */
  readonly maxConnections: number;
  /** Time for a request's headers to arrive, ms (then 408 and the connection is closed). */
  readonly headersTimeoutMs: number;
  /** Time for a whole request (headers and body) to arrive, ms. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept, ms. */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: CollectorLimits = {
  bodyLimit: 8 * 1024 * 1024,
  maxRecordsPerRequest: 5_000,
  maxQueuedEntries: 200_000,
  // One at a time: with the commit in its own thread ingest keeps both cores of a small host
  // busy, and a second read's SQLite and page work took cores from it (bench/reads.js: ingest
  // under 8 readers 0.57x with 2, 0.71x with 1; /healthz p99 104 -> 80 ms).
  maxActiveReads: 1,
  maxQueuedReads: 64,
  // Each body in flight is held as text, then as parsed and prepared records: about ten times
  // its size at its peak (a 5 MB batch ~45 MiB). Bytes decide for large bodies: one of the
  // largest at a time (or many small ones), since on two cores more large batches in flight
  // only lengthen the event loop's stalls (bench/overload.js: refusals answered p99 1.9 s at
  // one 5 MB body in flight, 3.9 s at two, 9.5 s at four).
  maxBodiesInFlight: 16,
  maxBodyBytesInFlight: 8 * 1024 * 1024,
  maxBodiesPerConnection: 1,
  maxBodiesPerClient: 0,
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  // Longer than the idle timeout of common load balancers (60 s), so they close first.
  keepAliveTimeoutMs: 65_000,
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
  /** Anonymous `POST /v1/events` and `/v1/traces`; default `off`. */
  readonly anonymousIngest?: AnonymousIngest;
  /** Bearer token for the admin routes (principals); none disables them. */
  readonly adminToken?: string;
  /**
   * The deployment key (`<data>/audit-hmac.key`): keys the digests of content a rule redacts or
   * digests, the ids of reclaimed records and the digest naming an anonymous client.
   */
  readonly deploymentKey?: Uint8Array;
  /** Console sessions; default in memory. */
  readonly sessions?: SessionStore;
  /** The console's development sign-in (`serve --dev-login`) and the roles it may hand out. */
  readonly devSignIn?: { readonly roles: readonly Role[] };
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
  /**
   * The authorization endpoint (`/v1/auth/authorize`) and its codes, for the CLI and MCP
   * clients; humans sign in there through `signIn`, or the dev sign-in under `--dev-login`.
   */
  readonly authorization?: AuthorizationService;
  /**
   * Where heavy investigation answers are built off the event loop (a SQLite ledger's worker
   * thread); none builds them on the loop, in slices.
   */
  readonly investigator?: InvestigationWorker;
}

/** Something wrong with the stored log itself, as `GET /healthz` reports it. */
export interface LogProblem {
  /** `log_behind_witness` (appends refused) or `log_entries_missing` (a leaf's row is gone). */
  readonly code: 'log_behind_witness' | 'log_entries_missing';
  readonly message: string;
  readonly [detail: string]: unknown;
}
