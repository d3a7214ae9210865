import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf, uuidv7Time } from '@provenant/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyError } from '../src/index.js';
import {
  CedarEngine,
  DecisionPoint,
  EMPTY_POLICY_SET_DIGEST,
  MemoryEngine,
  describeDrift,
  readPolicyFolder,
  type ActionInput,
  type Decision,
  type MemoryPolicy,
} from '../src/index.js';
import {
  ALICE,
  DELETE_REPO,
  EXAMPLES,
  PLANNER,
  READ_FILE,
  T0,
  credential,
  directory,
  researcherFor,
} from './helpers.js';

const clock = (): number => T0;
const READ_ONLY = researcherFor(['repo:read']);

const memoryPolicies: MemoryPolicy[] = [
  { id: 'permit-reads', effect: 'permit', when: (r) => r.action.id === 'github.get_file' },
  {
    id: 'forbid-deep',
    effect: 'forbid',
    when: (r) => r.context['irreversible'] === true && Number(r.context['delegation_depth']) > 1,
  },
  { id: 'permit-all', effect: 'permit', when: () => true },
];
const memorySet = { files: [{ name: 'set.txt', text: 'permit-reads forbid-deep permit-all' }] };

describe('DecisionPoint', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function examplesCopy(): string {
    const dir = mkdtempSync(join(tmpdir(), 'provenant-policies-'));
    dirs.push(dir);
    cpSync(EXAMPLES, dir, { recursive: true });
    return dir;
  }

  it('allows, recording engine, policy set, determining policies and the context digest', async () => {
    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    const set = await point.load(readPolicyFolder(EXAMPLES));
    const d = await point.decide(READ_ONLY, READ_FILE, directory());
    expect(d).toMatchObject({
      engine: 'cedar',
      engine_version: new CedarEngine().version,
      policy_set: set.digest,
      decision: 'allow',
      determining: ['permit-human-delegated-reads', 'permit-researcher-github-reads'],
      errors: [],
      reason: 'policy',
      credential_jti: READ_ONLY.jti,
      time: T0,
    });
    expect(uuidv7Time(d.decision_id)).toBe(T0);
    expect(d.context_digest).toBe(digestOf(d.request.context));
    expect(d.request.principal).toEqual({
      type: 'Provenant::AgentInstance',
      id: READ_ONLY.actors[0],
    });
  });

  it('denies by a forbid policy, naming it', async () => {
    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    await point.load(readPolicyFolder(EXAMPLES));
    const d = await point.decide(
      researcherFor(['repo:read', 'repo:write']),
      DELETE_REPO,
      directory(),
    );
    expect(d.decision).toBe('deny');
    expect(d.determining).toEqual(['forbid-deep-irreversible']);
    expect(d.reason).toBe('policy');
  });

  it('denies by default when no policy matches, with nothing determining', async () => {
    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    await point.load(readPolicyFolder(EXAMPLES));
    const d = await point.decide(researcherFor([]), READ_FILE, directory());
    expect(d).toMatchObject({ decision: 'deny', determining: [], errors: [], reason: 'policy' });
  });

  it('refuses a policy set with a syntax error and keeps the previous set active', async () => {
    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    const good = await point.load(readPolicyFolder(EXAMPLES));
    const source = readPolicyFolder(EXAMPLES);
    const broken = {
      ...source,
      files: source.files.map((f) => ({ ...f, text: f.text.replace('unless {', 'unless') })),
    };
    await expect(point.load(broken)).rejects.toThrow(
      expect.objectContaining({
        code: 'invalid_policy_set',
        messages: [expect.stringMatching(/^policies\.cedar:\d+:\d+: /)],
      }),
    );
    expect(point.current()).toBe(good);
    expect((await point.decide(READ_ONLY, READ_FILE, directory())).decision).toBe('allow');
  });

  it('refuses a policy set that fails schema validation and keeps the previous set active', async () => {
    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    const good = await point.load(readPolicyFolder(EXAMPLES));
    const source = readPolicyFolder(EXAMPLES);
    const invalid = {
      ...source,
      files: source.files.map((f) => ({
        ...f,
        text: f.text.replace('principal.shared', 'principal.pooled'),
      })),
    };
    let error: PolicyError | undefined;
    try {
      await point.load(invalid);
    } catch (e) {
      error = e as PolicyError;
    }
    expect(error?.code).toBe('invalid_policy_set');
    expect(error?.messages).toEqual([
      expect.stringMatching(
        /^policies\.cedar:\d+:\d+: for policy `forbid-pooled-external`, attribute `pooled` on entity type `Provenant::ServiceAccount` not found/,
      ),
    ]);
    expect(point.current()?.digest).toBe(good.digest);
  });

  it('denies with reason engine_error when the engine fails, and says why', async () => {
    const engine = new MemoryEngine(memoryPolicies, { fail: () => 'the engine is on fire' });
    const point = new DecisionPoint({ engine, clock });
    const set = await point.load(memorySet);
    const d = await point.decide(READ_ONLY, READ_FILE, directory());
    expect(d).toMatchObject({
      decision: 'deny',
      reason: 'engine_error',
      determining: [],
      errors: ['the engine is on fire'],
      policy_set: set.digest,
      engine: 'memory',
    });
  });

  it('denies with reason engine_error when Cedar cannot evaluate the request', async () => {
    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    await point.load(readPolicyFolder(EXAMPLES));
    const undeclared: ActionInput = { ...READ_FILE, name: 'github.undeclared' };
    const d = await point.decide(READ_ONLY, undeclared, directory());
    expect(d.decision).toBe('deny');
    expect(d.reason).toBe('engine_error');
    expect(d.errors.join(' ')).toContain('github.undeclared');
  });

  it("records the policies that failed to evaluate without making the engine's answer an error", async () => {
    const engine = new MemoryEngine([
      ...memoryPolicies,
      {
        id: 'broken',
        effect: 'forbid',
        when: () => {
          throw new Error('no attribute shared');
        },
      },
    ]);
    const point = new DecisionPoint({ engine, clock });
    await point.load({ files: [{ name: 'set', text: 'permit-reads broken' }] });
    expect(await point.decide(READ_ONLY, READ_FILE, directory())).toMatchObject({
      decision: 'allow',
      reason: 'policy',
      determining: ['permit-reads'],
      errors: ['broken: no attribute shared'],
    });
  });

  it('denies anything engine code throws, not only its PolicyErrors', async () => {
    const engine = new MemoryEngine(memoryPolicies);
    engine.evaluate = () => {
      throw new RangeError('bug');
    };
    const point = new DecisionPoint({ engine, clock });
    await point.load(memorySet);
    expect(await point.decide(READ_ONLY, READ_FILE, directory())).toMatchObject({
      decision: 'deny',
      reason: 'engine_error',
      errors: ['bug'],
    });
  });

  it('fails closed for a privileged action when no policy set is loaded', async () => {
    const point = new DecisionPoint({
      engine: new CedarEngine(),
      clock,
      failPolicy: { failOpenLowRisk: true },
    });
    expect(point.current()).toBeNull();
    const d = await point.decide(researcherFor(['repo:admin']), DELETE_REPO, directory());
    expect(d).toMatchObject({
      decision: 'deny',
      reason: 'no_policy_set',
      determining: [],
      policy_set: EMPTY_POLICY_SET_DIGEST,
    });
  });

  it('fails open for low-risk actions only when configured, and only for those', async () => {
    const broken = new MemoryEngine(memoryPolicies, { fail: () => 'down' });
    const closed = new DecisionPoint({ engine: broken, clock });
    await closed.load(memorySet);
    expect(await closed.decide(READ_ONLY, READ_FILE, directory())).toMatchObject({
      decision: 'deny',
      reason: 'engine_error',
    });

    const open = new DecisionPoint({
      engine: broken,
      clock,
      failPolicy: { failOpenLowRisk: true },
    });
    await open.load(memorySet);
    expect(await open.decide(READ_ONLY, READ_FILE, directory())).toMatchObject({
      decision: 'allow',
      reason: 'fail_open',
      errors: ['engine_error: down'],
    });
    const risky: ActionInput[] = [
      { ...READ_FILE, risk: 'medium' },
      { ...READ_FILE, class: { privileged: true, irreversible: false, external: false } },
      { ...READ_FILE, class: { privileged: false, irreversible: true, external: false } },
      { ...READ_FILE, class: { privileged: false, irreversible: false, external: true } },
      { name: READ_FILE.name, resource: READ_FILE.resource, risk: 'low' }, // class unknown
    ];
    for (const action of risky) {
      expect(await open.decide(READ_ONLY, action, directory())).toMatchObject({
        decision: 'deny',
        reason: 'engine_error',
      });
    }
    const unloaded = new DecisionPoint({
      engine: broken,
      clock,
      failPolicy: { failOpenLowRisk: true },
    });
    expect(await unloaded.decide(READ_ONLY, READ_FILE, directory())).toMatchObject({
      decision: 'allow',
      reason: 'fail_open',
      policy_set: EMPTY_POLICY_SET_DIGEST,
    });
  });

  it('replays the recorded answer after the folder changed, and names the policy behind the drift', async () => {
    const folder = examplesCopy();
    const file = join(folder, 'policies.cedar');
    // Version 1: without the deep-delegation rule.
    const full = readFileSync(file, 'utf8');
    const start = full.indexOf('@id("forbid-deep-irreversible")');
    const end = full.indexOf('// A pooled');
    writeFileSync(file, full.slice(0, start) + full.slice(end));

    const point = new DecisionPoint({ engine: new CedarEngine(), clock });
    const v1 = await point.load(readPolicyFolder(folder));
    const history = new Map([[v1.digest, JSON.stringify(v1.source)]]); // what the server stores
    const recorded = await point.decide(
      researcherFor(['repo:read', 'repo:write']),
      DELETE_REPO,
      directory(),
    );
    expect(recorded).toMatchObject({
      decision: 'allow',
      determining: ['permit-human-delegated-writes'],
    });
    const stored = JSON.parse(JSON.stringify(recorded)) as Decision;

    // Version 2: the rule is back.
    writeFileSync(file, full);
    const v2 = await point.load(readPolicyFolder(folder));
    expect(v2.digest).not.toBe(v1.digest);

    const recordedSet = await new CedarEngine().load(JSON.parse(history.get(stored.policy_set)!));
    expect(recordedSet.digest).toBe(stored.policy_set);
    const again = await point.replay(stored, recordedSet);
    expect(again).toEqual({
      decision: 'allow',
      determining: ['permit-human-delegated-writes'],
      errors: [],
    });
    expect(describeDrift(stored, again)).toBeNull();

    const now = await point.replay(stored, point.current()!);
    expect(now).toEqual({
      decision: 'deny',
      determining: ['forbid-deep-irreversible'],
      errors: [],
    });
    expect(describeDrift(stored, now)).toBe(
      'would now be denied by policy forbid-deep-irreversible',
    );
  });

  it('replays through a MemoryEngine too', async () => {
    const point = new DecisionPoint({ engine: new MemoryEngine(memoryPolicies), clock });
    const set = await point.load(memorySet);
    const d = await point.decide(READ_ONLY, DELETE_REPO, directory());
    expect(d).toMatchObject({ decision: 'deny', determining: ['forbid-deep'] });
    expect(await point.replay(d, set)).toEqual({
      decision: 'deny',
      determining: ['forbid-deep'],
      errors: [],
    });
  });

  it('puts the credential chain in the request, whatever the action input says', async () => {
    const point = new DecisionPoint({ engine: new MemoryEngine(memoryPolicies), clock });
    await point.load(memorySet);
    const direct = credential([ALICE, PLANNER], ['repo:read']);
    const d = await point.decide(direct, READ_FILE, directory());
    expect(d.request.context['chain']).toEqual([ALICE, PLANNER]);
    expect(d.request.context['delegation_depth']).toBe(1);
  });
});

