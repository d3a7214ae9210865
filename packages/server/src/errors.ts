import { ProvenantError, isProvenantError } from '@provenant/core';
import type { EventParseErrorCode } from '@provenant/core';
import type {
  ClientAuthErrorCode,
  CredentialErrorCode,
  DelegationErrorCode,
  OAuthErrorCode,
  PrincipalErrorCode,
} from '@provenant/identity';
import type {
  EvidenceErrorCode,
  LogErrorCode,
  LogVerificationCode,
  MerkleErrorCode,
  NoteErrorCode,
  StorageErrorCode,
  TileErrorCode,
  WitnessErrorCode,
} from '@provenant/ledger';
import type { PolicyErrorCode } from '@provenant/policy';

/**
 * Every error code the collector puts on the wire, with its HTTP status. Local errors from the
 * packages below are mapped here, in one place; `docs/errors.md` lists the same codes (a test
 * keeps the two in sync).
 */
export const WIRE_ERRORS = {
  // request-level
  malformed_json: { status: 400, text: 'The body is not valid JSON or NDJSON.' },
  unsupported_media_type: {
    status: 415,
    text: 'Content-Type is not application/json or application/x-ndjson.',
  },
  body_too_large: { status: 413, text: 'The body exceeds the configured limit (default 8 MiB).' },
  too_many_records: {
    status: 413,
    text: 'More records in one request than the limit (default 5,000).',
  },
  empty_batch: { status: 400, text: 'The request holds no record.' },
  invalid_parameter: { status: 400, text: 'A query parameter is missing or malformed.' },
  invalid_cursor: { status: 400, text: 'The pagination cursor was not issued by this collector.' },
  not_found: { status: 404, text: 'No such record or route.' },
  record_queued: {
    status: 404,
    text: 'The record is acknowledged and queued; it is in the log within seconds.',
    retryAfterSec: 1,
  },
  method_not_allowed: { status: 405, text: 'The route does not accept this method.' },
  // AuthZEN Authorization API facade (POST /access/v1/evaluation, /evaluations)
  invalid_evaluation_request: {
    status: 400,
    text: 'The body is not an AuthZEN evaluation request (subject, action, resource).',
  },
  invalid_request_id: { status: 400, text: 'X-Request-ID is not 1-256 visible ASCII characters.' },
  subject_mismatch: {
    status: 403,
    text: "The subject the PEP names is not the credential's actor or subject.",
  },
  tree_size_out_of_range: { status: 400, text: 'The tree size is 0 or larger than the log.' },
  leaf_index_out_of_range: { status: 400, text: 'The record is not in a tree of that size.' },
  invalid_tile_path: { status: 404, text: 'Not a canonical tlog-tiles path.' },
  unsupported_export_format: { status: 400, text: 'The export format is not jsonl or ocsf.' },
  // OTLP/HTTP receiver (POST /v1/traces), answered as google.rpc.Status
  malformed_protobuf: {
    status: 400,
    text: 'The body is not a protobuf ExportTraceServiceRequest (or not valid gzip).',
  },
  malformed_otlp: {
    status: 400,
    text: 'The JSON body is not an OTLP/JSON ExportTraceServiceRequest.',
  },
  unsupported_encoding: { status: 415, text: 'Content-Encoding is neither gzip nor identity.' },
  decompressed_too_large: {
    status: 413,
    text: 'The gzip body decompresses to more than the body limit (default 8 MiB).',
  },
  // investigation (provenance, evidence, traces, coverage)
  invalid_trace_id: {
    status: 400,
    text: 'The trace id is not 32 lowercase hex digits (not all zero).',
  },
  invalid_time_range: { status: 400, text: '`from` is not before `to`.' },
  unknown_measure: { status: 400, text: 'Not a measure of the coverage report (see its `links`).' },
  not_an_action: {
    status: 422,
    text: 'The record is a witness record (credential, decision, alert), not an action.',
  },
  overloaded: {
    status: 503,
    text: 'Too many requests in flight or the sequencer queue is full; retry after Retry-After.',
    retryAfterSec: 1,
  },
  reads_busy: {
    status: 503,
    text: 'As many investigation reads run and wait as the collector allows; retry after Retry-After.',
    retryAfterSec: 1,
  },
  rate_limited: {
    status: 429,
    text: 'This client or connection has as many requests in flight as it may; retry after Retry-After.',
    retryAfterSec: 1,
  },
  // transport: checked before anything else (DNS rebinding, cross-site requests)
  host_not_allowed: { status: 403, text: 'The Host header is not a name this server answers to.' },
  origin_not_allowed: {
    status: 403,
    text: 'The Origin header is not the server’s own or an allowed origin.',
  },
  storage_unavailable: {
    status: 503,
    text: 'The ledger storage cannot be written or read now; retry after the Retry-After delay.',
    retryAfterSec: 2,
  },
  storage_full: {
    status: 507,
    text: 'The disk holding the ledger is full; retry after the Retry-After delay.',
    retryAfterSec: 10,
  },
  storage_conflict: {
    status: 503,
    text: 'Another writer changed the ledger; retry.',
    retryAfterSec: 1,
  },
  storage_corrupt: { status: 500, text: 'The stored ledger contradicts itself; verify it.' },

  log_closed: { status: 503, text: 'The collector is shutting down.' },
  log_entries_missing: {
    status: 503,
    text: 'An entry the signed checkpoint covers is missing from the ledger; restore it from a backup.',
  },
  log_behind_witness: {
    status: 503,
    text: 'A published checkpoint (cosigned-checkpoint or a witness) is ahead of the stored log or forks from it; appends are refused until the missing entries are restored.',
  },
  engine_error: { status: 500, text: 'The policy engine failed to evaluate a recorded request.' },
  internal_error: { status: 500, text: 'An unexpected error; the collector logged its digest.' },
  // credentials (Authorization: Bearer on ingest and decisions)
  invalid_credential: {
    status: 401,
    text: 'The Authorization header is not "Bearer <credential>".',
  },
  token_too_large: { status: 401, text: 'The credential is larger than any Provenant credential.' },
  malformed_token: { status: 401, text: 'The credential is not a well-formed JWT.' },
  unsupported_alg: {
    status: 401,
    text: 'The credential is signed with an algorithm that is not accepted (only EdDSA, ES256).',
  },
  unknown_kid: { status: 401, text: 'The credential names a key the issuer does not have.' },
  bad_signature: { status: 401, text: 'The credential signature does not verify.' },
  expired: { status: 401, text: 'The credential has expired.' },
  not_yet_valid: { status: 401, text: 'The credential is not valid yet (nbf/iat in the future).' },
  wrong_audience: { status: 401, text: 'The credential is not for this audience.' },
  wrong_issuer: {
    status: 401,
    text: 'The credential comes from an issuer this collector does not trust.',
  },
  revoked: { status: 401, text: 'The credential, or one it derives from, was revoked.' },
  act_too_deep: { status: 401, text: 'The credential act chain is deeper than allowed.' },
  missing_claim: { status: 401, text: 'The credential lacks a required claim.' },
  principal_unknown: {
    status: 401,
    text: 'The credential names a principal that is not registered.',
  },
  principal_disabled: { status: 401, text: 'The credential names a disabled principal.' },
  key_retired: {
    status: 401,
    text: 'The credential is signed with an issuer key retired before it was issued.',
  },
  wrong_typ: {
    status: 401,
    text: 'The token\'s "typ" header is not the one its kind must carry (at+jwt, txntoken+jwt).',
  },
  txn_token_misplaced: {
    status: 401,
    text: 'A Txn-Token was sent as Authorization: Bearer; it belongs in the Txn-Token header.',
  },
  keys_unavailable: {
    status: 503,
    text: 'The keys of a trusted issuer cannot be read now; retry.',
  },
  credential_required: {
    status: 401,
    text: 'The route needs a credential (Authorization: Bearer) and none was sent.',
  },
  route_unlisted: {
    status: 403,
    text: 'The route has no row in the route table, so it is refused to everyone.',
  },
  csrf_failed: {
    status: 403,
    text: 'A console request that changes state lacks its session CSRF token or same origin.',
  },
  role_not_allowed: { status: 403, text: 'The dev sign-in may not hand out that role.' },
  sign_in_rate_limited: {
    status: 429,
    text: 'Too many sign-in attempts; retry after the Retry-After delay.',
    retryAfterSec: 60,
  },
  admin_required: { status: 401, text: 'The route needs the admin token.' },
  invalid_principal: { status: 400, text: 'The principal is malformed (kind, id form, keys).' },
  // human sign-in through an OpenID provider (/v1/auth/*)
  signin_not_configured: {
    status: 404,
    text: 'The collector has no OpenID provider configured for sign-in.',
  },
  signin_state_missing: {
    status: 400,
    text: 'No sign-in is in progress in this browser (cookie missing, expired or not ours).',
  },
  signin_state_mismatch: {
    status: 400,
    text: 'The callback does not answer the sign-in this browser started (state).',
  },
  signin_refused: {
    status: 403,
    text: 'The OpenID provider refused the sign-in (e.g. access_denied).',
  },
  signin_code_rejected: {
    status: 400,
    text: 'The provider refused the authorization code (replayed, expired, or PKCE mismatch).',
  },
  signin_id_token_invalid: {
    status: 401,
    text: 'The ID token failed validation (signature, iss, aud, exp, nonce) or names no user.',
  },
  signin_provider_unavailable: {
    status: 503,
    text: 'The OpenID provider cannot be reached or answered unexpectedly; retry.',
    retryAfterSec: 5,
  },
  role_required: { status: 403, text: 'The caller holds none of the roles the route needs.' },
  session_required: { status: 401, text: 'No console session; sign in first.' },
  // the authorization endpoint (GET /v1/auth/authorize): refusals it cannot send to the client
  client_unknown: {
    status: 400,
    text: 'The client_id is neither provenant-cli nor the https URL of a client metadata document.',
  },
  client_metadata_unavailable: {
    status: 400,
    text: "The client's metadata document cannot be fetched (status, redirect, type, size, time).",
  },
  client_metadata_address_refused: {
    status: 400,
    text: "The client's metadata document is on a loopback, private or reserved address.",
  },
  client_metadata_invalid: {
    status: 400,
    text: "The client's metadata document is invalid (client_id not its URL, redirect_uris, secret).",
  },
  redirect_uri_unregistered: {
    status: 400,
    text: 'The redirect_uri is not one the client registered; the collector does not redirect there.',
  },
  // witness (`provenant witness`, C2SP tlog-witness POST /add-checkpoint)
  malformed_add_checkpoint: {
    status: 400,
    text: 'The body is not `old <size>`, proof lines, a blank line and a signed checkpoint.',
  },
  log_signature_invalid: {
    status: 403,
    text: 'The checkpoint is not signed by a key the witness knows for that log.',
  },
  unknown_log: { status: 404, text: 'The witness is not configured for the checkpoint origin.' },
  old_size_mismatch: {
    status: 409,
    text: '`old` is not the size the witness last cosigned (body: that size, text/x.tlog.size).',
  },
  consistency_proof_failed: {
    status: 422,
    text: 'The consistency proof from the cosigned checkpoint does not verify.',
  },
  // per-record (appear in `rejected[]` of an ingest answer)
  not_an_object: { status: 422, text: 'A record is not a JSON object.' },
  unknown_schema: { status: 422, text: 'The `schema` field is missing or not provenant.event/v1.' },
  invalid_id: { status: 422, text: 'The `id` is not a UUID.' },
  invalid_time: { status: 422, text: 'A time is not an RFC 3339 timestamp.' },
  invalid_field: { status: 422, text: 'A field has the wrong type or form.' },
  unknown_field: { status: 422, text: 'A field not in provenant.event/v1.' },
  args_too_deep: { status: 422, text: '`action.args` nests deeper than allowed.' },
  args_too_large: { status: 422, text: '`action.args` holds too large an array or object.' },
  record_too_large: { status: 422, text: 'The canonical record exceeds 65,535 bytes.' },
  not_canonicalizable: { status: 422, text: 'The record holds a value RFC 8785 cannot encode.' },
  id_conflict: { status: 409, text: 'The id is already stored with other content.' },
  attribution_mismatch: {
    status: 422,
    text: 'The record contradicts its credential; a security.alert was written.',
  },
  invalid_span: {
    status: 422,
    text: 'A GenAI span has malformed ids or no start time (OTLP partial success).',
  },
  attribution_required: {
    status: 422,
    text: 'The action class needs a higher attribution level (a credential).',
  },
  decision_mismatch: {
    status: 422,
    text: 'A privileged, irreversible or external action differs from the decision it cites.',
  },
  decision_expired: {
    status: 422,
    text: 'A privileged, irreversible or external action cites a decision past its validity.',
  },
  decision_reused: {
    status: 422,
    text: "A privileged or irreversible decision already backs another action's records.",
  },
} as const satisfies Record<string, WireErrorSpec>;

