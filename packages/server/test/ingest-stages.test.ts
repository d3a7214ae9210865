/**
 * Each ingest stage alone, without a server: what it returns, what it refuses, and that it never
 * changes its input (every input here is deeply frozen, so a write throws).
 */
import {
  MAX_RECORD_BYTES,
  canonicalize,
  digestOf,
  keyDigest,
  keyedDigest,
  uuidv7,
} from '@provenant/core';
import type { EventRecord } from '@provenant/core';
import { DEFAULT_MINIMUM_LEVELS, MemoryPrincipalDirectory } from '@provenant/identity';
import type { VerifiedCredential } from '@provenant/identity';
import { DEFAULT_AUDIT_RULES, hmacValue } from '@provenant/policy';
import type { AuditRules, Decision } from '@provenant/policy';
import { describe, expect, it } from 'vitest';
import type { Draft, Rejection } from '../src/ingest/draft.js';
import { composeStages, recordStages } from '../src/ingest/pipeline.js';
import { prepareOwnRecord, prepareRecord } from '../src/ingest/prepare.js';
import { assertedAttribution, attributeWith } from '../src/ingest/stages/attribute.js';
import { correlateDecision, decisionIdsOf } from '../src/ingest/stages/correlate.js';
import { parse } from '../src/ingest/stages/parse.js';
import { redactArguments } from '../src/ingest/stages/redact.js';
import { requireLevel } from '../src/ingest/stages/required-level.js';
import { seal } from '../src/ingest/stages/seal.js';
import { claimSingleUse } from '../src/ingest/stages/single-use.js';
import { MemoryPolicyStore } from '../src/policy/store.js';

const RESEARCHER = 'spiffe://acme.test/agent/researcher/instance/7f3a';
const KEY = new Uint8Array(32).fill(7);
const NOW = Math.floor(Date.now() / 1000);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function toolCall(overrides: Partial<EventRecord> = {}): EventRecord {
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date(NOW * 1000).toISOString(),
    type: 'tool.called',
    initiator: { id: 'user:alice', kind: 'human' },
    actor: { id: RESEARCHER, kind: 'agent_instance' },
    action: {
      name: 'github.get_file',
      resource: 'repo:acme/payments',
      args: { path: 'README.md', token: 's3cret' },
    },
    outcome: { status: 'success' },
    ...overrides,
  };
}

const draft = (record: EventRecord, reasons: string[] = []): Draft =>
  deepFreeze({ ok: true, record, attribution: { level: 'verified', reasons } });

/** alice → researcher, as the verifier returns it. */
const credential: VerifiedCredential = deepFreeze({
  tokenDigest: '00'.repeat(32),
  claims: {
    iss: 'http://issuer.test',
    sub: 'user:alice',
    aud: 'provenant',
    iat: NOW - 10,
    exp: NOW + 300,
    jti: 'jti-researcher',
    scope: 'repo:read',
    act: { sub: RESEARCHER },
  },
  subject: 'user:alice',
  actors: [RESEARCHER],
  chain: ['user:alice', RESEARCHER],
  scope: ['repo:read'],
  jti: 'jti-researcher',
  iat: NOW - 10,
  exp: NOW + 300,
  ancestors: [],
});

const directory = new MemoryPrincipalDirectory([
  { id: 'user:alice', kind: 'human', shared: false, disabled: false },
  { id: RESEARCHER, kind: 'agent_instance', shared: false, disabled: false },
]);

function decision(overrides: Partial<Decision> = {}): Decision {
  return {
    decision_id: 'dec-1',
    engine: 'cedar',
    engine_version: '4.0.0',
    policy_set: digestOf({ set: 1 }),
    decision: 'allow',
    determining: ['permit-reads'],
    context_digest: digestOf({ ctx: 1 }),
    errors: [],
    credential_jti: 'jti-researcher',
    time: NOW * 1000,
    valid_until: NOW * 1000 + 300_000,
    single_use: false,
    catalog: 'known',
    request: {
      principal: { type: 'Agent', id: RESEARCHER },
      action: { type: 'Action', id: 'github.get_file' },
      resource: { type: 'Resource', id: 'repo:acme/payments' },
      context: { chain: ['user:alice', RESEARCHER] },
    },
    ...overrides,
  } as unknown as Decision;
}

