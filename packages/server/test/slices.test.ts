import { describe, expect, it } from 'vitest';
import { BACKGROUND_TURNS, Slices, foreground } from '../src/lib/slices.js';

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

describe('background slices', () => {
  it('wait more turns while foreground work is under way, and no more once it ended', async () => {
    const turnsOf = async (slices: Slices) => {
      let turns = 0;
      let counting = true;
      const count = () => {
        if (!counting) return;
        turns++;
        setImmediate(count);
      };
      setImmediate(count);
      await slices.turn();
      counting = false;
      return turns;
    };
    const background = new Slices(0, true);
    expect(await turnsOf(background)).toBe(1);
    let release!: () => void;
    const job = foreground(() => new Promise<void>((resolve) => (release = resolve)));
    expect(await turnsOf(background)).toBe(1 + BACKGROUND_TURNS);
    // Foreground slices never wait for anything but their own turn.
    expect(await turnsOf(new Slices(0))).toBe(1);
    release();
    await job;
    expect(await turnsOf(background)).toBe(1);
  });
});
