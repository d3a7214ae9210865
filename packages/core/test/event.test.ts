/* eslint-disable @typescript-eslint/no-explicit-any -- the tests edit records into deliberately ill-typed shapes */
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../src/canonical/jcs.js';
import {
  ATTRIBUTION_LEVELS,
  EVENT_SCHEMA,
  MAX_RECORD_BYTES,
  eventRecordSchema,
  parseEventRecord,
  type EventParseResult,
} from '../src/schema/event.js';
import { designExample, producerExample } from './fixtures.js';

type Failure = Extract<EventParseResult, { ok: false }>;

function failure(input: unknown): Failure {
  const result = parseEventRecord(input);
  if (result.ok) throw new Error('expected the record to be rejected');
  return result;
}

function accepted(input: unknown) {
  const result = parseEventRecord(input);
  if (!result.ok) throw new Error(`expected the record to be accepted: ${result.message}`);
  return result.record;
}

/** The producer example with one change made by `edit`. */
function withChange(edit: (record: Record<string, any>) => void): Record<string, unknown> {
  const record = producerExample() as Record<string, any>;
  edit(record);
  return record;
}

const minimal = () => ({
  schema: 'provenant.event/v1',
  id: '0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f',
  time: '2026-11-27T13:05:01Z',
  type: 'prompt.received',
});

describe('parseEventRecord accepts', () => {
  it('the DESIGN.md example, returning it unchanged apart from the collector fields', () => {
    const record = accepted(JSON.parse(JSON.stringify(designExample())));
    expect(record).toEqual(producerExample());
  });

  it('a record with only schema, id, time and type', () => {
    expect(accepted(minimal())).toEqual(minimal());
  });

  it('a record without initiator and actor (what the collector calls unattributed)', () => {
    const record = accepted(
      withChange((r) => {
        delete r.initiator;
        delete r.actor;
      }),
    );
    expect(record.initiator).toBeUndefined();
    expect(record.actor).toBeUndefined();
  });

  it('ids in uppercase, stored as given', () => {
    const id = '0192F3C4-5B6A-7C8D-9E0F-1A2B3C4D5E6F';
    expect(accepted({ ...minimal(), id }).id).toBe(id);
  });

  it.each([
    '2026-11-27T13:05:01Z',
    '2026-11-27T13:05:01.1Z',
    '2026-11-27T13:05:01.123456789Z',
    '2026-11-27T13:05:01+05:30',
    '2026-11-27T13:05:01.5-08:00',
    '2024-02-29T00:00:00Z',
    '2000-02-29T23:59:59Z',
    '2026-12-31T23:59:59-00:00',
  ])('the time %s', (time) => {
    expect(accepted({ ...minimal(), time }).time).toBe(time);
  });

  it('every attribution level name as a constant', () => {
    expect(ATTRIBUTION_LEVELS).toEqual(['verified', 'pooled', 'asserted', 'unattributed']);
    expect(EVENT_SCHEMA).toBe('provenant.event/v1');
    // A tlog-tiles entry bundle frames an entry with a uint16 length.
    expect(MAX_RECORD_BYTES).toBe(65535);
  });

  it('args exactly at the bounds: 16 levels, 1,000 items, 1,000 keys', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 15; i++) deep = { d: deep };
    const keys = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const args = { deep, items: Array.from({ length: 1000 }, (_, i) => i), keys: { ...keys } };
    // `keys` itself is at the limit; the top-level args object has 3 keys.
    const record = accepted(
      withChange((r) => {
        r.action.args = args;
      }),
    );
    expect(record.action?.args).toEqual(args);
  });

  it('outcome.error as null or as a code and message', () => {
    expect(
      accepted(
        withChange((r) => {
          r.outcome.error = null;
        }),
      ).outcome?.error,
    ).toBeNull();
    const error = { code: 'rate_limited', message: 'Too many requests.' };
    expect(
      accepted(
        withChange((r) => {
          r.outcome.error = error;
        }),
      ).outcome?.error,
    ).toEqual(error);
  });
});

describe('eventRecordSchema', () => {
  it('accepts the DESIGN.md example as served, with attribution and integrity', () => {
    expect(eventRecordSchema.parse(designExample())).toEqual(designExample());
  });

  it('refuses an integrity leaf hash that is not 64 lowercase hex digits', () => {
    const served = designExample();
    served.integrity.leaf_hash = `sha256:${served.integrity.leaf_hash}`;
    expect(eventRecordSchema.safeParse(served).success).toBe(false);
  });

  it('refuses an attribution level outside ATTRIBUTION_LEVELS', () => {
    const served = designExample();
    served.attribution.level = 'probably';
    expect(eventRecordSchema.safeParse(served).success).toBe(false);
  });
});