interface WireErrorSpec {
  readonly status: number;
  readonly text: string;
  /** Sent as `Retry-After` (seconds) with the error: the condition is expected to pass. */
  readonly retryAfterSec?: number;
}

export type WireErrorCode = keyof typeof WIRE_ERRORS;

export interface WireError {
  readonly status: number;
  readonly body: { error: { code: string; message: string } };
  /** Headers to answer with, e.g. `retry-after`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export function wireError(code: WireErrorCode, message: string): WireError {
  const spec: WireErrorSpec = WIRE_ERRORS[code];
  const wire = { status: spec.status, body: { error: { code, message } } };
  return spec.retryAfterSec === undefined
    ? wire
    : { ...wire, headers: { 'retry-after': String(spec.retryAfterSec) } };
}

/**
 * Every code the packages below the collector raise: the typed unions of their error classes,
 * and the few codes raised as a plain `ProvenantError`.
 */
export type LocalErrorCode =
  | EventParseErrorCode
  | 'not_canonicalizable' // core CanonicalizationError
  | 'invalid_id' // core uuidv7Time
  | 'invalid_base64' // core fromBase64Strict
  | 'invalid_hex' // core fromHex
  | CredentialErrorCode
  | PrincipalErrorCode
  | ClientAuthErrorCode
  | DelegationErrorCode
  | OAuthErrorCode
  | 'replay_cache_full' // identity ReplayCache
  | LogErrorCode
  | StorageErrorCode
  | TileErrorCode
  | MerkleErrorCode
  | NoteErrorCode
  | WitnessErrorCode
  | EvidenceErrorCode
  | LogVerificationCode
  | PolicyErrorCode;

/**
 * The wire code each local code answers as. The compiler refuses a local code missing here, so a
 * new one is a decision: a code a client can act on gets its wire code (and a row in
 * `docs/errors.md`); a bug, or a failure a client can do nothing about, is `internal_error`,
 * whose message never leaves the collector. `docs/errors.md` lists this table (a test checks).
 */
export const LOCAL_TO_WIRE = {
  // core: per-record refusals (`rejected[]` of an ingest answer)
  not_an_object: 'not_an_object',
  unknown_schema: 'unknown_schema',
  invalid_id: 'invalid_id',
  invalid_time: 'invalid_time',
  invalid_field: 'invalid_field',
  unknown_field: 'unknown_field',
  args_too_deep: 'args_too_deep',
  args_too_large: 'args_too_large',
  not_canonicalizable: 'not_canonicalizable',
  invalid_base64: 'internal_error',
  invalid_hex: 'internal_error',
  // identity: a bearer credential refused (401) or its issuer's keys out of reach (503)
  token_too_large: 'token_too_large',
  malformed_token: 'malformed_token',
  unsupported_alg: 'unsupported_alg',
  unknown_kid: 'unknown_kid',
  bad_signature: 'bad_signature',
  expired: 'expired',
  not_yet_valid: 'not_yet_valid',
  wrong_audience: 'wrong_audience',
  wrong_issuer: 'wrong_issuer',
  revoked: 'revoked',
  act_too_deep: 'act_too_deep',
  missing_claim: 'missing_claim',
  principal_unknown: 'principal_unknown',
  principal_disabled: 'principal_disabled',
  keys_unavailable: 'keys_unavailable',
  key_retired: 'key_retired',
  wrong_typ: 'wrong_typ',
  txn_token_misplaced: 'txn_token_misplaced',
  invalid_principal: 'invalid_principal',
  // identity: the token endpoint answers these as RFC 6749 errors itself (routes/token.ts)
  invalid_client: 'internal_error',
  assertion_replayed: 'internal_error',
  assertion_expired: 'internal_error',
  invalid_scope: 'internal_error',
  chain_too_deep: 'internal_error',
  delegation_cycle: 'internal_error',
  may_act_refused: 'internal_error',
  subject_expired: 'internal_error',
  invalid_lifetime: 'internal_error',
  invalid_request: 'internal_error',
  invalid_grant: 'internal_error',
  unauthorized_client: 'internal_error',
  unsupported_grant_type: 'internal_error',
  invalid_target: 'internal_error',
  temporarily_unavailable: 'internal_error',
  replay_cache_full: 'internal_error',
  token_replayed: 'internal_error',
  invalid_spiffe_id: 'internal_error',
  unknown_trust_domain: 'internal_error',
  spiffe_id_not_allowed: 'internal_error',
  lifetime_too_long: 'internal_error',
  grant_replayed: 'internal_error',
  client_mismatch: 'internal_error',
  subject_transcribed: 'internal_error',
  // ledger: the log and its storage
  tree_size_out_of_range: 'tree_size_out_of_range',
  leaf_index_out_of_range: 'leaf_index_out_of_range',
  log_closed: 'log_closed',
  log_inconsistent: 'internal_error',
  log_key_mismatch: 'internal_error',
  log_behind_witness: 'log_behind_witness',
  log_not_sequencer: 'internal_error',
  promise_malformed: 'internal_error',
  storage_conflict: 'storage_conflict',
  storage_corrupt: 'storage_corrupt',
  storage_checkpoint_conflict: 'internal_error',
  storage_no_queue: 'internal_error',
  storage_unavailable: 'storage_unavailable',
  storage_full: 'storage_full',
  storage_read_only: 'internal_error',
  invalid_tile_path: 'invalid_tile_path',
  // ledger: Merkle proofs, signed notes, witnessing, evidence and offline verification
  bad_size: 'internal_error',
  index_out_of_range: 'internal_error',
  bad_hash_size: 'internal_error',
  invalid_proof: 'internal_error',
  root_mismatch: 'internal_error',
  bad_frontier: 'internal_error',
  bad_plan: 'internal_error',
  malformed_note: 'internal_error',
  unverified_note: 'internal_error',
  invalid_signature: 'internal_error',
  ambiguous_verifier: 'internal_error',
  invalid_verifier_key: 'internal_error',
  invalid_signer_key: 'internal_error',
  invalid_key_name: 'internal_error',
  invalid_note_text: 'internal_error',
  invalid_checkpoint: 'internal_error',
  malformed_add_checkpoint: 'malformed_add_checkpoint',
  invalid_cosigner_key: 'internal_error',
  invalid_cosignature: 'internal_error',
  witness_policy_unmet: 'internal_error',
  malformed_bundle: 'internal_error',
  bad_checkpoint_signature: 'internal_error',
  wrong_key: 'internal_error',
  bad_record: 'internal_error',
  leaf_mismatch: 'internal_error',
  inclusion_failed: 'internal_error',
  bad_tlog_proof: 'internal_error',
  join_mismatch: 'internal_error',
  narrative_mismatch: 'internal_error',
  checks_mismatch: 'internal_error',
  bad_checkpoint: 'internal_error',
  key_changed: 'internal_error',
  missing_entry: 'internal_error',
  leaf_hash_mismatch: 'internal_error',
  subtree_mismatch: 'internal_error',
  unsigned_entries: 'internal_error',
  log_truncated: 'internal_error',
  inconsistent_with_known: 'internal_error',
  // policy
  engine_error: 'engine_error',
  invalid_policy_set: 'internal_error',
  policy_folder_unreadable: 'internal_error',
  invalid_audit_rules: 'internal_error',
  invalid_action_catalog: 'internal_error',
} as const satisfies Record<LocalErrorCode, WireErrorCode>;

/** Maps any thrown value to a wire error; unknown errors never leak their message. */
export function toWireError(e: unknown): WireError {
  if (isProvenantError(e)) {
    const code =
      e instanceof RequestError
        ? e.code
        : Object.hasOwn(LOCAL_TO_WIRE, e.code)
          ? LOCAL_TO_WIRE[e.code as LocalErrorCode]
          : 'internal_error';
    if (code !== 'internal_error') return wireError(code, e.message);
  }
  return wireError('internal_error', 'The collector hit an unexpected error.');
}

/** An error raised by route code that is meant for the client as it is. */
export class RequestError extends ProvenantError {
  declare readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string) {
    super(code, message);
  }
}
