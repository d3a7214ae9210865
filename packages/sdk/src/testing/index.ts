/**
 * `@provenant/sdk/testing`: what a test needs to run a recorder without a collector — records
 * kept in memory, credentials minted in memory, decisions by a rule.
 */
export { InMemoryRecordExporter } from '../export/memory.js';
export type { ExportedRecord } from '../export/memory.js';
export { memoryIssuer } from './issuer.js';
export type { InitiatorOptions, MemoryIssuer, MemoryIssuerOptions } from './issuer.js';
export { memoryDecisions } from './decisions.js';
export type { Asker, DecisionRule, MemoryDecisions } from './decisions.js';
