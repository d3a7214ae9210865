/**
 * Turns a zod issue into what a producer needs to fix its record: the field's path and one
 * sentence saying what was expected there. Only runs on the failure path.
 */
import type * as z from 'zod';
import { formatJsonPath, type JsonPathSegment } from './json-path.js';

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  null: 'null',
};

export function describeIssue(
  issue: z.core.$ZodIssue,
  input: unknown,
): { path: string; message: string } {
  const segments = issue.path.filter(isSegment);

  if (issue.code === 'unrecognized_keys') {
    const owner = formatJsonPath(segments);
    const keys = issue.keys.map((key) => JSON.stringify(key));
    const subject = owner === '' ? 'The record' : owner;
    const what =
      keys.length === 1 ? `an unknown field ${keys[0]}` : `unknown fields ${keys.join(', ')}`;
    return {
      path: formatJsonPath([...segments, issue.keys[0] ?? '']),
      message: `${subject} has ${what}.`,
    };
  }

  const path = formatJsonPath(segments);
  const subject = path === '' ? 'The record' : path;
  return { path, message: `${subject} ${predicate(issue, segments, input)}.` };
}

function predicate(
  issue: z.core.$ZodIssue,
  segments: readonly JsonPathSegment[],
  input: unknown,
): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      const found = lookup(input, segments);
      if (!found.present) return `is required (${expected})`;
      return `must be ${expected}, not ${describeValue(found.value)}`;
    }
    case 'too_big':
      return issue.origin === 'string'
        ? `must be at most ${issue.maximum} characters long`
        : issue.origin === 'array'
          ? `must have at most ${issue.maximum} items`
          : `must be at most ${issue.maximum}`;
    case 'too_small':
      if (issue.origin === 'string') {
        return issue.minimum === 1
          ? 'must not be empty'
          : `must be at least ${issue.minimum} characters long`;
      }
      return issue.origin === 'array'
        ? `must have at least ${issue.minimum} items`
        : issue.inclusive === false
          ? `must be greater than ${issue.minimum}`
          : `must be at least ${issue.minimum}`;
    case 'invalid_value': {
      const expected =
        issue.values.length === 1
          ? JSON.stringify(issue.values[0])
          : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      return lookup(input, segments).present ? `must be ${expected}` : `is required (${expected})`;
    }
    case 'invalid_format':
    case 'custom':
      // The schema gives every pattern and refinement its own predicate as the message.
      return issue.message;
    default:
      return 'is not valid here';
  }
}

function isSegment(key: PropertyKey): key is JsonPathSegment {
  return typeof key === 'string' || typeof key === 'number';
}

/** The value at `segments`, telling a missing key apart from one explicitly set to undefined. */
function lookup(
  root: unknown,
  segments: readonly JsonPathSegment[],
): { present: boolean; value?: unknown } {
  let value = root;
  for (const segment of segments) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) {
      return { present: false };
    }
    value = (value as Record<string | number, unknown>)[segment];
  }
  return { present: true, value };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? `the number ${value}` : String(value);
    case 'object':
      return 'an object';
    case 'undefined':
      return 'undefined';
    default:
      return `a ${typeof value}`;
  }
}
