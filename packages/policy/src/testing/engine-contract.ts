/**
 * The contract every `PolicyEngine` passes (Cedar and the memory engine here), published as
 * `@provenant/policy/testing` so an engine outside the repo, an external PDP for one, can run
 * it too: give the harness sets in the engine's own language and call `describeEngineContract`
 * in a vitest file.
 */
import { describe, expect, it } from 'vitest';
import {
  DecisionPoint,
  EMPTY_POLICY_SET_DIGEST,
  PolicyError,
  policySetDigest,
  type DecisionRequest,
  type PolicyEngine,
  type PolicySetSource,
} from '../index.js';

export interface EngineHarness {
  readonly engine: PolicyEngine;
  /** One file whose one policy, id `permit-all`, permits every request. */
  readonly permitAll: PolicySetSource;
  /** Two files: `permit-all` in one, `forbid-all` (forbids every request) in the other. */
  readonly permitAndForbid: PolicySetSource;
  /** A set the engine refuses (a syntax error). */
  readonly invalid: PolicySetSource;
  /** A request the sets above are asked about. */
  readonly request: DecisionRequest;
}

export function describeEngineContract(name: string, h: EngineHarness): void {
  describe(`policy engine contract: ${name}`, () => {
    it('names itself and its version', () => {
      expect(h.engine.name).toMatch(/^[a-z0-9._-]+$/);
      expect(h.engine.version.length).toBeGreaterThan(0);
    });

    it('loads a set under its content digest, whatever order its files are listed in', async () => {
      const set = await h.engine.load(h.permitAndForbid);
      expect(set.digest).toBe(policySetDigest(h.permitAndForbid));
      expect([...set.policyIds].sort()).toEqual(['forbid-all', 'permit-all']);
      const reversed = { ...h.permitAndForbid, files: [...h.permitAndForbid.files].reverse() };
      expect((await h.engine.load(reversed)).digest).toBe(set.digest);
      expect(set.source.files.map((f) => f.name)).toEqual(
        [...h.permitAndForbid.files.map((f) => f.name)].sort(),
      );
    });

    it('refuses an invalid set with invalid_policy_set and every message', async () => {
      const error = await h.engine.load(h.invalid).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PolicyError);
      expect(error).toMatchObject({ code: 'invalid_policy_set' });
      expect((error as PolicyError).messages.length).toBeGreaterThan(0);
      const malformed = await h.engine.load({} as PolicySetSource).then(
        () => null,
        (e: unknown) => e,
      );
      expect(malformed).toMatchObject({ code: 'invalid_policy_set' });
    });

    it('allows what a permit covers, naming the permit', async () => {
      const set = await h.engine.load(h.permitAll);
      expect(await h.engine.evaluate(set, h.request)).toEqual({
        decision: 'allow',
        determining: ['permit-all'],
        errors: [],
      });
    });

    it('denies when a forbid applies, naming the forbid', async () => {
      const set = await h.engine.load(h.permitAndForbid);
      expect(await h.engine.evaluate(set, h.request)).toEqual({
        decision: 'deny',
        determining: ['forbid-all'],
        errors: [],
      });
    });

    it('denies with no determining policy when nothing permits', async () => {
      const set = await h.engine.load({ files: [] });
      expect(set.digest).toBe(EMPTY_POLICY_SET_DIGEST);
      expect(await h.engine.evaluate(set, h.request)).toEqual({
        decision: 'deny',
        determining: [],
        errors: [],
      });
    });

    it('answers calls in flight together each with its own set', async () => {
      const [allow, deny] = await Promise.all([
        h.engine.load(h.permitAll),
        h.engine.load(h.permitAndForbid),
      ]);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => h.engine.evaluate(i % 2 ? deny : allow, h.request)),
      );
      answers.forEach((a, i) => expect(a.decision).toBe(i % 2 ? 'deny' : 'allow'));
    });

    it('replays a recorded decision to the same answer through the decision point', async () => {
      const point = new DecisionPoint({ engine: h.engine });
      const set = await point.load(h.permitAll);
      const again = await point.replay({ request: h.request, policy_set: set.digest }, set);
      expect(again.decision).toBe('allow');
    });
  });
}
