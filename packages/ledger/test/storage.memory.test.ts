import { MemoryStorage } from '../src/index.js';
import { describeDriverContract } from '../src/testing/index.js';

describeDriverContract('memory', async () => new MemoryStorage());
