import type { Attribution, EventRecord } from '@provenant/core';
import type { Prepared } from './draft.js';
import { assertedAttribution } from './stages/attribute.js';
import { parse } from './stages/parse.js';
import { seal } from './stages/seal.js';

/**
 * One input record through the pure stages (parse, asserted attribution, seal): what a collector
 * without identity or policy stores, and a check that a mapped record is valid.
 */
export function prepareRecord(input: unknown): Prepared {
  const parsed = parse(input);
  return parsed.ok ? seal(assertedAttribution(parsed)) : parsed;
}

/** A record the collector writes itself (witness records, alerts), with its own attribution. */
export function prepareOwnRecord(record: EventRecord, attribution: Attribution): Prepared {
  // Parsed like any input: a bug in the collector must not put an invalid record in the log.
  const parsed = parse(record);
  if (!parsed.ok)
    throw new Error(`collector built an invalid ${record.type} record: ${parsed.message}`);
  return seal({ ok: true, record: parsed.record, attribution });
}
