import type { EventRecord } from '@provenant/core';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MINIMUM_LEVELS,
  attribute,
  levelAtLeast,
  requiredLevelFor,
  type AttributionResult,
  type VerifiedCredential,
} from '../src/index.js';
import { ALICE, CI, PLANNER, RESEARCHER, assertion, world, type World } from './helpers.js';

const SKEW = { skewSec: 30 };

function record(w: World, over: Partial<EventRecord> = {}): EventRecord {
  return {
    schema: 'provenant.event/v1',
    id: '0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f',
    time: new Date(w.clock.ms + 5_000).toISOString(),
    type: 'tool.called',
    initiator: { id: ALICE, kind: 'human' },
    actor: { id: RESEARCHER, kind: 'agent_instance' },
    action: {
      name: 'github.delete_repo',
      class: { privileged: true, irreversible: true, external: true },
    },
    ...over,
  };
}

async function chain(w: World): Promise<{ credential: VerifiedCredential; jtis: string[] }> {
  const alice = await w.alice(['repo:read', 'repo:write']);
  const planner = await w.delegate(alice, PLANNER);
  const researcher = await w.delegate(planner, RESEARCHER, ['repo:read']);
  return {
    credential: await w.verifier.verify(researcher.token),
    jtis: [planner.claims.jti, researcher.claims.jti],
  };
}

function expectMismatch(result: AttributionResult, field: string) {
  expect(result).toMatchObject({
    ok: false,
    code: 'attribution_mismatch',
    field,
    realHolder: { initiator: ALICE, actor: RESEARCHER },
  });
}

describe('attribute', () => {
  it('verifies a record that matches its credential, delegation hops included', async () => {
    const w = world();
    const { credential, jtis } = await chain(w);
    const delegation = [
      { from: ALICE, to: PLANNER, jti: jtis[0]! },
      { from: PLANNER, to: RESEARCHER, jti: jtis[1]!, scope: ['repo:read'] },
    ];
    expect(attribute(record(w, { delegation }), credential, w.directory, SKEW)).toEqual({
      ok: true,
      level: 'verified',
      reasons: [],
    });
  });

  it('fills the delegation, initiator and actor from the credential when the record has none', async () => {
    const w = world();
    const { credential, jtis } = await chain(w);
    const bare = record(w);
    delete bare.initiator;
    delete bare.actor;
    expect(attribute(bare, credential, w.directory, SKEW)).toEqual({
      ok: true,
      level: 'verified',
      reasons: [],
      delegation: [
        { from: ALICE, to: PLANNER, jti: jtis[0] },
        { from: PLANNER, to: RESEARCHER, jti: jtis[1], scope: ['repo:read'] },
      ],
      initiator: { id: ALICE, kind: 'human' },
      actor: { id: RESEARCHER, kind: 'agent_instance' },
    });
  });

  it('rates a shared service account pooled, marking its enrichment as claimed', async () => {
    const w = world();
    const ci = await w.issuer.clientCredentials(await assertion(w.clients[CI]!, w.clock));
    const credential = await w.verifier.verify(ci.token);
    const base = record(w, {
      initiator: { id: CI, kind: 'service_account' },
      actor: { id: CI, kind: 'service_account' },
    });
    expect(attribute(base, credential, w.directory, SKEW)).toEqual({
      ok: true,
      level: 'pooled',
      reasons: ['shared_account'],
    });
    const enriched = record(w, {
      initiator: { id: CI, kind: 'service_account' },
      actor: { id: CI, kind: 'service_account', instance: 'runner-7' },
      task_id: 'task-981',
    });
    expect(attribute(enriched, credential, w.directory, SKEW)).toMatchObject({
      ok: true,
      level: 'pooled',
      reasons: ['shared_account', 'claimed_enrichment'],
    });
    // The same account, no longer shared, is verified.
    w.directory.put({ ...w.directory.get(CI)!, shared: false });
    expect(attribute(base, credential, w.directory, SKEW)).toMatchObject({
      ok: true,
      level: 'verified',
    });
  });

  it('refuses a record claiming another actor, naming the real holder', async () => {
    const w = world();
    const { credential } = await chain(w);
    const result = attribute(
      record(w, { actor: { id: PLANNER, kind: 'agent_instance' } }),
      credential,
      w.directory,
      SKEW,
    );
    expectMismatch(result, 'actor');
    expect(!result.ok && result.message).toContain(RESEARCHER);
  });

  it('refuses a record claiming another initiator', async () => {
    const w = world();
    const { credential } = await chain(w);
    expectMismatch(
      attribute(
        record(w, { initiator: { id: 'user:bob', kind: 'human' } }),
        credential,
        w.directory,
        SKEW,
      ),
      'initiator',
    );
  });

  it('refuses a record with a kind the registry contradicts', async () => {
    const w = world();
    const { credential } = await chain(w);
    expectMismatch(
      attribute(
        record(w, { actor: { id: RESEARCHER, kind: 'service' } }),
        credential,
        w.directory,
        SKEW,
      ),
      'actor',
    );
  });

  it('refuses other delegation hops', async () => {
    const w = world();
    const { credential, jtis } = await chain(w);
    for (const delegation of [
      [{ from: ALICE, to: RESEARCHER }],
      [
        { from: ALICE, to: 'spiffe://acme.test/agent/other/instance/1' },
        { from: 'spiffe://acme.test/agent/other/instance/1', to: RESEARCHER },
      ],
      [
        { from: ALICE, to: PLANNER },
        { from: PLANNER, to: RESEARCHER },
        { from: RESEARCHER, to: PLANNER },
      ],
      [
        { from: ALICE, to: PLANNER, jti: 'forged' },
        { from: PLANNER, to: RESEARCHER, jti: jtis[1]! },
      ],
      [
        { from: ALICE, to: PLANNER },
        { from: PLANNER, to: RESEARCHER, scope: ['repo:read', 'repo:write'] },
      ],
      [],
    ]) {
      expectMismatch(
        attribute(record(w, { delegation }), credential, w.directory, SKEW),
        'delegation',
      );
    }
  });

  it('refuses a record timed outside [iat, exp] ± skew, and accepts the edges', async () => {
    const w = world();
    const { credential } = await chain(w);
    const at = (sec: number) => record(w, { time: new Date(sec * 1000).toISOString() });
    expectMismatch(attribute(at(credential.exp + 31), credential, w.directory, SKEW), 'time');
    expectMismatch(attribute(at(credential.iat - 31), credential, w.directory, SKEW), 'time');
    expect(attribute(at(credential.exp + 30), credential, w.directory, SKEW).ok).toBe(true);
    expect(attribute(at(credential.iat - 30), credential, w.directory, SKEW).ok).toBe(true);
    expect(
      attribute(
        record(w, { time: '2026-11-27T14:00:00.123456789+01:00' }),
        credential,
        w.directory,
        SKEW,
      ).ok,
    ).toBe(true);
  });

  it('refuses a record naming another credential', async () => {
    const w = world();
    const { credential } = await chain(w);
    const claimed = {
      jti: 'other',
      iss: credential.claims.iss,
      iat: credential.iat,
      exp: credential.exp,
    };
    expectMismatch(
      attribute(record(w, { credential: claimed }), credential, w.directory, SKEW),
      'credential',
    );
    const same = { ...claimed, jti: credential.jti };
    expect(attribute(record(w, { credential: same }), credential, w.directory, SKEW).ok).toBe(true);
  });

  it('without a credential, rates a record asserted or unattributed', () => {
    const w = world();
    expect(attribute(record(w), null, w.directory, SKEW)).toEqual({
      ok: true,
      level: 'asserted',
      reasons: ['no_credential'],
    });
    const noActor = record(w);
    delete noActor.actor;
    expect(attribute(noActor, null, w.directory, SKEW)).toEqual({
      ok: true,
      level: 'unattributed',
      reasons: ['no_credential', 'no_actor'],
    });
    const nobody = record(w);
    delete nobody.actor;
    delete nobody.initiator;
    expect(attribute(nobody, null, w.directory, SKEW)).toMatchObject({
      level: 'unattributed',
      reasons: ['no_credential', 'no_initiator', 'no_actor'],
    });
  });
});

