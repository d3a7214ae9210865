import { describe, expect, it } from 'vitest';
import { CredentialError, nestAct, type ActClaim } from '../src/index.js';
import { actChain } from '../src/claims.js';

function deepAct(depth: number): ActClaim {
  let act: ActClaim = { sub: `a${depth - 1}` };
  for (let i = depth - 2; i >= 0; i--) act = { sub: `a${i}`, act };
  return act;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(CredentialError);
    return (e as CredentialError).code;
  }
  return undefined;
}

describe('actChain', () => {
  it('lists actors outermost first', () => {
    expect(actChain({ sub: 'c', act: { sub: 'b', act: { sub: 'a' } } }, 4)).toEqual([
      'c',
      'b',
      'a',
    ]);
    expect(actChain(undefined, 4)).toEqual([]);
  });

  it('accepts exactly maxDepth actors and refuses one more', () => {
    expect(actChain(deepAct(4), 4)).toHaveLength(4);
    expect(codeOf(() => actChain(deepAct(5), 4))).toBe('act_too_deep');
  });

  it('survives an act nested 1,000 and 100,000 deep without recursion', () => {
    expect(codeOf(() => actChain(deepAct(1000), 4))).toBe('act_too_deep');
    expect(codeOf(() => actChain(deepAct(100_000), 4))).toBe('act_too_deep');
    // Even with no effective bound, the walk is a loop: no stack overflow.
    expect(actChain(deepAct(100_000), Number.MAX_SAFE_INTEGER)).toHaveLength(100_000);
  });

  it('refuses levels that are not objects with a sub', () => {
    for (const act of [
      null,
      'x',
      42,
      [],
      { sub: '' },
      { sub: 3 },
      { act: { sub: 'a' } },
      { sub: 'a', act: null },
      { sub: 'a', act: ['b'] },
    ]) {
      expect(codeOf(() => actChain(act, 4))).toBe('malformed_token');
    }
  });
});

describe('nestAct', () => {
  it('nests actors with the first outermost, and round-trips with actChain', () => {
    expect(nestAct(['c', 'b', 'a'])).toEqual({ sub: 'c', act: { sub: 'b', act: { sub: 'a' } } });
    expect(nestAct([])).toBeUndefined();
    const actors = Array.from({ length: 50_000 }, (_, i) => `a${i}`);
    expect(actChain(nestAct(actors), 50_000)).toEqual(actors);
  });
});
