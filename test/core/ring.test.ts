import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvError } from '../../src/core/errors.ts';
import { hashHex, keyHash } from '../../src/core/hash.ts';
import {
  createRing,
  movedPartitions,
  parseRing,
  partitionOfKey,
  partitionRange,
  partitionsOwnedBy,
  preferenceList,
  rebalance,
  replicaLoad,
  ringMembers,
  ringToJSON,
  type Member,
  type RingState,
} from '../../src/core/ring.ts';
import type { NodeId } from '../../src/core/types.ts';

const N = 3;

// ---- helpers ----------------------------------------------------------------------------

function counts(ring: RingState): Map<NodeId, number> {
  const c = new Map<NodeId, number>();
  for (const o of ring.owners) c.set(o, (c.get(o) ?? 0) + 1);
  return c;
}

function expectBalanced(ring: RingState, members: readonly Member[]): void {
  const q = ring.partitionCount;
  const n = members.length;
  const c = counts(ring);
  expect([...c.keys()].sort()).toEqual(members.map((m) => m.id).sort());
  for (const m of members) {
    const owned = c.get(m.id) ?? 0;
    expect(owned === Math.floor(q / n) || owned === Math.ceil(q / n)).toBe(true);
  }
}

/** Pairs of partitions closer than `window` with the same owner. */
function spreadViolations(ring: RingState, window: number): number {
  const q = ring.partitionCount;
  let v = 0;
  for (let i = 0; i < q; i++)
    for (let d = 1; d < window; d++) if (ring.owners[i] === ring.owners[(i + d) % q]) v++;
  return v;
}

function expectBadRequest(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KvError);
    expect((e as KvError).code).toBe('KV_BAD_REQUEST');
    return;
  }
  throw new Error('expected KV_BAD_REQUEST, nothing was thrown');
}

/** Unique member ids. */
const idsArb = (min: number, max: number): fc.Arbitrary<string[]> =>
  fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: min, maxLength: max });

const qArb = fc.constantFrom(64, 256);

const members = (ids: readonly string[]): Member[] => ids.map((id) => ({ id }));

/**
 * A ring with some history: created with one member set, then rebalanced through a few
 * random joins and leaves, so properties are checked on rings claim did not lay out fresh.
 */
const ringArb = fc
  .record({
    q: qArb,
    ids: idsArb(1, 24),
    pool: idsArb(0, 12),
    ops: fc.array(fc.nat(), { maxLength: 4 }),
  })
  .map(({ q, ids, pool, ops }) => {
    const current = [...ids];
    const spare = pool.filter((p) => !current.includes(p));
    let ring = createRing(members(current), q);
    for (const op of ops) {
      if (op % 2 === 0 && spare.length > 0) current.push(spare.shift() as string);
      else if (current.length > 1) current.splice(op % current.length, 1);
      ring = rebalance(ring, members(current));
    }
    return { ring, ids: current };
  });

const freshId = (ids: readonly string[]): string => {
  let i = 0;
  while (ids.includes(`new${i}`)) i++;
  return `new${i}`;
};

// ---- claim -------------------------------------------------------------------------------

