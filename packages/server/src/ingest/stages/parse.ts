import { parseEventRecord } from '@provenant/core';
import { LOCAL_TO_WIRE } from '../../errors.js';
import type { Parsed, Rejection } from '../draft.js';

/** Stage 1: the input against the record schema (`schema_invalid` and kin otherwise). */
export function parse(input: unknown): Parsed | Rejection {
  const parsed = parseEventRecord(input);
  if (parsed.ok) return { ok: true, record: parsed.record };
  return { ok: false, id: idOf(input), code: LOCAL_TO_WIRE[parsed.code], message: parsed.message };
}

/** The id an invalid input claims, to name it in the answer. */
function idOf(input: unknown): string | null {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const id = (input as Record<string, unknown>)['id'];
    if (typeof id === 'string' && id.length <= 64) return id;
  }
  return null;
}
