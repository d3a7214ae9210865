/**
 * How an error becomes the answer: its wire code and status (`errors.ts`), a 5xx logged by the
 * digest of its message (never request content), `WWW-Authenticate` on a 401. The collector's
 * routes answer `{ error: { code, message } }`; a route of another API's shape (AuthZEN) gives
 * its own body and keeps the code in `Provenant-Error-Code`.
 */
import { createHash } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toWireError } from './errors.js';
import type { WireError } from './errors.js';
import { fromFastifyError } from './fastify-errors.js';

/** The response header that names the stable error code when the body cannot. */
export const ERROR_CODE_HEADER = 'provenant-error-code';

export function answerError(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
  body?: (wire: WireError) => unknown,
): FastifyReply {
  const wire = fromFastifyError(error) ?? toWireError(error);
  if (wire.status >= 500) {
    // Never log request content; a digest of the message is enough to correlate.
    const digest = createHash('sha256').update(String(error.message)).digest('hex').slice(0, 16);
    request.log.error(
      { code: wire.body.error.code, digest, err_name: error.name },
      'request failed',
    );
  }
  if (wire.status === 401) {
    void reply.header(
      'www-authenticate',
      `Bearer error="invalid_token", error_description="${wire.body.error.code}"`,
    );
  }
  if (wire.headers) void reply.headers(wire.headers);
  if (body !== undefined) void reply.header(ERROR_CODE_HEADER, wire.body.error.code);
  return reply
    .code(wire.status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(body === undefined ? wire.body : body(wire)));
}
