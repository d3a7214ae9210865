import { MemoryStorage } from '../src/index.js';
import { describeStorageContract } from './storage-contract.js';
import { describeCoverageContract } from './coverage-contract.js';
import { describeIngestQueueContract } from './queue-contract.js';

describeStorageContract('memory', async () => new MemoryStorage());
describeCoverageContract('memory', async () => new MemoryStorage());
describeIngestQueueContract('memory', async () => new MemoryStorage());
