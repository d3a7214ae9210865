import { expect, it } from 'vitest';
import * as core from '../src/index.js';

it('exports exactly the public API', () => {
  expect(Object.keys(core).sort()).toEqual(
    [
      'ARGS_BOUNDS',
      'ATTRIBUTION_LEVELS',
      'CAUSE_KINDS',
      'CanonicalizationError',
      'EVENT_JSON_SCHEMA_ID',
      'EVENT_SCHEMA',
      'MAX_RECORD_BYTES',
      'PRINCIPAL_KINDS',
      'ProvenantError',
      'UUID_PATTERN',
      'canonicalBytes',
      'canonicalize',
      'checkJsonBounds',
      'digestOf',
      'eventJsonSchema',
      'eventRecordSchema',
      'fromBase64Strict',
      'fromHex',
      'isProvenantError',
      'isUuid',
      'parseEventRecord',
      'sha256',
      'sha256Hex',
      'toBase64',
      'toHex',
      'uuidv7',
      'uuidv7Time',
    ].sort(),
  );
});
