/**
 * `@provenant/policy/testing`: the contract suite every policy engine passes (vitest), so an
 * engine outside this repository can be held to the same bar.
 */
export { describeEngineContract } from './engine-contract.js';
export type { EngineHarness } from './engine-contract.js';
