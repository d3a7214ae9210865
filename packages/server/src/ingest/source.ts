import { createHmac, randomBytes } from 'node:crypto';
import type { Attribution, AttributionLevel, EventRecord, PrincipalKind } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';

/**
 * Who sent a request's records, as far as the collector itself knows: what an alert about those
 * records names, and whose alert budget they spend. Never what the records claim.
 */
export interface IngestSource {
  /**
   * The credential's holder (the last of its chain), or `anonymous:<digest>` for a request
   * without one: the first 16 hex digits of HMAC-SHA256 of the client's address under the
   * deployment key, so the same client is one source and its address is not stored.
   */
  readonly id: string;
  /** Whether a verified credential names it. */
  readonly authenticated: boolean;
}

/** Used when a context has no deployment key (embedded apps, tests): stable per process only. */
const PROCESS_KEY = randomBytes(32);

/** The deployment key, or a key of this process where there is none. */
export function keyOf(deploymentKey: Uint8Array | undefined): Uint8Array {
  return deploymentKey ?? PROCESS_KEY;
}

export function sourceOf(
  credential: VerifiedCredential | null,
  clientAddress: string | undefined,
  deploymentKey: Uint8Array | undefined,
): IngestSource {
  if (credential) return { id: credential.chain.at(-1) ?? credential.subject, authenticated: true };
  const digest = createHmac('sha256', keyOf(deploymentKey))
    .update(`provenant.client/v1:${clientAddress ?? 'unknown'}`)
    .digest('hex')
    .slice(0, 16);
  return { id: `anonymous:${digest}`, authenticated: false };
}

/** What an alert about unverified input says instead of naming the principals the input claims. */
export interface UnverifiedInputAlert {
  /** The alert's actor: the source when a credential names it, else none. */
  readonly actor: EventRecord['actor'];
  /** Arguments added to the alert: the source, the input's level and its claims. */
  readonly args: Record<string, string>;
  /** Prefix of the alert's detail. */
  readonly detailPrefix: string;
  readonly attribution: Attribution;
}

/**
 * An alert caused by input below `verified` is attributed at the input's level (never
 * `verified`), names the input's source (never a principal the input claims, which go to
 * `claimed_*` arguments), and says so in its detail.
 */
export function unverifiedInputAlert(
  input: EventRecord,
  level: AttributionLevel,
  source: IngestSource,
  kindOf: (id: string) => PrincipalKind,
  reason: string,
): UnverifiedInputAlert {
  const args: Record<string, string> = {
    source: source.id,
    source_authenticated: String(source.authenticated),
    input_level: level,
  };
  if (input.initiator) args['claimed_initiator'] = input.initiator.id;
  if (input.actor) args['claimed_actor'] = input.actor.id;
  return {
    actor: source.authenticated ? { id: source.id, kind: kindOf(source.id) } : undefined,
    args,
    detailPrefix: `Unverified input (${level}) from ${source.id}; the principals it names are its claims: `,
    attribution: { level, reasons: [reason, 'unverified_input'] },
  };
}
