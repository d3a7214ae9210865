export { ProvenantError, isProvenantError } from './errors.js';
export {
  canonicalize,
  canonicalBytes,
  CanonicalizationError,
  type CanonicalizationFailure,
} from './canonical/jcs.js';
export {
  ARGS_BOUNDS,
  ATTRIBUTION_LEVELS,
  CAUSE_KINDS,
  EVENT_SCHEMA,
  MAX_RECORD_BYTES,
  PRINCIPAL_KINDS,
  eventRecordSchema,
  parseEventRecord,
  type Action,
  type Actor,
  type Attribution,
  type AttributionLevel,
  type Cause,
  type Credential,
  type DelegationHop,
  type EventParseErrorCode,
  type EventParseResult,
  type EventRecord,
  type Integrity,
  type JsonValue,
  type Outcome,
  type PolicyRef,
  type Principal,
  type TraceContext,
} from './schema/event.js';
export {
  checkJsonBounds,
  type JsonBounds,
  type JsonBoundsResult,
  type JsonBoundsViolation,
} from './schema/json-bounds.js';
export { EVENT_JSON_SCHEMA_ID, eventJsonSchema } from './schema/json-schema.js';
export { UUID_PATTERN, isUuid, uuidv7, uuidv7Time } from './ids/uuidv7.js';
export {
  digestOf,
  fromBase64Strict,
  fromHex,
  sha256,
  sha256Hex,
  toBase64,
  toHex,
} from './digest.js';
