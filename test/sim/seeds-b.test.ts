import { simSeedBatch } from './seed-batch.ts';

simSeedBatch(101, 100);
