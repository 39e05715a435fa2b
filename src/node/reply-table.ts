/**
 * The reply handlers of a node's requests in flight, by request id (kv-node.ts `#pending`).
 *
 * Not a `Map`, on purpose. Every request adds an entry and removes it soon after, so a Map's hash
 * table keeps filling with deleted entries and is rebuilt every few dozen requests. V8 keeps each
 * discarded table pointing at its replacement, with its old entries still in it, and once the
 * table has lived long enough to be in the old generation it allocates the replacements there too.
 * Those dead old tables then hold the handlers of later requests (and the read or write state
 * their closures keep) alive through every young-generation collection, so all of it was promoted
 * and left for full collections to find: 14–20% of everything a node allocated on quorum reads,
 * and on each node a 4 ms pause every ~43 ms. An object in dictionary mode keyed by integer has no
 * such chain: 4% promoted, and 23% less CPU per quorum read in one process (docs/BENCHMARKS.md,
 * 2026-12-06).
 */
export class ReplyTable<V> {
  #byId: Record<number, V> = Object.create(null) as Record<number, V>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): V | undefined {
    return this.#byId[id];
  }

  set(id: number, value: V): void {
    if (this.#byId[id] === undefined) this.#size++;
    this.#byId[id] = value;
  }

  delete(id: number): void {
    if (this.#byId[id] === undefined) return;
    delete this.#byId[id];
    this.#size--;
  }

  /** Removes every entry and returns them (a node shutting down fails them all). */
  drain(): V[] {
    const all = Object.values(this.#byId);
    this.#byId = Object.create(null) as Record<number, V>;
    this.#size = 0;
    return all;
  }
}
