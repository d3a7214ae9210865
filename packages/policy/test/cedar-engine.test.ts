import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import {
  CedarEngine,
  PolicyError,
  buildDecisionRequest,
  policySetDigest,
  readPolicyFolder,
  type DecisionRequest,
  type LoadedPolicySet,
  type PolicySetSource,
} from '../src/index.js';
import { describeEngineContract } from '../src/testing/index.js';
import { EXAMPLES, READ_FILE, T0, directory, researcherFor } from './helpers.js';

const engine = new CedarEngine();

function request(over: Partial<DecisionRequest> = {}): DecisionRequest {
  return {
    principal: { type: 'Provenant::AgentInstance', id: 'a1' },
    action: { type: 'Provenant::Action', id: 'read' },
    resource: { type: 'Provenant::Resource', id: 'r1' },
    context: { depth: 1 },
    entities: [],
    ...over,
  };
}

async function loadError(source: PolicySetSource): Promise<PolicyError> {
  try {
    await engine.load(source);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('the policy set loaded');
}

describe('CedarEngine', () => {
  it('names itself cedar with the Cedar SDK version', async () => {
    expect(engine.name).toBe('cedar');
    expect(engine.version).toBe(cedar.getCedarVersion());
    expect(engine.version).toMatch(/^4\.\d+\.\d+/);
  });

  it('allows by a permit and names it as determining', async () => {
    const set = await engine.load({
      files: [{ name: 'a.cedar', text: '@id("read-all")\npermit (principal, action, resource);' }],
    });
    expect(await engine.evaluate(set, request())).toEqual({
      decision: 'allow',
      determining: ['read-all'],
      errors: [],
    });
  });

  it('denies by a forbid that overrides a permit', async () => {
    const set = await engine.load({
      files: [
        {
          name: 'a.cedar',
          text:
            '@id("read-all") permit (principal, action, resource);\n' +
            '@id("no-deep") forbid (principal, action, resource) when { context.depth > 0 };',
        },
      ],
    });
    expect(await engine.evaluate(set, request())).toEqual({
      decision: 'deny',
      determining: ['no-deep'],
      errors: [],
    });
    expect((await engine.evaluate(set, request({ context: { depth: 0 } }))).decision).toBe('allow');
  });

  it('denies by default when no policy matches, with nothing determining', async () => {
    const set = await engine.load({
      files: [
        {
          name: 'a.cedar',
          text: 'permit (principal, action == Provenant::Action::"write", resource);',
        },
      ],
    });
    expect(await engine.evaluate(set, request())).toEqual({
      decision: 'deny',
      determining: [],
      errors: [],
    });
  });

  it("gives unannotated policies Cedar's own ids, counted through the files in name order", async () => {
    // 12 policies in the second file: Cedar returns them sorted as strings (policy10 < policy2).
    const many = Array.from(
      { length: 12 },
      (_, i) => `permit (principal, action, resource) when { context.depth == ${i} };`,
    ).join('\n');
    const source: PolicySetSource = {
      files: [
        { name: 'b.cedar', text: many },
        {
          name: 'a.cedar',
          text: '@id("first") forbid (principal, action, resource) when { false };',
        },
      ],
    };
    const set = await engine.load(source);
    expect(set.policyIds).toEqual([
      'first',
      ...Array.from({ length: 12 }, (_, i) => `policy${i + 1}`),
    ]);
    // Each id names the policy written with it, as Cedar itself names the concatenated files.
    const text = [...source.files]
      .reverse()
      .map((f) => f.text)
      .join('\n');
    for (const depth of [0, 1, 9, 10, 11]) {
      const req = request({ context: { depth } });
      const native = cedar.isAuthorized({ ...req, policies: { staticPolicies: text } });
      if (native.type !== 'success') throw new Error('Cedar failed');
      expect(native.response.diagnostics.reason).toEqual([`policy${depth + 1}`]);
      expect((await engine.evaluate(set, req)).determining).toEqual([`policy${depth + 1}`]);
    }
  });

  it('lists every parse error with its file, line and column, and loads nothing', async () => {
    const e = await loadError({
      files: [
        {
          name: 'a.cedar',
          text: 'permit (principal, action, resource);\npermit (principal, action, resource) when { 1 + };',
        },
        { name: 'b.cedar', text: '\n\n  forbid (principal, actoin, resource);' },
      ],
    });
    expect(e.code).toBe('invalid_policy_set');
    expect(e.messages.length).toBeGreaterThanOrEqual(2);
    expect(e.messages.some((m) => m.startsWith('a.cedar:2:'))).toBe(true);
    expect(e.messages.some((m) => m.startsWith('b.cedar:3:'))).toBe(true);
    expect(e.details?.['messages']).toEqual(e.messages);
    expect(e.message).toMatch(/^The policy set is invalid: a\.cedar:2:/);
  });

  it("refuses a set that fails the schema's strict validation, with the validator's messages", async () => {
    const source = readPolicyFolder(EXAMPLES);
    const bad = {
      ...source,
      files: [
        ...source.files,
        {
          name: 'z.cedar',
          text:
            '// a typo the schema catches\n' +
            '@id("typo") forbid (principal, action, resource)\n  when { context.irreversibl };',
        },
      ],
    };
    const e = await loadError(bad);
    expect(e.code).toBe('invalid_policy_set');
    expect(e.messages.length).toBeGreaterThan(0);
    for (const m of e.messages) {
      expect(m).toMatch(/^z\.cedar:3:\d+: for policy `typo`, attribute `irreversibl` in context/);
      expect(m).toContain('did you mean `irreversible`?');
    }
  });

  it("refuses a schema that does not parse, locating the schema's own errors", async () => {
    const e = await loadError({
      files: [{ name: 'a.cedar', text: 'permit (principal, action, resource);' }],
      schema: 'namespace X {\n  entity A in [B];\n}',
    });
    expect(e.messages).toHaveLength(1);
    expect(e.messages[0]).toMatch(/^schema\.cedarschema:2:\d+: failed to resolve type: B/);
  });

  it('reports the schema errors too when the policies themselves do not parse', async () => {
    const e = await loadError({
      files: [{ name: 'a.cedar', text: 'permit (' }],
      schema: 'entity A in [B];',
    });
    expect(e.messages.some((m) => m.startsWith('a.cedar:1:'))).toBe(true);
    expect(e.messages.some((m) => m.startsWith('schema.cedarschema:1:'))).toBe(true);
  });

  it('refuses two policies with one id, naming both places', async () => {
    const e = await loadError({
      files: [
        { name: 'a.cedar', text: '@id("p") permit (principal, action, resource);' },
        { name: 'b.cedar', text: '\n@id("p") forbid (principal, action, resource);' },
      ],
    });
    expect(e.messages).toEqual(['b.cedar:2:1: the policy id "p" is already used at a.cedar:1:1.']);
  });

  it("refuses an @id that collides with another policy's default id", async () => {
    const e = await loadError({
      files: [
        {
          name: 'a.cedar',
          text: 'permit (principal, action, resource);\n@id("policy0") forbid (principal, action, resource);',
        },
      ],
    });
    expect(e.messages[0]).toContain('the policy id "policy0" is already used at a.cedar:1:1');
  });

  it('refuses templates and ids a record could not hold', async () => {
    expect(
      (
        await loadError({
          files: [{ name: 'a.cedar', text: 'permit (principal == ?principal, action, resource);' }],
        })
      ).messages[0],
    ).toMatch(/^a\.cedar:1:1: templates .* are not supported/);
    expect(
      (
        await loadError({
          files: [
            {
              name: 'a.cedar',
              text: `@id("${'x'.repeat(257)}") permit (principal, action, resource);`,
            },
          ],
        })
      ).messages[0],
    ).toMatch(/an @id must be 1 to 256 characters/);
  });

  it('refuses a malformed source (duplicate file names, a text that is not a string)', async () => {
    const e = await loadError({
      files: [
        { name: 'a.cedar', text: '' },
        { name: 'a.cedar', text: '' },
        { name: 'b.cedar', text: 3 as unknown as string },
      ],
    });
    expect(e.messages).toEqual([
      'a.cedar: two files have this name.',
      'b.cedar: the file\'s "text" must be a string.',
    ]);
  });

  it('fails with engine_error for a request the schema does not allow, naming the cause', async () => {
    const set = await engine.load(readPolicyFolder(EXAMPLES));
    const req = buildDecisionRequest(
      researcherFor(['repo:read']),
      { ...READ_FILE, name: 'github.launch_missiles' },
      directory(),
      T0,
    );
    let error: unknown;
    try {
      await engine.evaluate(set, req);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe('engine_error');
    expect((error as PolicyError).messages.join(' ')).toContain('github.launch_missiles');
  });

  it('fails with engine_error for entities Cedar cannot read', async () => {
    const set = await engine.load({
      files: [{ name: 'a.cedar', text: 'permit (principal, action, resource);' }],
    });
    const uid = { type: 'Provenant::User', id: 'u' };
    const twice = [
      { uid, attrs: { a: 1 }, parents: [] },
      { uid, attrs: { a: 2 }, parents: [] },
    ];
    await expect(engine.evaluate(set, request({ entities: twice }))).rejects.toThrow(
      expect.objectContaining({ code: 'engine_error' }),
    );
    await expect(engine.evaluate(set, request({ context: { bad: null } }))).rejects.toThrow(
      expect.objectContaining({ code: 'engine_error' }),
    );
  });

  it('reports a policy that errors at evaluation and leaves it out of the decision', async () => {
    const set = await engine.load({
      files: [
        {
          name: 'a.cedar',
          text:
            '@id("ok") permit (principal, action, resource);\n' +
            '@id("broken") forbid (principal, action, resource) when { context.missing };',
        },
      ],
    });
    const answer = await engine.evaluate(set, request());
    expect(answer.decision).toBe('allow');
    expect(answer.determining).toEqual(['ok']);
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors[0]).toMatch(/^broken: .*missing/);
  });

  it('names a set by the digest of its files (in any order) and schema', async () => {
    const a = { name: 'a.cedar', text: 'permit (principal, action, resource);' };
    const b = { name: 'b.cedar', text: 'forbid (principal, action, resource) when { false };' };
    const one = await engine.load({ files: [a, b] });
    const two = await engine.load({ files: [b, a] });
    expect(one.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(two.digest).toBe(one.digest);
    expect(policySetDigest({ files: [b, a] })).toBe(one.digest);
    const changed = await engine.load({
      files: [a, { ...b, text: b.text.replace('false', 'true ') }],
    });
    expect(changed.digest).not.toBe(one.digest);
    expect(policySetDigest({ files: [a, { ...b, name: 'c.cedar' }] })).not.toBe(one.digest);
    expect(policySetDigest({ files: [a, b], schema: '' })).not.toBe(one.digest);
  });

  it('evaluates a set that comes back from storage, and refuses one whose digest lies', async () => {
    const loaded = await engine.load({
      files: [{ name: 'a.cedar', text: '@id("all") permit (principal, action, resource);' }],
    });
    const stored = JSON.parse(JSON.stringify(loaded)) as LoadedPolicySet;
    expect((await new CedarEngine().evaluate(stored, request())).determining).toEqual(['all']);
    const forged: LoadedPolicySet = {
      ...stored,
      source: { files: [{ name: 'a.cedar', text: 'forbid (principal, action, resource);' }] },
    };
    await expect(engine.evaluate(forged, request())).rejects.toThrow(/does not match its source/);
  });

  it('keeps evaluating a set after many others pushed it out of the engine', async () => {
    const first = await engine.load({
      files: [{ name: 'a.cedar', text: '@id("first") permit (principal, action, resource);' }],
    });
    for (let i = 0; i < 40; i++) {
      const set = await engine.load({
        files: [{ name: 'a.cedar', text: `@id("p${i}") permit (principal, action, resource);` }],
      });
      expect((await engine.evaluate(set, request())).determining).toEqual([`p${i}`]);
    }
    expect((await engine.evaluate(first, request())).determining).toEqual(['first']);
  });
});

describeEngineContract('cedar', {
  engine: new CedarEngine(),
  permitAll: {
    files: [{ name: 'a.cedar', text: '@id("permit-all") permit (principal, action, resource);' }],
  },
  permitAndForbid: {
    files: [
      { name: 'b.cedar', text: '@id("forbid-all") forbid (principal, action, resource);' },
      { name: 'a.cedar', text: '@id("permit-all") permit (principal, action, resource);' },
    ],
  },
  invalid: { files: [{ name: 'a.cedar', text: 'permit (principal, action, resource' }] },
  request: request(),
});