describe('parseEventRecord returns', () => {
  it('fresh plain data that shares nothing with the input', () => {
    const input = producerExample();
    const record = accepted(input);
    expect(record).not.toBe(input);
    expect(record.action).not.toBe(input.action);
    expect(record.action?.args).not.toBe(input.action.args);
    expect(record.delegation?.[0]?.scope).not.toBe(input.delegation[0]!.scope);
    input.action.args.repo = 'changed';
    expect(record.action?.args).toEqual({ repo: 'acme/payments' });
  });

  it('nested args copied deeply, with ordinary prototypes', () => {
    const inner = Object.create(null) as Record<string, unknown>;
    inner['x'] = [1, { y: 2 }];
    const input = withChange((r) => {
      r.action.args = { inner };
    });
    const record = accepted(input);
    const copy = record.action?.args?.['inner'] as Record<string, unknown>;
    expect(copy).not.toBe(inner);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy['x'] as unknown[])[1]).not.toBe((inner['x'] as unknown[])[1]);
    expect(copy).toEqual({ x: [1, { y: 2 }] });
  });

  it('a record that canonicalizes, whatever key order it came in', () => {
    const record = accepted(producerExample());
    const reversed = Object.fromEntries(Object.entries(producerExample()).reverse());
    expect(canonicalize(accepted(reversed))).toBe(canonicalize(record));
  });
});

describe('parseEventRecord drops collector-set fields', () => {
  it('removes attribution and integrity sent by a producer', () => {
    const record = accepted({
      ...minimal(),
      attribution: { level: 'verified', reasons: [] },
      integrity: { leaf_index: 1, leaf_hash: 'a'.repeat(64) },
    });
    expect(record).toEqual(minimal());
    expect('attribution' in record).toBe(false);
    expect('integrity' in record).toBe(false);
  });

  it('ignores even malformed values in those fields', () => {
    expect(accepted({ ...minimal(), attribution: 'trust me', integrity: 42 })).toEqual(minimal());
  });

  it('does not mutate the input', () => {
    const input = designExample();
    accepted(input);
    expect(input.attribution).toEqual({ level: 'verified', reasons: [] });
    expect(input.integrity.leaf_index).toBe(1234);
  });
});

