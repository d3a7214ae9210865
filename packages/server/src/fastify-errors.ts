/**
 * What an error fastify raises itself (`FST_ERR_*`: body too large, bad content type, …) is on the
 * wire. One table for the collector's routes; a route family with its own wire vocabulary (OTLP)
 * passes an override of it to the same function.
 */
import type { FastifyErrorCodes } from 'fastify';
import { wireError } from './errors.js';
import type { WireError, WireErrorCode } from './errors.js';

export type FastifyErrorCode = keyof FastifyErrorCodes;

/** A wire answer; `message: null` passes fastify's own message through. */
export interface FastifyWireAnswer {
  readonly code: WireErrorCode;
  readonly message: string | null;
}

export interface FastifyWireTable {
  /** Fastify codes answered the same whatever their status. */
  readonly named: Partial<Record<FastifyErrorCode, FastifyWireAnswer>>;
  /** Any other `FST_ERR_*` with status 405. */
  readonly methodNotAllowed: FastifyWireAnswer;
  /** Any other `FST_ERR_*` with a 4xx status; 5xx ones are internal errors (left to the caller). */
  readonly otherClientError: FastifyWireAnswer;
}

const BODY_TOO_LARGE: FastifyWireAnswer = {
  code: 'body_too_large',
  message: 'The request body is larger than the collector accepts.',
};

/** The collector's JSON routes. */
export const FASTIFY_TO_WIRE: FastifyWireTable = {
  named: {
    FST_ERR_CTP_BODY_TOO_LARGE: BODY_TOO_LARGE,
    FST_ERR_CTP_INVALID_MEDIA_TYPE: {
      code: 'unsupported_media_type',
      message: 'Unsupported Content-Type.',
    },
    FST_ERR_CTP_EMPTY_JSON_BODY: {
      code: 'malformed_json',
      message: 'The request body is empty or its length is wrong.',
    },
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
      code: 'malformed_json',
      message: 'The request body is empty or its length is wrong.',
    },
  },
  methodNotAllowed: { code: 'method_not_allowed', message: 'Method not allowed.' },
  otherClientError: { code: 'invalid_parameter', message: null },
};

const OTLP_UNREADABLE: FastifyWireAnswer = {
  code: 'malformed_otlp',
  message: 'The request could not be read.',
};

/** The OTLP receiver: exporters get OTLP's own codes, and no JSON-route hints. */
export const OTLP_FASTIFY_TO_WIRE: FastifyWireTable = {
  named: {
    FST_ERR_CTP_BODY_TOO_LARGE: BODY_TOO_LARGE,
    FST_ERR_CTP_INVALID_MEDIA_TYPE: {
      code: 'unsupported_media_type',
      message: 'Send OTLP traces as application/x-protobuf or application/json.',
    },
  },
  methodNotAllowed: OTLP_UNREADABLE,
  otherClientError: OTLP_UNREADABLE,
};

/** The wire answer for a fastify-raised error, or null if `error` is not one `table` answers. */
export function fromFastifyError(
  error: unknown,
  table: FastifyWireTable = FASTIFY_TO_WIRE,
): WireError | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('FST_ERR')) return null;
  const named = Object.hasOwn(table.named, code)
    ? table.named[code as FastifyErrorCode]
    : undefined;
  const status = (error as { statusCode?: number }).statusCode ?? 500;
  const answer =
    named ??
    (status === 405
      ? table.methodNotAllowed
      : status >= 400 && status < 500
        ? table.otherClientError
        : null);
  if (answer === null) return null;
  return wireError(answer.code, answer.message ?? (error as Error).message);
}