const lookup = (...known: Decision[]) => ({
  getDecision: (id: string) => known.find((d) => d.decision_id === id) ?? null,
  now: () => NOW * 1000,
});

describe('parse', () => {
  it('takes a valid record and refuses an invalid one by the id it claims', () => {
    const input = deepFreeze(toolCall());
    expect(parse(input)).toEqual({ ok: true, record: input });
    const bad = parse(deepFreeze({ ...toolCall(), id: 'not-a-uuid' }));
    expect(bad).toMatchObject({ ok: false, id: 'not-a-uuid', code: 'invalid_id' });
    expect(parse('text')).toMatchObject({ ok: false, id: null });
  });
});

describe('attribute', () => {
  it('without identity: asserted when the record names both initiator and actor', () => {
    const record = deepFreeze(toolCall());
    expect(assertedAttribution({ ok: true, record }).attribution).toEqual({
      level: 'asserted',
      reasons: [],
    });
    const { actor: _a, ...anonymous } = record;
    expect(assertedAttribution({ ok: true, record: anonymous }).attribution.level).toBe(
      'unattributed',
    );
  });

  it('with a credential: verified, and the credential stamped on a new record', () => {
    const record = deepFreeze(toolCall());
    const out = attributeWith(directory, 30, credential)({ ok: true, record });
    expect(out.ok).toBe(true);
    const { record: stamped, attribution } = out as Draft;
    expect(attribution.level).toBe('verified');
    expect(stamped).not.toBe(record);
    expect(stamped.credential).toEqual({
      jti: 'jti-researcher',
      iss: 'http://issuer.test',
      iat: NOW - 10,
      exp: NOW + 300,
    });
    expect(stamped.delegation).toEqual([
      { from: 'user:alice', to: RESEARCHER, jti: 'jti-researcher', scope: ['repo:read'] },
    ]);
    expect(record.credential).toBeUndefined();
  });

  it("stamps the verified credential's ID-token root, and only that, whatever the producer claims", () => {
    const root = { iss: 'https://idp.test', jti: 'idt-1' };
    const rooted: VerifiedCredential = deepFreeze({
      ...credential,
      claims: { ...credential.claims, id_token: root },
      idToken: root,
    });
    const forged = {
      jti: 'jti-researcher',
      iss: 'http://issuer.test',
      iat: NOW - 10,
      exp: NOW + 300,
      id_token: { iss: 'https://evil.test', jti: 'forged' },
      ancestors: ['forged-parent'],
    };
    const record = deepFreeze(toolCall({ credential: forged }));
    const out = attributeWith(directory, 30, rooted)({ ok: true, record }) as Draft;
    expect(out.attribution.level).toBe('verified');
    expect(out.record.credential).toEqual({
      jti: 'jti-researcher',
      iss: 'http://issuer.test',
      iat: NOW - 10,
      exp: NOW + 300,
      id_token: root,
    });
    const plain = attributeWith(directory, 30, credential)({ ok: true, record }) as Draft;
    expect(plain.record.credential).not.toHaveProperty('id_token');
    expect(plain.record.credential).not.toHaveProperty('ancestors');
  });

  it('fills the initiator and actor a record leaves out from the credential', () => {
    const { initiator: _i, actor: _a, ...bare } = toolCall();
    const out = attributeWith(directory, 30, credential)({ ok: true, record: deepFreeze(bare) });
    expect((out as Draft).record.initiator).toEqual({ id: 'user:alice', kind: 'human' });
    expect((out as Draft).record.actor).toEqual({ id: RESEARCHER, kind: 'agent_instance' });
  });

  it('refuses a record that contradicts its credential and alerts on the real holder', () => {
    const record = deepFreeze(toolCall({ initiator: { id: 'user:mallory', kind: 'human' } }));
    const out = attributeWith(directory, 30, credential)({ ok: true, record }) as Rejection;
    expect(out).toMatchObject({ ok: false, id: record.id, code: 'attribution_mismatch' });
    expect(out.alert).toMatchObject({
      code: 'attribution_mismatch',
      record,
      realHolder: { initiator: 'user:alice', actor: RESEARCHER },
    });
  });
});