describe('ring claim', () => {
  it('[RING1] for 1..32 nodes every node owns ⌊Q/n⌋ or ⌈Q/n⌉ partitions (Q=64, Q=256)', () => {
    fc.assert(
      fc.property(qArb, idsArb(1, 32), (q, ids) => {
        expectBalanced(createRing(members(ids), q), members(ids));
      }),
      { numRuns: 150 },
    );
    for (const q of [64, 256]) {
      for (let n = 1; n <= 32; n++) {
        const ms = members(Array.from({ length: n }, (_, i) => `n${i + 1}`));
        expectBalanced(createRing(ms, q), ms);
      }
    }
  });

  it('[RING1] balance holds after any sequence of joins and leaves', () => {
    fc.assert(
      fc.property(ringArb, ({ ring, ids }) => {
        expectBalanced(ring, members(ids));
      }),
      { numRuns: 100 },
    );
  });

  it('[RING2] determinism: the same members in any order give the same ring', () => {
    fc.assert(
      fc.property(
        qArb,
        idsArb(1, 32).chain((ids) =>
          fc.tuple(fc.constant(ids), fc.shuffledSubarray(ids, { minLength: ids.length })),
        ),
        (q, [ids, shuffled]) => {
          expect(createRing(members(shuffled), q)).toEqual(createRing(members(ids), q));
        },
      ),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(
        ringArb.chain(({ ring, ids }) => {
          const next = [...ids, freshId(ids)];
          return fc.tuple(
            fc.constant(ring),
            fc.constant(next),
            fc.shuffledSubarray(next, { minLength: next.length }),
          );
        }),
        ([ring, next, shuffled]) => {
          fc.pre(next.length <= ring.partitionCount);
          expect(rebalance(ring, members(shuffled))).toEqual(rebalance(ring, members(next)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('[RING3] adding a node moves only partitions that go to it, exactly ⌊Q/(n+1)⌋ of them', () => {
    fc.assert(
      fc.property(ringArb, ({ ring, ids }) => {
        fc.pre(ids.length < ring.partitionCount);
        const added = freshId(ids);
        const next = rebalance(ring, members([...ids, added]));
        const moved = movedPartitions(ring, next);
        for (const p of moved) expect(next.owners[p]).toBe(added);
        expect(moved.length).toBe(Math.floor(ring.partitionCount / (ids.length + 1)));
        expectBalanced(next, members([...ids, added]));
      }),
      { numRuns: 150 },
    );
  });

  it('[RING4] removing a node moves only its partitions', () => {
    fc.assert(
      fc.property(ringArb, fc.nat(), ({ ring, ids }, pick) => {
        fc.pre(ids.length > 1);
        const removed = ids[pick % ids.length] as string;
        const rest = ids.filter((id) => id !== removed);
        const next = rebalance(ring, members(rest));
        expect(movedPartitions(ring, next)).toEqual(partitionsOwnedBy(ring, removed));
        expectBalanced(next, members(rest));
      }),
      { numRuns: 150 },
    );
  });

  it('[RING3][RING4] any membership change moves the fewest partitions balance allows', () => {
    // The lower bound, computed independently of claim: a kept member keeps at most
    // min(owned, ⌊Q/n⌋) partitions, plus one more for at most Q mod n members that own more.
    fc.assert(
      fc.property(ringArb, idsArb(1, 24), ({ ring, ids }, other) => {
        const next = [...new Set([...ids.slice(0, Math.ceil(ids.length / 2)), ...other])];
        fc.pre(next.length <= ring.partitionCount);
        const q = ring.partitionCount;
        const base = Math.floor(q / next.length);
        const c = counts(ring);
        let keptMax = 0;
        let above = 0;
        for (const id of next) {
          const owned = c.get(id) ?? 0;
          keptMax += Math.min(owned, base);
          if (owned > base) above++;
        }
        keptMax += Math.min(above, q % next.length);
        const after = rebalance(ring, members(next));
        expect(movedPartitions(ring, after).length).toBe(q - keptMax);
        expectBalanced(after, members(next));
      }),
      { numRuns: 150 },
    );
  });

  it('[RING7] a new ring of n > N nodes never repeats an owner within N consecutive partitions', () => {
    for (const q of [64, 256, 1024]) {
      for (let n = N + 1; n <= 32; n++) {
        const ring = createRing(members(Array.from({ length: n }, (_, i) => `n${i + 1}`)), q);
        expect(spreadViolations(ring, N)).toBe(0);
      }
    }
    fc.assert(
      fc.property(qArb, idsArb(N + 1, 32), (q, ids) => {
        expect(spreadViolations(createRing(members(ids), q), N)).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('[RING7] replica load is balanced: each node is in N·⌊Q/n⌋..N·⌈Q/n⌉ preference lists', () => {
    fc.assert(
      fc.property(qArb, idsArb(N + 1, 32), (q, ids) => {
        const ring = createRing(members(ids), q);
        const load = [...replicaLoad(ring, N).values()];
        expect(Math.min(...load)).toBeGreaterThanOrEqual(N * Math.floor(q / ids.length));
        expect(Math.max(...load)).toBeLessThanOrEqual(N * Math.ceil(q / ids.length));
      }),
      { numRuns: 100 },
    );
  });

  it('[RING7] joins keep the spread of a well-spread ring (n ≥ N+1)', () => {
    fc.assert(
      fc.property(qArb, idsArb(N + 1, 31), fc.integer({ min: 1, max: 3 }), (q, ids, joins) => {
        let current = [...ids];
        let ring = createRing(members(current), q);
        for (let j = 0; j < joins && current.length < 32; j++) {
          current = [...current, freshId(current)];
          ring = rebalance(ring, members(current));
        }
        expect(spreadViolations(ring, N)).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('[RING7] replica load stays within 1.45× (max/min) through 40 × 30 seeded joins and leaves (n ≥ 5)', () => {
    // A quality figure, not a law: minimal movement (RING3/RING4) forbids re-striping, so
    // spread decays a little over a history. Seeded (LCG) so the run is the same every time;
    // measured worst 1.375 at Q=64 and 1.263 at Q=256 (1.70 without claim's improve step).
    let seed = 7;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const q of [64, 256]) {
      for (let trial = 0; trial < 40; trial++) {
        let next = 1;
        const ms: Member[] = [];
        while (ms.length < 6) ms.push({ id: `n${next++}` });
        let ring = createRing(ms, q);
        for (let step = 0; step < 30; step++) {
          if ((rnd() < 0.5 && ms.length > 5) || ms.length >= 32)
            ms.splice(Math.floor(rnd() * ms.length), 1);
          else ms.push({ id: `n${next++}` });
          ring = rebalance(ring, ms);
          const load = [...replicaLoad(ring, N).values()];
          expect(Math.max(...load) / Math.min(...load)).toBeLessThanOrEqual(1.45);
        }
      }
    }
  });

  it('[RING10] the version grows by one exactly when owners change', () => {
    fc.assert(
      fc.property(ringArb, ({ ring, ids }) => {
        const same = rebalance(ring, members([...ids].reverse()));
        expect(same).toBe(ring);
        expect(movedPartitions(ring, same)).toEqual([]);
        if (ids.length < ring.partitionCount) {
          const grown = rebalance(ring, members([...ids, freshId(ids)]));
          expect(grown.version).toBe(ring.version + 1);
        }
      }),
      { numRuns: 50 },
    );
    expect(createRing(members(['a']), 64).version).toBe(1);
  });

  it('[RING11] bad claim input is KV_BAD_REQUEST', () => {
    expectBadRequest(() => createRing([], 64));
    expectBadRequest(() => createRing(members(['a', 'a']), 64));
    expectBadRequest(() => createRing(members(['bad id']), 64));
    expectBadRequest(() => createRing(members(['__proto__']), 64));
    expectBadRequest(() => createRing(members(['a']), 48));
    expectBadRequest(() => createRing(members(['a']), 4));
    expectBadRequest(() => createRing(members(['a']), 8192));
    expectBadRequest(() => createRing(members(Array.from({ length: 9 }, (_, i) => `n${i}`)), 8));
    expectBadRequest(() => createRing(members(['a', 'b']), 64, { targetN: 0 }));
  });

  it('[RING1] rings stay balanced and valid at the size limits', () => {
    const eight = members(Array.from({ length: 8 }, (_, i) => `n${i}`));
    expectBalanced(createRing(eight, 8), eight);
    const big = members(Array.from({ length: 33 }, (_, i) => `n${i}`));
    const ring = createRing(big, 4096);
    expectBalanced(ring, big);
    expect(spreadViolations(ring, N)).toBe(0);
  });
});

// ---- preference lists --------------------------------------------------------------------

describe('preference lists', () => {
  it('[RING5] have exactly min(N, members) distinct nodes, the owner first, then clockwise', () => {
    fc.assert(
      fc.property(ringArb, fc.nat(), fc.integer({ min: 1, max: 6 }), ({ ring, ids }, p0, n) => {
        const q = ring.partitionCount;
        const p = p0 % q;
        const list = preferenceList(ring, p, n);
        expect(list.length).toBe(Math.min(n, ids.length));
        expect(new Set(list).size).toBe(list.length);
        expect(list[0]).toBe(ring.owners[p]);
        // Clockwise: list[k] is the first owner after list[k-1]'s first position that is new.
        const firstSeen: number[] = list.map((id) => {
          for (let s = 0; s < q; s++) if (ring.owners[(p + s) % q] === id) return s;
          return -1;
        });
        for (let k = 1; k < firstSeen.length; k++)
          expect(firstSeen[k]).toBeGreaterThan(firstSeen[k - 1] as number);
        const last = firstSeen[firstSeen.length - 1] as number;
        for (let s = 0; s <= last; s++) expect(list).toContain(ring.owners[(p + s) % q]);
      }),
      { numRuns: 200 },
    );
  });

  it('[RING5] on a well-spread ring the preference list is just the next N owners', () => {
    const ring = createRing(members(['a', 'b', 'c', 'd', 'e']), 64);
    for (let p = 0; p < 64; p++) {
      expect(preferenceList(ring, p, N)).toEqual([0, 1, 2].map((d) => ring.owners[(p + d) % 64]));
    }
  });

  it('[RING6] with ≥ N zones, preference lists span N distinct zones', () => {
    const zonedArb = fc
      .record({
        q: qArb,
        ids: idsArb(N, 32),
        zoneCount: fc.integer({ min: N, max: 6 }),
        zoneSeed: fc.array(fc.nat(), { minLength: 32, maxLength: 32 }),
        withZonesInClaim: fc.boolean(),
      })
      .map(({ q, ids, zoneCount, zoneSeed, withZonesInClaim }) => {
        // The first zoneCount members get distinct zones (so ≥ N zones exist), the rest any.
        const zoneOf = new Map<NodeId, string>(
          ids.map((id, i) => [id, `z${i < zoneCount ? i : (zoneSeed[i] ?? 0) % zoneCount}`]),
        );
        const ms: Member[] = ids.map((id) =>
          withZonesInClaim ? { id, zone: zoneOf.get(id) } : { id },
        );
        return { ring: createRing(ms, q), zoneOf };
      });
    fc.assert(
      fc.property(zonedArb, fc.nat(), fc.integer({ min: 1, max: N }), ({ ring, zoneOf }, p0, n) => {
        const list = preferenceList(ring, p0 % ring.partitionCount, n, zoneOf);
        expect(list.length).toBe(n);
        expect(new Set(list).size).toBe(n);
        expect(new Set(list.map((id) => zoneOf.get(id))).size).toBe(n);
        expect(list[0]).toBe(ring.owners[p0 % ring.partitionCount]);
      }),
      { numRuns: 200 },
    );
  });

  it('[RING6] with fewer zones than N, every zone is used and the list is still N distinct nodes', () => {
    const ms: Member[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({ id, zone: `z${i % 2}` }));
    const zones = new Map(ms.map((m) => [m.id, m.zone as string]));
    const ring = createRing(ms, 64);
    for (let p = 0; p < 64; p++) {
      const list = preferenceList(ring, p, N, zones);
      expect(new Set(list).size).toBe(N);
      expect(new Set(list.map((id) => zones.get(id))).size).toBe(2);
    }
  });

  it('[RING6] zone-aware claim keeps consecutive partitions in different zones', () => {
    // 3 zones × 3 nodes: every preference list of N=3 spans 3 zones with no skipping.
    const ms: Member[] = Array.from({ length: 9 }, (_, i) => ({ id: `n${i}`, zone: `z${i % 3}` }));
    const zones = new Map(ms.map((m) => [m.id, m.zone as string]));
    const ring = createRing(ms, 64);
    let skips = 0;
    for (let p = 0; p < 64; p++) {
      const next3 = [0, 1, 2].map((d) => ring.owners[(p + d) % 64]);
      if (new Set(next3.map((id) => zones.get(id as string))).size < 3) skips++;
    }
    expect(skips).toBeLessThanOrEqual(2);
  });

  it('[RING5] rejects a partition outside the ring and a non-positive n', () => {
    const ring = createRing(members(['a', 'b']), 64);
    expectBadRequest(() => preferenceList(ring, 64, 3));
    expectBadRequest(() => preferenceList(ring, -1, 3));
    expectBadRequest(() => preferenceList(ring, 1.5, 3));
    expectBadRequest(() => preferenceList(ring, 0, 0));
  });
});

// ---- hash space --------------------------------------------------------------------------

describe('partition ranges', () => {
  it('[RING9] partitions tile the 64-bit hash space in order, without gaps', () => {
    for (const q of [8, 64, 256, 4096]) {
      expect(partitionRange(q, 0).start).toBe('0x0000000000000000');
      expect(partitionRange(q, q - 1).end).toBe('0xFFFFFFFFFFFFFFFF');
      for (let i = 1; i < q; i++) {
        const prevEnd = BigInt(partitionRange(q, i - 1).end);
        expect(BigInt(partitionRange(q, i).start)).toBe(prevEnd + 1n);
      }
    }
    expect(partitionRange(64, 1)).toEqual({
      start: '0x0400000000000000',
      end: '0x07FFFFFFFFFFFFFF',
    });
  });

  it('[RING9] a key lies in the range of the partition it maps to', () => {
    const ring = createRing(members(['a', 'b', 'c']), 256);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), (key) => {
        const { start, end } = partitionRange(256, partitionOfKey(ring, key));
        const h = hashHex(keyHash(key));
        // Fixed-width upper-case hex: string order is numeric order.
        expect(h >= start && h <= end).toBe(true);
      }),
    );
  });

  it('[RING9] bad range queries are KV_BAD_REQUEST', () => {
    expectBadRequest(() => partitionRange(64, 64));
    expectBadRequest(() => partitionRange(100, 0));
  });
});

// ---- codec -------------------------------------------------------------------------------

describe('ring codec', () => {
  it('[RING8] ringToJSON → JSON → parseRing round-trips', () => {
    fc.assert(
      fc.property(ringArb, ({ ring }) => {
        const back = parseRing(JSON.parse(JSON.stringify(ringToJSON(ring))));
        expect(back).toEqual(ring);
        expect(ringMembers(back)).toEqual(ringMembers(ring));
      }),
      { numRuns: 50 },
    );
  });

  it('[RING8] parseRing rejects anything else with KV_BAD_REQUEST and nothing else', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseRing(value);
        } catch (e) {
          expect(e).toBeInstanceOf(KvError);
          expect((e as KvError).code).toBe('KV_BAD_REQUEST');
        }
      }),
    );
    const good = ringToJSON(createRing(members(['a', 'b']), 8));
    expect(parseRing(good).owners).toEqual(good.owners);
    expectBadRequest(() => parseRing(null));
    expectBadRequest(() => parseRing([]));
    expectBadRequest(() => parseRing({ ...good, version: -1 }));
    expectBadRequest(() => parseRing({ ...good, version: 1.5 }));
    expectBadRequest(() => parseRing({ ...good, partitionCount: 12 }));
    expectBadRequest(() => parseRing({ ...good, owners: good.owners.slice(1) }));
    expectBadRequest(() => parseRing({ ...good, owners: [...good.owners.slice(1), '__proto__'] }));
    expectBadRequest(() => parseRing({ ...good, owners: [...good.owners.slice(1), 7] }));
  });

  it('[RING8] rings are immutable values', () => {
    const ring = createRing(members(['a', 'b']), 64);
    expect(Object.isFrozen(ring) && Object.isFrozen(ring.owners)).toBe(true);
    expect(() => movedPartitions(ring, createRing(members(['a']), 128))).toThrow(KvError);
  });
});
