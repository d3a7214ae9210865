/**
 * The collector as a receiver of Transaction Tokens (draft-ietf-oauth-transaction-tokens-10,
 * "'Txn-Token' HTTP Header", "Txn-Token Validation", Privacy → "Logging"): ingest, decisions
 * take a `Txn-Token` header (the MCP proxy's records and decisions carry the one its client sent),
 * verified against the configured Txn-Token Services; the record keeps its `txn` beside the trace id, the token's SHA-256 and the digest of
 * its `tctx`, never the token.
 */
import type { Correlation } from '@provenant/core';
import { CredentialError, TXN_TOKEN_HEADER, type VerifiedTxnToken } from '@provenant/identity';
import type { FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';

/**
 * The request's verified Txn-Token, or null when it sent none (or the collector trusts no
 * Txn-Token Service: the header is then not read, and nothing of it is recorded). More than one
 * value is `malformed_token` (the header holds exactly one Txn-Token); a token that fails
 * verification refuses the request (401, the verifier's code), as a bad credential does.
 */
export async function txnTokenOf(
  request: FastifyRequest,
  ctx: Pick<CollectorContext, 'identity'>,
): Promise<VerifiedTxnToken | null> {
  const verifier = ctx.identity?.txnTokens;
  const value = request.headers[TXN_TOKEN_HEADER];
  if (value === undefined || verifier === undefined) return null;
  if (typeof value !== 'string' || value.includes(',') || value.trim() === '') {
    throw new CredentialError('malformed_token', 'The Txn-Token header holds exactly one token.', {
      claim: 'Txn-Token',
    });
  }
  try {
    return await verifier.verify(value.trim());
  } catch (e) {
    if (e instanceof CredentialError) {
      throw new CredentialError(e.code, `Txn-Token: ${e.message}`, { ...e.details });
    }
    throw e;
  }
}

/** What a record keeps of a verified Txn-Token: `correlation`. */
export function correlationOf(t: VerifiedTxnToken): Correlation {
  return {
    txn: t.txn,
    txn_token: {
      digest: t.tokenDigest,
      iss: t.iss,
      sub: t.sub,
      req_wl: t.reqWl,
      ...(t.tctxDigest === undefined ? {} : { tctx_digest: t.tctxDigest }),
    },
  };
}
