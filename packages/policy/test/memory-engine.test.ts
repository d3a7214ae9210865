import { describe, expect, it } from 'vitest';
import type { PolicyError } from '../src/index.js';
import { MemoryEngine, policySetDigest, type DecisionRequest } from '../src/index.js';
import { describeEngineContract } from '../src/testing/index.js';

const request: DecisionRequest = {
  principal: { type: 'Provenant::AgentInstance', id: 'a' },
  action: { type: 'Provenant::Action', id: 'read' },
  resource: { type: 'Provenant::Resource', id: 'r' },
  context: { n: 1 },
  entities: [],
};

const engine = new MemoryEngine([
  { id: 'permit-read', effect: 'permit', when: (r) => r.action.id === 'read' },
  { id: 'permit-any', effect: 'permit', when: () => true },
  { id: 'forbid-n', effect: 'forbid', when: (r) => r.context['n'] === 2 },
  {
    id: 'throws',
    effect: 'forbid',
    when: () => {
      throw new Error('no such attribute');
    },
  },
]);

describe('MemoryEngine', () => {
  it('loads the policies its files name, with the content digest', async () => {
    const source = {
      files: [{ name: 'a.txt', text: '# comment\npermit-read  forbid-n # trailing\n' }],
    };
    const set = await engine.load(source);
    expect(set.policyIds).toEqual(['permit-read', 'forbid-n']);
    expect(set.digest).toBe(policySetDigest(source));
  });

  it('refuses unknown and repeated ids with a message for each', async () => {
    let error: PolicyError | undefined;
    try {
      await engine.load({ files: [{ name: 'a.txt', text: 'permit-read nope\npermit-read' }] });
    } catch (e) {
      error = e as PolicyError;
    }
    expect(error?.code).toBe('invalid_policy_set');
    expect(error?.messages).toEqual([
      'a.txt:1: no policy has the id "nope".',
      'a.txt:2: the policy id "permit-read" is listed twice.',
    ]);
  });

  it('decides like Cedar: forbid overrides permit, default deny, erroring policies skipped', async () => {
    const set = await engine.load({
      files: [{ name: 'a', text: 'permit-any permit-read forbid-n throws' }],
    });
    expect(await engine.evaluate(set, request)).toEqual({
      decision: 'allow',
      determining: ['permit-any', 'permit-read'],
      errors: ['throws: no such attribute'],
    });
    expect(await engine.evaluate(set, { ...request, context: { n: 2 } })).toMatchObject({
      decision: 'deny',
      determining: ['forbid-n'],
    });
    const none = await engine.load({ files: [{ name: 'a', text: 'forbid-n' }] });
    expect(await engine.evaluate(none, request)).toEqual({
      decision: 'deny',
      determining: [],
      errors: [],
    });
  });

  it('fails with engine_error when told to', async () => {
    const broken = new MemoryEngine([], {
      fail: (r) => (r.action.id === 'read' ? 'down' : undefined),
    });
    const set = await broken.load({ files: [] });
    await expect(broken.evaluate(set, request)).rejects.toThrow(
      expect.objectContaining({ code: 'engine_error', message: 'down' }),
    );
    expect(
      (await broken.evaluate(set, { ...request, action: { type: 'A', id: 'w' } })).decision,
    ).toBe('deny');
  });
});

describeEngineContract('memory', {
  engine: new MemoryEngine([
    { id: 'permit-all', effect: 'permit', when: () => true },
    { id: 'forbid-all', effect: 'forbid', when: () => true },
  ]),
  permitAll: { files: [{ name: 'a.txt', text: 'permit-all' }] },
  permitAndForbid: {
    files: [
      { name: 'b.txt', text: 'forbid-all' },
      { name: 'a.txt', text: 'permit-all' },
    ],
  },
  invalid: { files: [{ name: 'a.txt', text: 'no-such-policy' }] },
  request,
});
