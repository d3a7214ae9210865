/**
 * `@provenant/server/testing`: the contract suites every registry store and policy store
 * passes (vitest), so a store outside this repository can be held to the same bar: call each
 * `describe…Contract` with a harness that opens fresh, empty instances.
 */
export { describeRegistryStoreContract, principal } from './registry-contract.js';
export type { RegistryStoreHarness } from './registry-contract.js';
export { describePolicyStoreContract, decision } from './policy-contract.js';
export type { PolicyStoreHarness } from './policy-contract.js';
