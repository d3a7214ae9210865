import { createHmac } from 'node:crypto';
import { canonicalize, digestOf, keyedDigest, type EventRecord } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUDIT_RULES,
  PolicyError,
  applyAuditRule,
  hmacValue,
  parseAuditRules,
  ruleFor,
  type AuditRule,
  type AuditRules,
} from '../src/index.js';
import { auditViolations } from '../src/audit-rules.js';

const KEY = new Uint8Array(32).fill(7);

const ARGS = {
  repo: 'acme/payments',
  token: 'ghp_secret-token',
  headers: { authorization: 'Bearer abc.def', accept: 'json' },
  items: [{ secret: 's1', keep: 1 }, { secret: { nested: 's2' } }, { keep: 3 }],
};

function record(over: Partial<NonNullable<EventRecord['action']>> = {}): EventRecord {
  return {
    schema: 'provenant.event/v1',
    id: '0192f3c4-0000-7000-8000-000000000000',
    time: '2026-11-27T13:05:01.123Z',
    type: 'tool.called',
    action: { name: 'github.get_file', args: structuredClone(ARGS), ...over },
  };
}

const rule = (level: AuditRule['level'], redact?: string[]): AuditRule => ({
  match: {},
  level,
  ...(redact !== undefined ? { redact } : {}),
});

describe('hmacValue', () => {
  it('is HMAC-SHA256 of the canonical value, so a known value can be tested', () => {
    const expected = createHmac('sha256', KEY)
      .update(canonicalize({ b: 1, a: 'x' }))
      .digest('base64url');
    expect(hmacValue(KEY, { a: 'x', b: 1 })).toBe(`hmac-sha256:${expected}`);
    expect(hmacValue(KEY, 'ghp_secret-token')).toBe(
      `hmac-sha256:${createHmac('sha256', KEY).update('"ghp_secret-token"').digest('base64url')}`,
    );
    expect(hmacValue(new Uint8Array(32).fill(8), 'ghp_secret-token')).not.toBe(
      hmacValue(KEY, 'ghp_secret-token'),
    );
  });

  it('refuses a key shorter than 16 bytes', () => {
    expect(() => hmacValue(new Uint8Array(8), 'x')).toThrow(TypeError);
  });
});