describe('parseEventRecord rejects', () => {
  it.each<[string, unknown, string]>([
    ['an array', [minimal()], 'A record must be a JSON object, not an array.'],
    ['null', null, 'A record must be a JSON object, not null.'],
    [
      'a string',
      '{"schema":"provenant.event/v1"}',
      'A record must be a JSON object, not a string.',
    ],
    ['a Map', new Map(), 'A record must be a JSON object, not a non-plain object.'],
    ['undefined', undefined, 'A record must be a JSON object, not undefined.'],
  ])('%s with not_an_object', (_name, input, message) => {
    expect(failure(input)).toEqual({ ok: false, code: 'not_an_object', message });
  });

  it('a record without schema with unknown_schema', () => {
    const rest: Record<string, unknown> = minimal();
    delete rest['schema'];
    expect(failure(rest)).toEqual({
      ok: false,
      code: 'unknown_schema',
      path: 'schema',
      message: 'schema is required and must be "provenant.event/v1".',
    });
  });

  it.each([['provenant.event/v2'], ['Provenant.event/v1'], [1]])(
    'schema %j with unknown_schema',
    (schema) => {
      const result = failure({ ...minimal(), schema });
      expect(result.code).toBe('unknown_schema');
      expect(result.path).toBe('schema');
    },
  );

  it('names the unsupported schema in the message', () => {
    expect(failure({ ...minimal(), schema: 'provenant.event/v2' }).message).toBe(
      'schema "provenant.event/v2" is not supported; expected "provenant.event/v1".',
    );
  });

  it.each([
    ['not a uuid', 'not-a-uuid'],
    ['a uuid without hyphens', '0192f3c45b6a7c8d9e0f1a2b3c4d5e6f'],
    ['a number', 42],
  ])('an id that is %s with invalid_id', (_name, id) => {
    expect(failure({ ...minimal(), id }).code).toBe('invalid_id');
  });

  it('a missing id with invalid_id and a message saying it is required', () => {
    const rest: Record<string, unknown> = minimal();
    delete rest['id'];
    expect(failure(rest)).toEqual({
      ok: false,
      code: 'invalid_id',
      path: 'id',
      message: 'id is required (a string).',
    });
  });

  it.each([
    ['without seconds', '2026-11-27T13:05Z'],
    ['without an offset', '2026-11-27T13:05:01'],
    ['with a compact offset', '2026-11-27T13:05:01+0530'],
    ['with 10 fractional digits', '2026-11-27T13:05:01.1234567890Z'],
    ['with an empty fraction', '2026-11-27T13:05:01.Z'],
    ['on 30 February', '2026-02-30T00:00:00Z'],
    ['on 29 February of a common year', '2025-02-29T00:00:00Z'],
    ['on 29 February 1900', '1900-02-29T00:00:00Z'],
    ['on 31 April', '2026-04-31T00:00:00Z'],
    ['in month 13', '2026-13-01T00:00:00Z'],
    ['at hour 24', '2026-11-27T24:00:00Z'],
    ['at a leap second', '2026-12-31T23:59:60Z'],
    ['with a space instead of T', '2026-11-27 13:05:01Z'],
    ['with a lowercase z', '2026-11-27T13:05:01z'],
    ['as a date only', '2026-11-27'],
    ['as a number', 1795000000],
  ])('a time %s with invalid_time', (_name, time) => {
    expect(failure({ ...minimal(), time }).code).toBe('invalid_time');
  });

  it('a malformed time with a message saying what is expected', () => {
    expect(failure({ ...minimal(), time: 'yesterday' })).toEqual({
      ok: false,
      code: 'invalid_time',
      path: 'time',
      message:
        'time must be an RFC 3339 timestamp with seconds, at most 9 fractional digits, "Z" or a ' +
        'numeric offset, and a real calendar date.',
    });
  });

  it('an unknown top-level field with unknown_field', () => {
    expect(failure({ ...minimal(), colour: 'red' })).toEqual({
      ok: false,
      code: 'unknown_field',
      path: 'colour',
      message: 'The record has an unknown field "colour".',
    });
  });

  it('an unknown nested field with unknown_field and its full path', () => {
    expect(
      failure(
        withChange((r) => {
          r.delegation[1].extra = true;
        }),
      ),
    ).toEqual({
      ok: false,
      code: 'unknown_field',
      path: 'delegation[1].extra',
      message: 'delegation[1] has an unknown field "extra".',
    });
  });

  it('a "__proto__" key from JSON text with unknown_field, with or without collector fields', () => {
    const text = JSON.stringify(minimal()).replace(
      '{',
      '{"__proto__":{"actor":{"id":"user:x","kind":"human"}},',
    );
    expect(failure(JSON.parse(text)).code).toBe('unknown_field');
    const withAttribution = JSON.parse(text.replace('{', '{"attribution":{},')) as unknown;
    expect(failure(withAttribution).code).toBe('unknown_field');
  });

  it.each<[string, (r: Record<string, any>) => void, string, string]>([
    [
      'a type with capitals',
      (r) => {
        r.type = 'Tool.Called';
      },
      'type',
      'type must be a dotted lowercase name such as "tool.called".',
    ],
    [
      'a type without a dot',
      (r) => {
        r.type = 'called';
      },
      'type',
      'type must be a dotted lowercase name such as "tool.called".',
    ],
    [
      'a type over 128 characters',
      (r) => {
        r.type = `a.${'b'.repeat(127)}`;
      },
      'type',
      'type must be at most 128 characters long.',
    ],
    [
      'an unknown principal kind',
      (r) => {
        r.initiator.kind = 'robot';
      },
      'initiator.kind',
      'initiator.kind must be one of "human", "agent", "agent_instance", "service", "workflow", "service_account".',
    ],
    [
      'a principal id that is not a URI',
      (r) => {
        r.initiator.id = 'alice';
      },
      'initiator.id',
      'initiator.id must be a URI such as "user:alice" or "spiffe://example.org/agent/a/instance/1".',
    ],
    [
      'a principal id with a space',
      (r) => {
        r.actor.id = 'user:al ice';
      },
      'actor.id',
      'actor.id must be a URI such as "user:alice" or "spiffe://example.org/agent/a/instance/1".',
    ],
    [
      'a principal id over 1024 characters',
      (r) => {
        r.actor.id = `user:${'a'.repeat(1020)}`;
      },
      'actor.id',
      'actor.id must be at most 1024 characters long.',
    ],
    [
      'a missing actor kind',
      (r) => {
        delete r.actor.kind;
      },
      'actor.kind',
      'actor.kind is required (one of "human", "agent", "agent_instance", "service", "workflow", "service_account").',
    ],
    [
      'an unknown cause kind',
      (r) => {
        r.cause.kind = 'whim';
      },
      'cause.kind',
      'cause.kind must be one of "human_prompt", "agent_decision", "delegation", "workflow_trigger".',
    ],
    [
      'a cause record_id that is not a UUID',
      (r) => {
        r.cause.record_id = 'prompt-1';
      },
      'cause.record_id',
      'cause.record_id must be a UUID (8-4-4-4-12 hex digits).',
    ],
    [
      'a delegation that is not an array',
      (r) => {
        r.delegation = r.delegation[0];
      },
      'delegation',
      'delegation must be an array, not an object.',
    ],
    [
      'a scope that is a string',
      (r) => {
        r.delegation[1].scope = 'repo:read';
      },
      'delegation[1].scope',
      'delegation[1].scope must be an array, not a string.',
    ],
    [
      'an empty scope entry',
      (r) => {
        r.delegation[0].scope[1] = '';
      },
      'delegation[0].scope[1]',
      'delegation[0].scope[1] must not be empty.',
    ],
    [
      'a fractional iat',
      (r) => {
        r.credential.iat = 1795000000.5;
      },
      'credential.iat',
      'credential.iat must be an integer, not the number 1795000000.5.',
    ],
    [
      'a negative exp',
      (r) => {
        r.credential.exp = -1;
      },
      'credential.exp',
      'credential.exp must be at least 0.',
    ],
    [
      'an iat given as a string',
      (r) => {
        r.credential.iat = '1795000000';
      },
      'credential.iat',
      'credential.iat must be a number, not a string.',
    ],
    [
      'an unknown risk',
      (r) => {
        r.action.risk = 'extreme';
      },
      'action.risk',
      'action.risk must be one of "low", "medium", "high", "critical".',
    ],
    [
      'a class flag that is not a boolean',
      (r) => {
        r.action.class.privileged = 'yes';
      },
      'action.class.privileged',
      'action.class.privileged must be a boolean, not a string.',
    ],
    [
      'an uppercase digest',
      (r) => {
        r.action.args_digest = r.action.args_digest.toUpperCase();
      },
      'action.args_digest',
      'action.args_digest must be "sha256:" and 64 lowercase hex digits, or "hmac-sha256:", an 8-hex-digit key id, ":" and 64 lowercase hex digits.',
    ],
    [
      'a digest of another algorithm',
      (r) => {
        r.policy.policy_set = `sha512:${'a'.repeat(64)}`;
      },
      'policy.policy_set',
      'policy.policy_set must be "sha256:" followed by 64 lowercase hex digits.',
    ],
    [
      'args that are an array',
      (r) => {
        r.action.args = ['acme/payments'];
      },
      'action.args',
      'action.args must be an object, not an array.',
    ],
    [
      'args that are a string',
      (r) => {
        r.action.args = 'repo=acme';
      },
      'action.args',
      'action.args must be an object, not a string.',
    ],
    [
      'an unknown policy decision',
      (r) => {
        r.policy.decision = 'maybe';
      },
      'policy.decision',
      'policy.decision must be one of "allow", "deny".',
    ],
    [
      'an unknown outcome status',
      (r) => {
        r.outcome.status = 'done';
      },
      'outcome.status',
      'outcome.status must be one of "success", "error", "denied", "pending".',
    ],
    [
      'a negative duration',
      (r) => {
        r.outcome.duration_ms = -5;
      },
      'outcome.duration_ms',
      'outcome.duration_ms must be at least 0.',
    ],
    [
      'an outcome error that is a string',
      (r) => {
        r.outcome.error = 'boom';
      },
      'outcome.error',
      'outcome.error must be an object, not a string.',
    ],
    [
      'an uppercase trace id',
      (r) => {
        r.trace.trace_id = r.trace.trace_id.toUpperCase();
      },
      'trace.trace_id',
      'trace.trace_id must be 32 lowercase hex digits, not all zero.',
    ],
    [
      'an all-zero trace id',
      (r) => {
        r.trace.trace_id = '0'.repeat(32);
      },
      'trace.trace_id',
      'trace.trace_id must be 32 lowercase hex digits, not all zero.',
    ],
    [
      'a short span id',
      (r) => {
        r.trace.span_id = '00f067aa';
      },
      'trace.span_id',
      'trace.span_id must be 16 lowercase hex digits, not all zero.',
    ],
    [
      'a parent span id of trace-id length',
      (r) => {
        r.trace.parent_span_id = r.trace.trace_id;
      },
      'trace.parent_span_id',
      'trace.parent_span_id must be 16 lowercase hex digits, not all zero.',
    ],
    [
      'an empty task_id',
      (r) => {
        r.task_id = '';
      },
      'task_id',
      'task_id must not be empty.',
    ],
    [
      'a task_id over 1024 characters',
      (r) => {
        r.task_id = 't'.repeat(1025);
      },
      'task_id',
      'task_id must be at most 1024 characters long.',
    ],
    [
      'a missing source producer',
      (r) => {
        r.source = { host: 'h' };
      },
      'source.producer',
      'source.producer is required (a string).',
    ],
    [
      'a lone surrogate in a name',
      (r) => {
        r.actor.agent = 'research\ud800';
      },
      'actor.agent',
      'actor.agent must be well-formed Unicode (no unpaired UTF-16 surrogates).',
    ],
    [
      'a lone surrogate in a principal id',
      (r) => {
        r.initiator.id = 'user:\udc00';
      },
      'initiator.id',
      'initiator.id must be well-formed Unicode (no unpaired UTF-16 surrogates).',
    ],
    [
      'an optional field explicitly undefined',
      (r) => {
        r.session_id = undefined;
      },
      'session_id',
      'session_id must be a string, not undefined.',
    ],
    [
      'more than 32 delegation hops',
      (r) => {
        r.delegation = Array.from({ length: 33 }, () => r.delegation[0]);
      },
      'delegation',
      'delegation must have at most 32 items.',
    ],
  ])('%s with invalid_field', (_name, edit, path, message) => {
    expect(failure(withChange(edit))).toEqual({ ok: false, code: 'invalid_field', path, message });
  });

  it('args nested 17 levels deep with args_too_deep, before any schema recursion', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 16; i++) deep = { d: deep };
    const result = failure(
      withChange((r) => {
        r.action.args = { deep };
      }),
    );
    expect(result.code).toBe('args_too_deep');
    expect(result.path).toBe(`action.args.deep${'.d'.repeat(15)}`);
    expect(result.message).toBe(`${result.path} is nested deeper than 16 levels.`);
  });

  it('args nested 100,000 levels deep with args_too_deep instead of a stack overflow', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(
      failure(
        withChange((r) => {
          r.action.args = { deep };
        }),
      ).code,
    ).toBe('args_too_deep');
  });

  it('an args array of 1,001 items with args_too_large', () => {
    const result = failure(
      withChange((r) => {
        r.action.args = { list: new Array(1001).fill(0) };
      }),
    );
    expect(result).toEqual({
      ok: false,
      code: 'args_too_large',
      path: 'action.args.list',
      message: 'action.args.list has 1001 items, more than the limit of 1000.',
    });
  });

  it('an args object of 1,001 keys with args_too_large', () => {
    const args = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]));
    const result = failure(
      withChange((r) => {
        r.action.args = args;
      }),
    );
    expect([result.code, result.path]).toEqual(['args_too_large', 'action.args']);
  });

  it.each<[string, unknown, string]>([
    ['a NaN', { n: Number.NaN }, 'action.args.n'],
    ['a Date', { when: new Date(0) }, 'action.args.when'],
    ['undefined', { u: undefined }, 'action.args.u'],
    ['a lone surrogate', { s: ['\ud800'] }, 'action.args.s[0]'],
    ['a "__proto__" key', JSON.parse('{"a":{"__proto__":{"admin":true}}}'), 'action.args.a'],
  ])('args holding %s with invalid_field', (_name, args, path) => {
    const result = failure(
      withChange((r) => {
        r.action.args = args;
      }),
    );
    expect([result.code, result.path]).toEqual(['invalid_field', path]);
  });

  it('args under an action that is not a plain object, still checked first', () => {
    class ActionLike {
      name = 'x';
      args = { n: Number.NaN };
    }
    const result = failure({ ...minimal(), action: new ActionLike() });
    expect([result.code, result.path]).toEqual(['invalid_field', 'action.args.n']);
  });

  it('reports the first problem in schema order', () => {
    const result = failure({ ...minimal(), id: 'bad', time: 'bad', extra: 1 });
    expect(result.code).toBe('invalid_id');
  });
});
