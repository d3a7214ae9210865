import { MemoryRegistryStore } from '../src/identity/registry.js';
import { MemoryPolicyStore } from '../src/policy/store.js';
import {
  describePolicyStoreContract,
  describeRegistryStoreContract,
} from '../src/testing/index.js';

describeRegistryStoreContract('memory', {
  open: async () => new MemoryRegistryStore(),
  openPair: async () => {
    const shared = new MemoryRegistryStore();
    return [shared, shared];
  },
});

describePolicyStoreContract('memory', {
  open: async () => new MemoryPolicyStore(),
  openPair: async () => {
    const shared = new MemoryPolicyStore();
    return [shared, shared];
  },
});
