import { MemoryStorage } from '../src/index.js';
import {
  describeCoverageContract,
  describeIngestQueueContract,
  describeStorageContract,
} from '../src/testing/index.js';

describeStorageContract('memory', async () => new MemoryStorage());
describeCoverageContract('memory', async () => new MemoryStorage());
describeIngestQueueContract('memory', async () => new MemoryStorage());