describe('describeDrift', () => {
  const recorded = (decision: 'allow' | 'deny', determining: string[]): Decision =>
    ({ decision, determining }) as Decision;

  it('is null when the decision and its determining policies are the same, in any order', async () => {
    expect(
      describeDrift(recorded('allow', ['a', 'b']), {
        decision: 'allow',
        determining: ['b', 'a'],
        errors: [],
      }),
    ).toBeNull();
    expect(
      describeDrift(recorded('deny', []), { decision: 'deny', determining: [], errors: ['x: e'] }),
    ).toBeNull();
  });

  it('names the policies that changed the answer', async () => {
    expect(
      describeDrift(recorded('allow', ['a']), {
        decision: 'deny',
        determining: ['f1', 'f2'],
        errors: [],
      }),
    ).toBe('would now be denied by policies f1, f2');
    expect(
      describeDrift(recorded('allow', ['a']), { decision: 'deny', determining: [], errors: [] }),
    ).toBe('would now be denied because no policy permits it');
    expect(
      describeDrift(recorded('deny', []), { decision: 'allow', determining: ['p'], errors: [] }),
    ).toBe('would now be allowed by policy p');
    expect(
      describeDrift(recorded('allow', ['a']), {
        decision: 'allow',
        determining: ['b'],
        errors: [],
      }),
    ).toBe('would still be allowed, but now by policy b instead of by policy a');
    expect(
      describeDrift(recorded('deny', ['f']), { decision: 'deny', determining: [], errors: [] }),
    ).toBe('would still be denied, but now because no policy permits it instead of by policy f');
  });
});
