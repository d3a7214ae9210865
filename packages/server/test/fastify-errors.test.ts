import { errorCodes } from 'fastify';
import { describe, expect, it } from 'vitest';
import { FASTIFY_TO_WIRE, fromFastifyError, OTLP_FASTIFY_TO_WIRE } from '../src/fastify-errors.js';

/** Each fastify error the collector meets, and its wire answer on the JSON routes and on OTLP. */
const CASES: ReadonlyArray<{
  readonly name: string;
  readonly error: Error;
  readonly json: readonly [number, string, string] | null;
  readonly otlp: readonly [number, string, string] | null;
}> = [
  {
    name: 'FST_ERR_CTP_BODY_TOO_LARGE',
    error: new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(),
    json: [413, 'body_too_large', 'The request body is larger than the collector accepts.'],
    otlp: [413, 'body_too_large', 'The request body is larger than the collector accepts.'],
  },
  {
    name: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    error: new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/plain'),
    json: [415, 'unsupported_media_type', 'Unsupported Content-Type.'],
    otlp: [
      415,
      'unsupported_media_type',
      'Send OTLP traces as application/x-protobuf or application/json.',
    ],
  },
  {
    name: 'FST_ERR_CTP_EMPTY_JSON_BODY',
    error: new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(),
    json: [400, 'malformed_json', 'The request body is empty or its length is wrong.'],
    otlp: [400, 'malformed_otlp', 'The request could not be read.'],
  },
  {
    name: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
    error: new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(),
    json: [400, 'malformed_json', 'The request body is empty or its length is wrong.'],
    otlp: [400, 'malformed_otlp', 'The request could not be read.'],
  },
  {
    name: 'another 4xx (FST_ERR_BAD_URL)',
    error: new errorCodes.FST_ERR_BAD_URL('%zz'),
    json: [400, 'invalid_parameter', "'%zz' is not a valid url component"],
    otlp: [400, 'malformed_otlp', 'The request could not be read.'],
  },
  {
    name: 'a 405',
    error: Object.assign(new Error('nope'), { code: 'FST_ERR_X', statusCode: 405 }),
    json: [405, 'method_not_allowed', 'Method not allowed.'],
    otlp: [400, 'malformed_otlp', 'The request could not be read.'],
  },
  {
    name: 'a 5xx (FST_ERR_CTP_INVALID_TYPE)',
    error: new errorCodes.FST_ERR_CTP_INVALID_TYPE(),
    json: null,
    otlp: null,
  },
  {
    name: 'not a fastify error',
    error: Object.assign(new Error('x'), { code: 'ENOENT', statusCode: 400 }),
    json: null,
    otlp: null,
  },
];

function answer(error: Error, table: typeof FASTIFY_TO_WIRE) {
  const wire = fromFastifyError(error, table);
  return wire === null ? null : [wire.status, wire.body.error.code, wire.body.error.message];
}

describe('fastify errors on the wire', () => {
  it.each(CASES)('$name', ({ error, json, otlp }) => {
    expect(answer(error, FASTIFY_TO_WIRE)).toEqual(json);
    expect(answer(error, OTLP_FASTIFY_TO_WIRE)).toEqual(otlp);
  });
});
