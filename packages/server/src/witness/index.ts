export { CosignClient, COSIGNED_CHECKPOINT_FILE } from './cosign-client.js';
export type { CosignClientOptions, WitnessEndpoint, WitnessStatus } from './cosign-client.js';
export { startWitness, parseWitnessLogs, witnessHandler } from './server.js';
export type { RunningWitness, WitnessServerConfig } from './server.js';
export { FileWitnessStore, WITNESS_STATE_FILE } from './store.js';
export { loadOrCreateWitnessKey, WITNESS_KEY_FILE, WITNESS_VERIFIER_KEY_FILE } from './keyfile.js';
