import { describe, expect, it } from 'vitest';
import type { LabEvent } from '../../src/lab/lab-types.ts';
import { aeProgress } from '../../web/src/demos/inventorysync/inventory-model.ts';

/** An `ae-progress` event as nodes emit them (the Lab's event list is newest first). */
function progress(node: string, atMs: number, done: number, total = 64): LabEvent {
  return { type: 'ae-progress', node, atMs, done, total, percent: Math.round((100 * done) / total), trigger: 'manual' };
}

describe("InventorySync's anti-entropy progress bar", () => {
  it('shows a node Synced once a round since the heal completed, though its next round has begun', () => {
    const newestFirst = [progress('n1', 5_000, 3), progress('n1', 4_000, 64), progress('n1', 3_000, 20), progress('n2', 4_500, 64)];
    const p = aeProgress(newestFirst, 2_000);
    expect(p.n1).toMatchObject({ percent: 100, done: 64, atMs: 4_000 });
    expect(p.n2).toMatchObject({ percent: 100, atMs: 4_500 });
  });

  it('shows the latest progress of a round still running, and nothing from before the heal', () => {
    const newestFirst = [progress('n1', 5_000, 40), progress('n1', 4_000, 10), progress('n3', 1_000, 64)];
    const p = aeProgress(newestFirst, 2_000);
    expect(p.n1).toMatchObject({ percent: 63, done: 40, atMs: 5_000 });
    expect(p.n3).toBeUndefined();
  });
});
