import { bearerToken } from '@provenant/core';
import type { VerifiedCredential } from '@provenant/identity';
import type { CollectorContext } from '../context.js';
import { RequestError } from '../errors.js';

/** The request's verified credential, or null when it sends none. A bad one refuses the request. */
export async function credentialOf(
  ctx: CollectorContext,
  authorization: string | undefined,
): Promise<VerifiedCredential | null> {
  if (authorization === undefined) return null;
  if (!ctx.identity) {
    throw new RequestError('invalid_credential', 'This collector does not accept credentials.');
  }
  const token = bearerToken(authorization);
  if (!token) {
    throw new RequestError('invalid_credential', 'Authorization must be "Bearer <credential>".');
  }
  return ctx.identity.verifier.verify(token);
}
