/** The current time in Unix milliseconds. Injected everywhere time matters, so tests freeze it. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
