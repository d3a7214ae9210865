/**
 * The first checks every request passes (an `onRequest` hook, registered before authentication
 * and roles): its `Host` and `Origin` (DNS rebinding, cross-site requests), then admission of
 * its body (./admission.ts). A refused request is answered from its headers alone: nothing of
 * its body is read or parsed, no credential is checked. Over TLS every answer carries HSTS.
 */
import { hostRefusal } from '@provenant/core/vocabulary';
import type { HostRule } from '@provenant/core/vocabulary';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RequestError } from '../errors.js';
import type { Admission } from './admission.js';

/** A year; no `includeSubDomains`: other services may share the collector's domain. */
export const HSTS = 'max-age=31536000';

export interface TransportGuardOptions {
  readonly hosts: HostRule;
  readonly admission: Admission;
  /** The body limit: a larger declared body is refused by fastify (413) without being read. */
  readonly bodyLimit: number;
  /** Served over TLS: answer with `Strict-Transport-Security`. */
  readonly tls: boolean;
}

export function transportGuards(app: FastifyInstance, o: TransportGuardOptions): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (o.tls) void reply.header('strict-transport-security', HSTS);
    const { host, origin } = request.headers;
    const refusal = hostRefusal(o.hosts, host, origin);
    if (refusal === 'host_not_allowed') {
      done(
        new RequestError(
          refusal,
          `Host ${JSON.stringify((host ?? '').slice(0, 100))} is not a name this collector answers to (see serve --allowed-hosts).`,
        ),
      );
      return;
    }
    if (refusal === 'origin_not_allowed') {
      done(
        new RequestError(
          refusal,
          `Origin ${JSON.stringify((origin ?? '').slice(0, 100))} may not call this collector (see serve --allowed-origins).`,
        ),
      );
      return;
    }
    const declared = bodyLength(request);
    if (declared === null || (declared !== undefined && declared > o.bodyLimit)) {
      done();
      return;
    }
    const admitted = o.admission.admit(request.ip, request.raw.socket, declared);
    if (typeof admitted === 'string') {
      // The connection ends with the answer: reading and dropping the body the client still
      // sends would cost the collector as much as the requests it admitted.
      void reply.header('connection', 'close');
      done(
        new RequestError(
          admitted,
          admitted === 'overloaded'
            ? 'The collector is reading as many requests as it is sized for; retry after the Retry-After delay.'
            : 'This client has as many requests in flight as it may; retry after the Retry-After delay.',
        ),
      );
      return;
    }
    // Given back once the answer is sent, or the connection is gone before that.
    reply.raw.once('close', admitted);
    done();
  });
}

/** The declared body length; undefined: a body of unknown length (chunked); null: none. */
function bodyLength(request: FastifyRequest): number | undefined | null {
  const length = request.headers['content-length'];
  if (length !== undefined) {
    const n = Number(length);
    return Number.isFinite(n) && n > 0 ? n : null;
  }
  return request.headers['transfer-encoding'] === undefined ? null : undefined;
}
