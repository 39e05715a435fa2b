import { simSeedBatch } from './seed-batch.ts';

// CI: 200 seeds with every fault kind, split over two files so vitest runs them in parallel.
simSeedBatch(1, 100);
