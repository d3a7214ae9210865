import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_JSON_SCHEMA_ID, eventJsonSchema } from '../src/schema/json-schema.js';

const committedPath = new URL('../../../schemas/provenant.event.v1.json', import.meta.url);

describe('eventJsonSchema', () => {
  it('matches the committed schemas/provenant.event.v1.json byte for byte', () => {
    // If this fails, regenerate: npm run write-json-schema -w @provenant/core
    const committed = readFileSync(committedPath, 'utf8');
    expect(committed).toBe(JSON.stringify(eventJsonSchema(), null, 2) + '\n');
  });

  it('identifies itself as draft 2020-12 with the published $id, a title and a description', () => {
    const schema = eventJsonSchema();
    expect(Object.keys(schema).slice(0, 4)).toEqual(['$schema', '$id', 'title', 'description']);
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe(EVENT_JSON_SCHEMA_ID);
    expect(EVENT_JSON_SCHEMA_ID).toBe('https://provenant.dev/schemas/provenant.event.v1.json');
    expect(schema['title']).toBe('provenant.event/v1 record');
  });

  it('documents the args bounds JSON Schema cannot express', () => {
    const { description } = eventJsonSchema() as { description: string };
    expect(description).toContain('nesting depth at most 16');
    expect(description).toContain('at most 1000 items in any array and 1000 keys in any object');
  });

  it('requires the envelope fields and refuses unknown ones', () => {
    const schema = eventJsonSchema() as { required: string[]; additionalProperties: boolean };
    expect(schema.required).toEqual(['schema', 'id', 'time', 'type']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('describes args as a JSON object through one named JsonValue definition', () => {
    const schema = eventJsonSchema() as {
      properties: { action: { properties: { args: Record<string, unknown> } } };
      $defs: Record<string, unknown>;
    };
    const args = schema.properties.action.properties.args;
    expect(args['type']).toBe('object');
    expect(args['additionalProperties']).toEqual({ $ref: '#/$defs/JsonValue' });
    expect(Object.keys(schema.$defs)).toEqual(['JsonValue']);
  });

  it('returns a fresh object on every call', () => {
    const a = eventJsonSchema();
    a['title'] = 'changed';
    expect(eventJsonSchema()['title']).toBe('provenant.event/v1 record');
  });
});
