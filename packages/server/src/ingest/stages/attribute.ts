import type { EventRecord } from '@provenant/core';
import { attribute } from '@provenant/identity';
import type {
  AttributionResult,
  PrincipalDirectory,
  VerifiedCredential,
} from '@provenant/identity';
import type { Draft, Parsed, Rejection } from '../draft.js';

/** Stage 2 on a collector without identity: identity is only ever claimed by the record itself. */
export function assertedAttribution({ record }: Parsed): Draft {
  return {
    ok: true,
    record,
    attribution: {
      level: record.initiator && record.actor ? 'asserted' : 'unattributed',
      reasons: [],
    },
  };
}

/**
 * Stage 2: compares the record with the request's verified credential (or none) and fills
 * `credential`, and `delegation`, initiator, actor where the record names none, from the
 * credential itself. A contradiction refuses the record and raises an alert naming the
 * credential's real holder.
 */
export function attributeWith(
  directory: PrincipalDirectory,
  skewSec: number,
  credential: VerifiedCredential | null,
): (parsed: Parsed) => Draft | Rejection {
  return ({ record }) => {
    const result = attribute(record, credential, directory, { skewSec });
    if (!result.ok) {
      return {
        ok: false,
        id: record.id,
        code: 'attribution_mismatch',
        message: result.message,
        alert: {
          code: 'attribution_mismatch',
          message: result.message,
          record,
          realHolder: result.realHolder,
        },
      };
    }
    return {
      ok: true,
      record: credential ? withCredential(record, credential, result) : record,
      attribution: { level: result.level, reasons: [...result.reasons] },
    };
  };
}

function withCredential(
  record: EventRecord,
  { claims, ancestors, idToken }: VerifiedCredential,
  result: Extract<AttributionResult, { ok: true }>,
): EventRecord {
  return {
    ...record,
    // `ancestors` (verified, root first) names each hop's parent credential, and `id_token` the
    // ID token a chain is rooted in: the OCSF export's `delegation.parent_uid` for the first hop.
    // Built afresh from the verified credential: whatever `credential` the producer sent is gone.
    credential: {
      jti: claims.jti,
      iss: claims.iss,
      iat: claims.iat,
      exp: claims.exp,
      ...(ancestors.length > 0 ? { ancestors: [...ancestors] } : {}),
      ...(idToken === undefined ? {} : { id_token: { iss: idToken.iss, jti: idToken.jti } }),
    },
    ...(!record.delegation && result.delegation ? { delegation: result.delegation } : {}),
    ...(!record.initiator && result.initiator ? { initiator: result.initiator } : {}),
    ...(!record.actor && result.actor ? { actor: result.actor } : {}),
  };
}