describe('required level', () => {
  const privileged = toolCall({
    action: { name: 'github.delete_repo', class: { privileged: true } },
  });

  it('refuses a privileged action below verified, by the audit rule', () => {
    const stage = requireLevel(DEFAULT_MINIMUM_LEVELS, DEFAULT_AUDIT_RULES);
    const asserted = deepFreeze({
      ...draft(privileged),
      attribution: { level: 'asserted' as const, reasons: [] },
    });
    expect(stage(asserted)).toMatchObject({ ok: false, code: 'attribution_required' });
    const verified = draft(privileged);
    expect(stage(verified)).toBe(verified);
  });

  it("takes the deployment's minimum levels when no audit rule sets one", () => {
    const stage = requireLevel({ ...DEFAULT_MINIMUM_LEVELS, default: 'verified' });
    const asserted = deepFreeze({
      ...draft(toolCall()),
      attribution: { level: 'asserted' as const, reasons: [] },
    });
    expect(stage(asserted)).toMatchObject({ ok: false, code: 'attribution_required' });
  });
});

describe('correlate decision', () => {
  const stage = correlateDecision(lookup(decision()), DEFAULT_AUDIT_RULES, credential);
  const claimed = { decision_id: 'dec-1', engine: 'forged', decision: 'allow' as const };

  it('rewrites the claimed policy from the recorded decision', async () => {
    const input = draft(toolCall({ policy: claimed }));
    const out = (await stage(input)) as Draft;
    expect(out.record.policy).toMatchObject({ decision_id: 'dec-1', engine: 'cedar' });
    expect(out.attribution.reasons).toEqual([]);
    expect(out.alert).toBeUndefined();
    expect(input.record.policy).toBe(claimed);
  });

  it('flags and alerts on a decision made for another action, dropping the claim', async () => {
    const input = draft(
      toolCall({
        action: { name: 'github.push', resource: 'repo:acme/payments' },
        policy: claimed,
      }),
      ['no_reason_yet'],
    );
    const out = (await stage(input)) as Draft;
    expect(out.ok).toBe(true);
    expect(out.record.policy).toBeUndefined();
    expect(out.attribution.reasons).toEqual(['no_reason_yet', 'decision_mismatch']);
    // The alert names what the sender claimed, decision id included.
    expect(out.alert).toMatchObject({ code: 'decision_mismatch', record: input.record });
    expect(out.alert!.record.policy).toBe(claimed);
  });

  it('flags a decision the decision point never made, and a denied one that ran', async () => {
    const unknown = await stage(draft(toolCall({ policy: { ...claimed, decision_id: 'dec-x' } })));
    expect((unknown as Draft).attribution.reasons).toEqual(['decision_not_found']);
    const denied = correlateDecision(
      lookup(decision({ decision: 'deny' })),
      DEFAULT_AUDIT_RULES,
      credential,
    );
    const ran = await denied(draft(toolCall({ policy: claimed })));
    expect((ran as Draft).attribution.reasons).toEqual(['decision_denied']);
  });

  it('flags a privileged action without a decision, without an alert', async () => {
    const out = (await stage(
      draft(toolCall({ action: { name: 'github.delete_repo', class: { privileged: true } } })),
    )) as Draft;
    expect(out.attribution.reasons).toEqual(['decision_missing']);
    expect(out.alert).toBeUndefined();
  });

  it('compares the class and risk a record names with the decided ones, filling in what it leaves out', async () => {
    const decided = decision({
      request: {
        ...decision().request,
        context: { chain: ['user:alice', RESEARCHER], irreversible: true, risk: 'high' },
      },
    } as Partial<Decision>);
    const strict = correlateDecision(lookup(decided), DEFAULT_AUDIT_RULES, credential);
    const filled = (await strict(draft(toolCall({ policy: claimed })))) as Draft;
    expect(filled.record.action).toMatchObject({
      class: { privileged: false, irreversible: true, external: false },
      risk: 'high',
    });
    const lowered = await strict(
      draft(
        toolCall({
          action: {
            name: 'github.get_file',
            resource: 'repo:acme/payments',
            class: { privileged: false, irreversible: false, external: false },
          },
          policy: claimed,
        }),
      ),
    );
    // Irreversible as decided: the laundering record is refused, its alert kept.
    expect(lowered).toMatchObject({
      ok: false,
      code: 'decision_mismatch',
      alert: { code: 'decision_mismatch' },
    });
    expect((lowered as Rejection).message).toContain('class');
    const otherRisk = await strict(
      draft(
        toolCall({
          action: { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' },
          policy: claimed,
        }),
      ),
    );
    expect((otherRisk as Rejection).message).toContain('risk');
  });

  it('refuses a high-stakes record under another jti or after the window, flags a low one', async () => {
    const irreversible = decision({
      request: {
        ...decision().request,
        context: { chain: ['user:alice', RESEARCHER], irreversible: true },
      },
    } as Partial<Decision>);
    const other = { ...credential, jti: 'jti-other' };
    const byOther = correlateDecision(lookup(irreversible), DEFAULT_AUDIT_RULES, other);
    expect(await byOther(draft(toolCall({ policy: claimed })))).toMatchObject({
      ok: false,
      code: 'decision_mismatch',
    });
    const anonymous = correlateDecision(lookup(decision()), DEFAULT_AUDIT_RULES, null);
    expect(
      ((await anonymous(draft(toolCall({ policy: claimed })))) as Draft).attribution.reasons,
    ).toEqual(['decision_mismatch']);
    const late = { ...lookup(irreversible), now: () => NOW * 1000 + 300_001 };
    expect(
      await correlateDecision(
        late,
        DEFAULT_AUDIT_RULES,
        credential,
      )(draft(toolCall({ policy: claimed }))),
    ).toMatchObject({ ok: false, code: 'decision_expired' });
    const lateLow = { ...lookup(decision()), now: () => NOW * 1000 + 300_001 };
    const flagged = (await correlateDecision(
      lateLow,
      DEFAULT_AUDIT_RULES,
      credential,
    )(draft(toolCall({ policy: claimed })))) as Draft;
    expect(flagged.attribution.reasons).toEqual(['decision_expired']);
    expect(flagged.record.policy).toBeUndefined();
  });

  it('refuses a record naming no action that cites an irreversible decision', async () => {
    const irreversible = decision({
      request: {
        ...decision().request,
        context: { chain: ['user:alice', RESEARCHER], irreversible: true },
      },
    } as Partial<Decision>);
    const { action: _a, ...noAction } = toolCall({ policy: claimed });
    const out = await correlateDecision(
      lookup(irreversible),
      DEFAULT_AUDIT_RULES,
      credential,
    )(draft(noAction));
    expect(out).toMatchObject({ ok: false, code: 'decision_mismatch' });
    expect((out as Rejection).message).toContain('action');
  });

  it('lists the decision ids of raw inputs for prefetching', () => {
    expect(
      decisionIdsOf([
        { policy: { decision_id: 'a' } },
        null,
        'x',
        {},
        { policy: { decision_id: 7 } },
      ]),
    ).toEqual(['a']);
  });
});

describe('redact', () => {
  const rules = (level: 'metadata' | 'digest' | 'redact' | 'full'): AuditRules => ({
    rules: [],
    default: { match: {}, level, redact: ['token'] },
  });
  const args = { path: 'README.md', token: 's3cret' };

  it('keeps what the audit rule says, with the keyed digest of the arguments', () => {
    const input = draft(toolCall());
    const redacted = redactArguments(rules('redact'), KEY, false)(input) as Draft;
    expect(redacted.record.action).toMatchObject({
      args: { path: 'README.md', token: hmacValue(KEY, 's3cret') },
      args_digest: keyedDigest(KEY, args),
    });
    const digest = redactArguments(rules('digest'), KEY, false)(input) as Draft;
    expect(digest.record.action!.args).toBeUndefined();
    expect(digest.record.action!.args_digest).toBe(keyedDigest(KEY, args));
    const full = redactArguments(rules('full'), KEY, false)(input) as Draft;
    expect(full.record.action!.args_digest).toBe(digestOf(args));
    expect(input.record.action!.args_digest).toBeUndefined();
  });

  it('keeps the digest sent, keyed unless the rule is full, when the arguments arrived only as a digest (OTLP)', () => {
    const sent = digestOf({ the: 'real arguments' });
    const span = draft(
      toolCall({
        action: { name: 'get_file', args: { 'otel.span.name': 'x' }, args_digest: sent },
      }),
    );
    for (const level of ['digest', 'redact'] as const) {
      const out = redactArguments(rules(level), KEY, true)(span) as Draft;
      expect(out.record.action!.args_digest).toBe(keyDigest(KEY, sent));
    }
    const full = redactArguments(rules('full'), KEY, true)(span) as Draft;
    expect(full.record.action!.args_digest).toBe(sent);
    const metadata = redactArguments(rules('metadata'), KEY, true)(span) as Draft;
    expect(metadata.record.action!.args_digest).toBeUndefined();
    const none = draft(toolCall({ action: { name: 'get_file', args: { 'otel.span.name': 'x' } } }));
    expect(
      (redactArguments(rules('full'), KEY, true)(none) as Draft).record.action!.args_digest,
    ).toBeUndefined();
  });
});

describe('seal', () => {
  it('stamps the attribution on a new record and computes the entry', () => {
    const input = draft(toolCall(), ['r']);
    const out = seal(input);
    if (!out.ok) throw new Error(out.message);
    expect(out.record.attribution).toEqual({ level: 'verified', reasons: ['r'] });
    expect(input.record.attribution).toBeUndefined();
    expect(out.entry.canonical).toBe(canonicalize(out.record));
    expect(out.entry).toMatchObject({
      id: input.record.id,
      level: 'verified',
      type: 'tool.called',
    });
  });

  it('refuses a record over the canonical size limit, keeping an earlier alert', () => {
    const big = toolCall({
      action: { name: 'x', args: { blob: 'a'.repeat(MAX_RECORD_BYTES) } },
    });
    const alert = {
      code: 'decision_mismatch',
      message: 'm',
      record: big,
      realHolder: { initiator: 'a', actor: 'b' },
    };
    const out = seal(deepFreeze({ ...draft(big), alert }));
    expect(out).toMatchObject({
      ok: false,
      code: 'record_too_large',
      alert: { code: 'decision_mismatch' },
    });
  });
});

describe('the composed stages', () => {
  it('stop at the first rejection', async () => {
    const seen: string[] = [];
    const run = composeStages(assertedAttribution, [
      (d) => (seen.push('first'), { ok: false, id: d.record.id, code: 'stop', message: 'no' }),
      (d) => (seen.push('second'), d),
    ]);
    expect(await run(toolCall())).toMatchObject({ ok: false, code: 'stop' });
    expect(seen).toEqual(['first']);
  });

  it('without identity: parse, asserted, seal — the same as prepareRecord', async () => {
    const input = deepFreeze(toolCall());
    const out = await recordStages({}, null, false)(input);
    expect(out).toEqual(prepareRecord(input));
    expect(out).toMatchObject({ ok: true, level: 'asserted' });
  });

  it("prepareOwnRecord gives the collector's own attribution and refuses its own bad record", () => {
    const out = prepareOwnRecord(deepFreeze(toolCall()), {
      level: 'verified',
      reasons: ['collector_alert'],
    });
    expect(out).toMatchObject({ ok: true, level: 'verified' });
    expect(() =>
      prepareOwnRecord({ ...toolCall(), id: 'x' }, { level: 'verified', reasons: [] }),
    ).toThrow(/collector built an invalid tool.called record/);
  });
});

describe('single-use decisions', () => {
  const store = new MemoryPolicyStore();
  const uses = {
    ...lookup(decision({ single_use: true }), decision({ decision_id: 'dec-2' })),
    claimDecisionUse: store.claimDecisionUse.bind(store),
  };
  const stage = claimSingleUse(uses, credential);
  const citing = (id: string) =>
    draft(toolCall({ policy: { decision_id: id, engine: 'cedar', decision: 'allow' } }));

  it('lets the first record take a single-use decision and refuses the next, with an alert', async () => {
    const first = citing('dec-1');
    expect(await stage(first)).toBe(first);
    expect(await stage(first)).toBe(first); // the same record again
    const second = await stage(citing('dec-1'));
    expect(second).toMatchObject({
      ok: false,
      code: 'decision_reused',
      alert: { code: 'decision_reused', realHolder: { actor: RESEARCHER } },
    });
  });

  it('leaves a decision that is not single-use, and a record citing none, alone', async () => {
    for (let i = 0; i < 3; i++) expect((await stage(citing('dec-2'))).ok).toBe(true);
    const none = draft(toolCall());
    expect(await stage(none)).toBe(none);
  });
});
