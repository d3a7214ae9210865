import { describe, expect, it } from 'vitest';
import { Slices } from '../src/lib/slices.js';

describe('Slices', () => {
  it('yields a turn of the event loop past its budget, and not within it', async () => {
    const turned = async (slices: Slices) => {
      let ran = false;
      setImmediate(() => (ran = true));
      await slices.turn();
      return ran;
    };
    // A budget of 0 is always spent: every turn lets queued callbacks run first.
    const always = new Slices(0);
    expect(await turned(always)).toBe(true);
    expect(await turned(always)).toBe(true);
    // A budget no loop spends: no turn is given up.
    const never = new Slices(Number.POSITIVE_INFINITY);
    expect(await turned(never)).toBe(false);
  });
});
