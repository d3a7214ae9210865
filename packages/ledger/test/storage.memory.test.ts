import { MemoryStorage } from '../src/index.js';
import { describeStorageContract } from './storage-contract.js';

describeStorageContract('memory', async () => new MemoryStorage());
