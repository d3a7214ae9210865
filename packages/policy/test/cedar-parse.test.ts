import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { idAnnotation } from '../src/engines/cedar/parse.js';

describe('idAnnotation', () => {
  const policies = [
    'permit (principal, action, resource);',
    '@id("plain") permit (principal, action, resource);',
    '// a comment\n  @id ( "spaced" )\n// another\npermit (principal, action, resource);',
    '@advice("use ) and @id(\\"x\\") here") @id("second") forbid (principal, action, resource);',
    '@id("quote \\" inside") permit (principal, action, resource);',
    '@id("caf\\u{e9}") permit (principal, action, resource);',
    '@id("café ✓") permit (principal, action, resource);',
    '@other @id("after-bare") permit (principal, action, resource);',
    '@id permit (principal, action, resource);',
    '@ID("not-id") permit (principal, action, resource);',
  ];

  it('reads the @id Cedar reads, for every way of writing annotations', () => {
    for (const policy of policies) {
      const json = cedar.policyToJson(policy);
      if (json.type !== 'success') throw new Error(`Cedar refused ${policy}`);
      expect(idAnnotation(policy), policy).toBe(json.json.annotations?.['id']);
    }
  });
});