describe('applyAuditRule', () => {
  it('full keeps the arguments with their digest', () => {
    const out = applyAuditRule(record(), rule('full'), KEY);
    expect(out.action?.args).toEqual(ARGS);
    expect(out.action?.args_digest).toBe(digestOf(ARGS));
  });

  it('digest drops the arguments and keeps only their keyed digest', () => {
    const out = applyAuditRule(record(), rule('digest'), KEY);
    expect(out.action).toEqual({ name: 'github.get_file', args_digest: keyedDigest(KEY, ARGS) });
    expect(JSON.stringify(out)).not.toContain(digestOf(ARGS).slice('sha256:'.length));
    expect(JSON.stringify(out)).not.toContain('ghp_secret-token');
  });

  it('metadata drops the arguments and their digest (a digest of guessable values leaks them)', () => {
    const out = applyAuditRule(record(), rule('metadata'), KEY);
    expect(out.action).toEqual({ name: 'github.get_file' });
  });

  it('leaves the input record untouched', () => {
    const input = record();
    const before = JSON.stringify(input);
    applyAuditRule(input, rule('redact', ['token']), KEY);
    applyAuditRule(input, rule('metadata'), KEY);
    expect(JSON.stringify(input)).toBe(before);
  });

  it('redact replaces each listed path, nested and through arrays, by its HMAC', () => {
    const input = record();
    const out = applyAuditRule(
      input,
      rule('redact', ['token', 'headers.authorization', 'items[*].secret', 'missing.path']),
      KEY,
    );
    expect(out.action?.args).toEqual({
      repo: 'acme/payments',
      token: hmacValue(KEY, 'ghp_secret-token'),
      headers: { authorization: hmacValue(KEY, 'Bearer abc.def'), accept: 'json' },
      items: [
        { secret: hmacValue(KEY, 's1'), keep: 1 },
        { secret: hmacValue(KEY, { nested: 's2' }) },
        { keep: 3 },
      ],
    });
    // The keyed digest of the original arguments: a holder of them and the key can prove them.
    expect(out.action?.args_digest).toBe(keyedDigest(KEY, ARGS));
    const text = JSON.stringify(out);
    for (const secret of ['ghp_secret-token', 'Bearer abc.def', 's1', 's2']) {
      expect(text).not.toContain(`"${secret}"`);
    }
    // Pure: the input is untouched.
    expect(input.action?.args).toEqual(ARGS);
    expect(input.action?.args_digest).toBeUndefined();
  });

  it('redacts single items, every key, and quoted keys; the outer path wins over an inner one', () => {
    const args = { a: { 'x.y': 1, z: [10, 20] }, h: { k1: 'v1', k2: 'v2' } };
    const out = applyAuditRule(
      record({ args }),
      rule('redact', ['a["x.y"]', 'a.z[1]', 'h.*']),
      KEY,
    );
    expect(out.action?.args).toEqual({
      a: { 'x.y': hmacValue(KEY, 1), z: [10, hmacValue(KEY, 20)] },
      h: { k1: hmacValue(KEY, 'v1'), k2: hmacValue(KEY, 'v2') },
    });
    const nested = applyAuditRule(record({ args }), rule('redact', ['a.z', 'a']), KEY);
    expect(nested.action?.args).toEqual({ a: hmacValue(KEY, args.a), h: args.h });
  });

  it('keys a digest sent without its arguments, and a result digest, unless the rule is full', () => {
    const sent = digestOf(ARGS);
    const result = digestOf({ rows: 3 });
    const bare: EventRecord = {
      ...record(),
      action: { name: 'x', args_digest: sent },
      outcome: { status: 'success', result_digest: result },
    };
    expect(applyAuditRule(bare, rule('full'), KEY)).toEqual(bare);
    for (const level of ['digest', 'redact'] as const) {
      const out = applyAuditRule(bare, rule(level, ['token']), KEY);
      // The same keyed digest as when the collector saw the arguments themselves.
      expect(out.action?.args_digest).toBe(keyedDigest(KEY, ARGS));
      expect(out.outcome?.result_digest).toBe(keyedDigest(KEY, { rows: 3 }));
    }
    const metadata = applyAuditRule(bare, rule('metadata'), KEY);
    expect(metadata.action).toEqual({ name: 'x' });
    expect(metadata.outcome?.result_digest).toBe(keyedDigest(KEY, { rows: 3 }));
    expect(bare.action?.args_digest).toBe(sent);
  });

  it('leaves a record without arguments or digests as it was', () => {
    const bare: EventRecord = { ...record(), action: { name: 'x' } };
    expect(applyAuditRule(bare, rule('metadata'), KEY)).toBe(bare);
    const none: EventRecord = { ...record() };
    delete none.action;
    expect(applyAuditRule(none, rule('redact', ['token']), KEY)).toEqual(none);
  });
});

describe('ruleFor', () => {
  const rules: AuditRules = {
    rules: [
      { match: { action: 'github.delete_*' }, level: 'metadata' },
      { match: { action: 'github.*' }, level: 'redact', redact: ['token'] },
      { match: { class: { external: true } }, level: 'digest' },
    ],
    default: rule('full'),
  };

  it('applies the first rule that matches', () => {
    expect(ruleFor(record({ name: 'github.delete_repo' }), rules).level).toBe('metadata');
    expect(ruleFor(record({ name: 'github.get_file' }), rules).level).toBe('redact');
    const external = { privileged: false, irreversible: false, external: true };
    expect(ruleFor(record({ name: 'github.get_file', class: external }), rules).level).toBe(
      'redact',
    );
    expect(ruleFor(record({ name: 'slack.post', class: external }), rules).level).toBe('digest');
  });

  it('falls back to the default, including for records with no action or no class', () => {
    expect(ruleFor(record({ name: 'slack.post' }), rules)).toBe(rules.default);
    const noAction = record();
    delete noAction.action;
    expect(ruleFor(noAction, rules)).toBe(rules.default);
    // "github.*" does not match "githubX": the dot is literal.
    expect(ruleFor(record({ name: 'githubXget' }), rules)).toBe(rules.default);
  });
});

describe('DEFAULT_AUDIT_RULES', () => {
  const cls = (privileged: boolean, irreversible: boolean, external: boolean) => ({
    privileged,
    irreversible,
    external,
  });

  it('keeps only a digest, and needs verified attribution and a decision, for privileged, irreversible or external actions', () => {
    for (const c of [cls(true, false, false), cls(false, true, false), cls(false, false, true)]) {
      expect(ruleFor(record({ class: c }), DEFAULT_AUDIT_RULES)).toMatchObject({
        level: 'digest',
        minimumLevel: 'verified',
        requireDecision: true,
      });
    }
  });

  it('keeps everything else in full, at any attribution level', () => {
    for (const r of [record({ class: cls(false, false, false) }), record()]) {
      expect(ruleFor(r, DEFAULT_AUDIT_RULES)).toMatchObject({
        level: 'full',
        minimumLevel: 'unattributed',
        requireDecision: false,
      });
    }
  });

  it('cannot be changed by accident', () => {
    expect(Object.isFrozen(DEFAULT_AUDIT_RULES.rules[0]?.match)).toBe(true);
  });
});

