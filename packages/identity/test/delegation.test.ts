import { describe, expect, it } from 'vitest';
import {
  DelegationError,
  MemoryPrincipalDirectory,
  checkExchangePolicy,
  planExchange,
  type ExchangeInput,
  type Principal,
  type VerifiedCredential,
} from '../src/index.js';
import { ALICE, PLANNER, POLICY, RESEARCHER, T0, TOOL } from './helpers.js';

const NOW_SEC = T0 / 1000;

function subject(
  over: Partial<VerifiedCredential> = {},
  claims: Partial<VerifiedCredential['claims']> = {},
): VerifiedCredential {
  const actors = over.actors ?? [];
  const sub = over.subject ?? ALICE;
  return {
    tokenDigest: '0'.repeat(64),
    subject: sub,
    actors,
    chain: [sub, ...[...actors].reverse()],
    scope: ['repo:read', 'repo:write'],
    jti: 'jti-parent',
    iat: NOW_SEC - 10,
    exp: NOW_SEC + 1000,
    ancestors: ['jti-root'],
    roles: [],
    ...over,
    claims: {
      iss: 'i',
      sub,
      aud: 'a',
      iat: NOW_SEC - 10,
      exp: NOW_SEC + 1000,
      jti: 'jti-parent',
      scope: 'repo:read repo:write',
      ...claims,
    },
  };
}

const principal = (id: string, over: Partial<Principal> = {}): Principal => ({
  id,
  kind: id.startsWith('user:') ? 'human' : 'agent_instance',
  shared: false,
  disabled: false,
  ...over,
});

function input(over: Partial<ExchangeInput> = {}): ExchangeInput {
  const directory = new MemoryPrincipalDirectory([
    principal(ALICE),
    principal(PLANNER),
    principal(RESEARCHER),
    principal(TOOL),
  ]);
  return {
    subject: subject(),
    actor: principal(RESEARCHER),
    directory,
    now: T0,
    policy: POLICY,
    ...over,
  };
}

function refusal(i: ExchangeInput): string | undefined {
  try {
    planExchange(i);
  } catch (e) {
    expect(e).toBeInstanceOf(DelegationError);
    return (e as DelegationError).code;
  }
  return undefined;
}