describe('minimum levels', () => {
  it('orders levels verified > pooled > asserted > unattributed', () => {
    expect(levelAtLeast('verified', 'verified')).toBe(true);
    expect(levelAtLeast('verified', 'unattributed')).toBe(true);
    expect(levelAtLeast('pooled', 'asserted')).toBe(true);
    expect(levelAtLeast('asserted', 'pooled')).toBe(false);
    expect(levelAtLeast('unattributed', 'asserted')).toBe(false);
  });

  it('requires verified for privileged, irreversible or external actions by default, nothing otherwise', () => {
    const w = world();
    const cls = (c: { privileged: boolean; irreversible: boolean; external: boolean }) =>
      record(w, { action: { name: 'x', class: c } });
    expect(
      requiredLevelFor(
        cls({ privileged: true, irreversible: false, external: false }),
        DEFAULT_MINIMUM_LEVELS,
      ),
    ).toBe('verified');
    expect(
      requiredLevelFor(
        cls({ privileged: false, irreversible: true, external: false }),
        DEFAULT_MINIMUM_LEVELS,
      ),
    ).toBe('verified');
    expect(
      requiredLevelFor(
        cls({ privileged: false, irreversible: false, external: true }),
        DEFAULT_MINIMUM_LEVELS,
      ),
    ).toBe('verified');
    expect(
      requiredLevelFor(
        cls({ privileged: false, irreversible: false, external: false }),
        DEFAULT_MINIMUM_LEVELS,
      ),
    ).toBe('unattributed');
    expect(requiredLevelFor(record(w, { action: { name: 'x' } }), DEFAULT_MINIMUM_LEVELS)).toBe(
      'unattributed',
    );
    const custom = {
      privileged: 'pooled',
      irreversible: 'verified',
      external: 'asserted',
      default: 'asserted',
    } as const;
    expect(
      requiredLevelFor(cls({ privileged: true, irreversible: false, external: true }), custom),
    ).toBe('pooled');
    expect(
      requiredLevelFor(cls({ privileged: true, irreversible: true, external: true }), custom),
    ).toBe('verified');
    expect(
      requiredLevelFor(cls({ privileged: false, irreversible: false, external: false }), custom),
    ).toBe('asserted');
  });
});
