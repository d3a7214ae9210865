/**
 * The record schema as JSON Schema (draft 2020-12), for producers that are not written in
 * TypeScript. Generated from the zod schema so the two cannot disagree; the published copy is
 * `schemas/provenant.event.v1.json` (`npm run write-json-schema -w @provenant/core`).
 */
import * as z from 'zod';
import { ARGS_BOUNDS, EVENT_SCHEMA, MAX_RECORD_BYTES, eventRecordSchema } from './event.js';

export const EVENT_JSON_SCHEMA_ID = 'https://provenant.dev/schemas/provenant.event.v1.json';

/** The JSON Schema of a `provenant.event/v1` record. A fresh object on every call. */
export function eventJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(eventRecordSchema, { target: 'draft-2020-12' });
  const { $schema, ...rest } = generated;
  // Identification first, so a reader of the file sees what it is before the properties.
  return {
    $schema,
    $id: EVENT_JSON_SCHEMA_ID,
    title: `${EVENT_SCHEMA} record`,
    description:
      'One Provenant audit record: which action happened, who initiated and executed it, the ' +
      'delegation and credential behind it, the policy decision and the outcome. Its hashed ' +
      'form is the RFC 8785 canonical JSON of the record without "integrity". "attribution" ' +
      'and "integrity" are set by the collector and the ledger: producers may omit them, and ' +
      'any values they send are discarded. Some rules are checked by the collector but not ' +
      `expressible here: "action.args" nesting depth at most ${ARGS_BOUNDS.maxDepth}, at most ` +
      `${ARGS_BOUNDS.maxArray} items in any array and ${ARGS_BOUNDS.maxKeys} keys in any object ` +
      'at every level, no "__proto__" key, strings without unpaired UTF-16 surrogates, and a ' +
      `canonical size of at most ${MAX_RECORD_BYTES} bytes.`,
    ...rest,
  };
}