describe('planExchange', () => {
  it('keeps the root, puts the new actor first and records the ancestry', () => {
    const plan = planExchange(input({ subject: subject({ actors: [PLANNER] }) }));
    expect(plan).toEqual({
      sub: ALICE,
      actors: [RESEARCHER, PLANNER],
      scope: ['repo:read', 'repo:write'],
      iat: NOW_SEC,
      exp: NOW_SEC + 300,
      ancestors: ['jti-root', 'jti-parent'],
      parentJti: 'jti-parent',
    });
  });

  it("inherits the subject's scopes when none are requested, and narrows to a requested subset", () => {
    expect(planExchange(input()).scope).toEqual(['repo:read', 'repo:write']);
    expect(planExchange(input({ requestedScope: ['repo:read'] })).scope).toEqual(['repo:read']);
    expect(planExchange(input({ requestedScope: [] })).scope).toEqual([]);
  });

  it('refuses a scope the subject does not hold (no widening)', () => {
    expect(refusal(input({ requestedScope: ['repo:read', 'repo:admin'] }))).toBe('invalid_scope');
    expect(refusal(input({ requestedScope: ['bad scope'] }))).toBe('invalid_scope');
  });

  it('never outlives the subject, and defaults to 300 s', () => {
    expect(planExchange(input()).exp).toBe(NOW_SEC + 300);
    expect(planExchange(input({ subject: subject({ exp: NOW_SEC + 100 }) })).exp).toBe(
      NOW_SEC + 100,
    );
    expect(planExchange(input({ requestedLifetimeSec: 3600 })).exp).toBe(NOW_SEC + 1000);
    expect(planExchange(input({ requestedLifetimeSec: 60 })).exp).toBe(NOW_SEC + 60);
  });

  it('refuses a lifetime beyond the policy maximum or not a whole positive number', () => {
    for (const requestedLifetimeSec of [3601, 0, -5, 1.5, Number.NaN]) {
      expect(refusal(input({ requestedLifetimeSec }))).toBe('invalid_lifetime');
    }
    expect(
      refusal(input({ requestedLifetimeSec: 600, policy: { ...POLICY, maxLifetimeSec: 500 } })),
    ).toBe('invalid_lifetime');
  });

  it('refuses an expired subject', () => {
    expect(refusal(input({ subject: subject({ exp: NOW_SEC }) }))).toBe('subject_expired');
    expect(refusal(input({ subject: subject({ exp: NOW_SEC + 1 }) }))).toBeUndefined();
  });

  it('bounds the number of actors', () => {
    const three = [
      'spiffe://t/agent/a/instance/1',
      'spiffe://t/agent/b/instance/1',
      'spiffe://t/agent/c/instance/1',
    ];
    const i = input({ subject: subject({ actors: three }) });
    for (const id of three) (i.directory as MemoryPrincipalDirectory).put(principal(id));
    expect(planExchange(i).actors).toHaveLength(4);
    const four = [...three, PLANNER];
    expect(refusal({ ...i, subject: subject({ actors: four }) })).toBe('chain_too_deep');
    expect(refusal({ ...i, policy: { ...POLICY, maxChainDepth: 3 } })).toBe('chain_too_deep');
  });

  it('refuses a principal appearing twice in the chain', () => {
    expect(
      refusal(
        input({ subject: subject({ actors: [RESEARCHER, PLANNER] }), actor: principal(PLANNER) }),
      ),
    ).toBe('delegation_cycle');
    expect(
      refusal(input({ subject: subject({ subject: PLANNER }), actor: principal(PLANNER) })),
    ).toBe('delegation_cycle');
    expect(
      refusal(input({ subject: subject({ actors: [PLANNER] }), actor: principal(ALICE) })),
    ).toBe('delegation_cycle');
  });

  it('honours may_act of the subject token', () => {
    expect(refusal(input({ subject: subject({}, { may_act: { sub: PLANNER } }) }))).toBe(
      'may_act_refused',
    );
    expect(
      refusal(input({ subject: subject({}, { may_act: { sub: RESEARCHER } }) })),
    ).toBeUndefined();
  });

  it("honours the root principal's mayAct list", () => {
    const i = input();
    (i.directory as MemoryPrincipalDirectory).put(principal(ALICE, { mayAct: [PLANNER] }));
    expect(refusal(i)).toBe('may_act_refused');
    expect(refusal({ ...i, actor: principal(PLANNER) })).toBeUndefined();
  });

  it('refuses a disabled root, a disabled or unregistered intermediate actor, and a disabled new actor', () => {
    const disabled = (id: string) => {
      const i = input({ subject: subject({ actors: [PLANNER] }) });
      (i.directory as MemoryPrincipalDirectory).disable(id);
      return refusal(i);
    };
    expect(disabled(ALICE)).toBe('principal_disabled');
    expect(disabled(PLANNER)).toBe('principal_disabled');
    expect(refusal(input({ actor: principal(RESEARCHER, { disabled: true }) }))).toBe(
      'principal_disabled',
    );
    const i = input({ subject: subject({ actors: [PLANNER] }) });
    (i.directory as MemoryPrincipalDirectory).delete(PLANNER);
    expect(refusal(i)).toBe('principal_unknown');
  });
});

describe('checkExchangePolicy', () => {
  it('refuses a configured lifetime above the hard maximum of 3600 s', () => {
    expect(() => checkExchangePolicy({ ...POLICY, maxLifetimeSec: 3601 })).toThrow(TypeError);
    expect(() => checkExchangePolicy({ ...POLICY, defaultLifetimeSec: 4000 })).toThrow(TypeError);
    expect(() => checkExchangePolicy({ ...POLICY, maxChainDepth: 0 })).toThrow(TypeError);
    expect(checkExchangePolicy(POLICY)).toBe(POLICY);
  });
});
