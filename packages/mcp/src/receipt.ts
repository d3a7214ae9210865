/**
 * The receipt the proxy puts in each gated call's result, under `_meta["io.provenant/receipt"]`:
 * which record holds the call's outcome, in which log, and the proxy's signed promise of it.
 *
 * ```json
 * { "record_id": "0193…", "log": "http://collector:7410", "log_origin": "provenant.example/log",
 *   "promise": "<compact JWS, EdDSA, by the proxy's agent key>" }
 * ```
 *
 * The promise is a JWS (RFC 7515, `alg: EdDSA`, `kid`: the proxy's principal) over
 * `{ iss, record_id, log, log_origin?, trace_id, iat }`, signed with the proxy's own agent key
 * (the one the collector registered it with). The outcome record is sent to the collector after
 * the answer (off the hot path), so a receipt names its record before the log has it: a client
 * turns it into a proof by fetching `GET {log}/v1/events/{record_id}/proof` (and the record, and
 * the signed checkpoint at `/v1/log/checkpoint`) once it is there, and verifying the inclusion.
 */
import { createPrivateKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const RECEIPT_META_KEY = 'io.provenant/receipt';

export interface Receipt {
  readonly record_id: string;
  readonly log: string;
  readonly log_origin?: string;
  readonly promise: string;
}

export interface ReceiptSigner {
  receipt(recordId: string, traceId: string): Receipt;
}

/** What a receipt is signed with: an agent identity's principal and Ed25519 private JWK. */
export interface ReceiptKey {
  readonly principal: string;
  readonly jwk: object;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const ORIGIN_RETRY_MS = 10_000;

/** Signs receipts for records sent to the collector at `log`. */
export function receiptSigner(
  identity: ReceiptKey,
  log: string,
  fetchFn: typeof fetch = fetch,
): ReceiptSigner {
  const key: KeyObject = createPrivateKey({ key: identity.jwk as never, format: 'jwk' });
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('Receipts are signed with an Ed25519 agent key.');
  }
  const base = log.replace(/\/+$/, '');
  const header = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: identity.principal }));
  let origin: string | undefined;
  let askedAt = -Infinity;
  /** The log's origin (its checkpoint's first line), asked for in the background. */
  const learnOrigin = () => {
    if (origin !== undefined || Date.now() - askedAt < ORIGIN_RETRY_MS) return;
    askedAt = Date.now();
    fetchFn(`${base}/v1/log/checkpoint`)
      .then(async (r) => {
        if (!r.ok) return;
        const first = (await r.text()).split('\n', 1)[0]?.trim();
        if (first) origin = first;
      })
      .catch(() => {});
  };
  learnOrigin();
  return {
    receipt(recordId, traceId) {
      learnOrigin();
      const claims = {
        iss: identity.principal,
        record_id: recordId,
        log: base,
        ...(origin !== undefined ? { log_origin: origin } : {}),
        trace_id: traceId,
        iat: Math.floor(Date.now() / 1000),
      };
      const input = `${header}.${b64url(JSON.stringify(claims))}`;
      const signature = sign(null, Buffer.from(input), key);
      return {
        record_id: recordId,
        log: base,
        ...(origin !== undefined ? { log_origin: origin } : {}),
        promise: `${input}.${b64url(signature)}`,
      };
    },
  };
}