describe('auditViolations', () => {
  const strict: AuditRule = {
    match: {},
    level: 'digest',
    minimumLevel: 'verified',
    requireDecision: true,
  };

  it('names a level below the minimum and a missing decision', () => {
    expect(auditViolations(record(), strict)).toEqual(['below_minimum_level', 'decision_missing']);
    const ok: EventRecord = {
      ...record(),
      attribution: { level: 'verified', reasons: [] },
      policy: { decision_id: 'd1', engine: 'cedar', decision: 'allow' },
    };
    expect(auditViolations(ok, strict)).toEqual([]);
    expect(
      auditViolations({ ...ok, attribution: { level: 'pooled', reasons: [] } }, strict),
    ).toEqual(['below_minimum_level']);
  });
});

describe('parseAuditRules', () => {
  function problems(input: unknown): string[] {
    try {
      parseAuditRules(input);
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      expect((e as PolicyError).code).toBe('invalid_audit_rules');
      return [...(e as PolicyError).messages];
    }
    throw new Error('the rules were accepted');
  }

  it('accepts a config and fills in the default rule', () => {
    const parsed = parseAuditRules({
      rules: [
        {
          match: { action: 'github.*', class: { external: true } },
          level: 'redact',
          redact: ['token', 'items[*].secret'],
          minimumLevel: 'verified',
          requireDecision: true,
        },
        { match: {}, level: 'metadata' },
      ],
    });
    expect(parsed.rules).toHaveLength(2);
    expect(parsed.rules[0]?.redact).toEqual(['token', 'items[*].secret']);
    expect(parsed.default).toEqual(DEFAULT_AUDIT_RULES.default);
    expect(parseAuditRules({ rules: [], default: { level: 'metadata' } }).default).toEqual({
      match: {},
      level: 'metadata',
    });
  });

  it('rejects bad configs, naming every problem and where it is', () => {
    expect(problems(null)).toEqual(['The audit rules must be a JSON object with a "rules" list.']);
    expect(problems({ rule: [] })).toEqual([
      'The audit rules have no field "rule".',
      'rules must be a list of rules.',
    ]);
    expect(
      problems({
        rules: [
          { match: { actoin: 'x' }, level: 'full' },
          { match: {}, level: 'everything' },
          { level: 'full' },
          { match: { class: { privileged: 'yes', remote: true } }, level: 'full' },
          { match: {}, level: 'redact' },
          { match: {}, level: 'full', redact: ['token'] },
          { match: {}, level: 'redact', redact: ['a..b', 'items[x]', 3] },
          { match: {}, level: 'full', minimumLevel: 'high', requireDecision: 'yes', extra: 1 },
        ],
        default: { match: { action: '*' }, level: 'full' },
      }),
    ).toEqual([
      'rules[0].match has no field "actoin"; use "action" or "class".',
      'rules[1].level must be one of metadata, digest, redact, full.',
      'rules[2].match is required (use {} to match every record).',
      'rules[3].match.class.privileged must be true or false.',
      'rules[3].match.class has no flag "remote"; use privileged, irreversible or external.',
      'rules[4].redact must list the argument paths to replace, e.g. ["token", "headers.authorization"].',
      'rules[5].redact is only for level "redact".',
      'rules[6].redact[0] has an empty key at character 3.',
      'rules[6].redact[1] has "[x]"; brackets hold *, an index or a JSON string.',
      'rules[6].redact[2] is not a string.',
      'rules[7] has no field "extra".',
      'rules[7].minimumLevel must be one of verified, pooled, asserted, unattributed.',
      'rules[7].requireDecision must be true or false.',
      'default.match must be empty: the default rule applies to every record no rule matched.',
    ]);
  });

  it('puts the problems in the error message too', () => {
    expect(() => parseAuditRules({ rules: [{ match: {}, level: 'x' }] })).toThrow(
      'The audit rules are invalid: rules[0].level must be one of metadata, digest, redact, full.',
    );
  });
});
