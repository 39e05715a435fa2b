import { describe, expect, it } from 'vitest';
import { ChurnTable } from '../../src/node/churn-table.ts';

describe('ChurnTable (entries that come and go with every request, by integer id)', () => {
  it('finds, replaces and removes entries by id, counting them', () => {
    const t = new ChurnTable<string>();
    t.set(0, 'zero');
    t.set(7, 'seven');
    t.set(2 ** 40, 'far');
    expect([t.get(0), t.get(7), t.get(2 ** 40), t.get(8)]).toEqual([
      'zero',
      'seven',
      'far',
      undefined,
    ]);
    expect(t.size).toBe(3);
    t.set(7, 'seven again');
    expect(t.size).toBe(3);
    expect(t.get(7)).toBe('seven again');
    t.delete(7);
    t.delete(7);
    t.delete(12345);
    expect(t.size).toBe(2);
    expect(t.get(7)).toBeUndefined();
  });

  it('keeps exactly the live entries under long insert/delete churn, as requests come and go', () => {
    const t = new ChurnTable<number>();
    const live = new Map<number, number>();
    for (let id = 0; id < 50_000; id++) {
      t.set(id, id * 2);
      live.set(id, id * 2);
      // Requests finish out of order; one in a thousand stays in flight.
      const done = id - (id % 7) * 3;
      if (done >= 0 && done % 1000 !== 999 && live.has(done)) {
        t.delete(done);
        live.delete(done);
      }
    }
    expect(t.size).toBe(live.size);
    for (const [id, v] of live) expect(t.get(id)).toBe(v);
    expect(t.drain().sort((a, b) => a - b)).toEqual([...live.values()].sort((a, b) => a - b));
    expect(t.size).toBe(0);
    expect(t.get(1998)).toBeUndefined();
    expect(t.drain()).toEqual([]);
  });
});
